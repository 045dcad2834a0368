from datetime import timedelta

import feedparser
import pytest
from django.utils import timezone

from catalog.caching import data_version_refresh
from catalog.feeds import FEED_DEFAULT_ENTRIES, FEED_MAX_ENTRIES
from tests.factories import ArtistFactory, ReleaseFactory, SnapshotFactory, credit

pytestmark = pytest.mark.django_db

FEED = "/feeds/releases.atom"
VARIOUS_ARTISTS_ID = "0LyfQWJT6nXafLPZqxe9Of"


def _release(*, days_ago: float = 1, artists=None, **kwargs):
    release = ReleaseFactory.create(
        first_seen_at=timezone.now() - timedelta(days=days_ago), **kwargs
    )
    credit(release, *(artists or [ArtistFactory.create()]))
    return release


def _feed(client, query: str = ""):
    response = client.get(f"{FEED}{query}")
    assert response.status_code == 200, response.content
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


def _ids(parsed) -> list[str]:
    return [entry.id for entry in parsed.entries]


def test_the_feed_is_valid_atom_with_everything_a_reader_needs(client):
    bjork = ArtistFactory.create(name="Björk", genres=["art pop"])
    rosalia = ArtistFactory.create(name='Rosalía, "La Motomami" & <Friends>', genres=["pop"])
    release = _release(
        artists=[bjork, rosalia],
        spotify_id="5SGtrmYbIo0Dsg4kJ4qjM6",
        name="Fossora & <Remixes>",
        album_type="single",
        release_date="2026-11-20",
        total_tracks=3,
        images=[{"url": "https://i.scdn.co/image/cover", "width": 300, "height": 300}],
    )
    SnapshotFactory.create()

    response = client.get(FEED)

    assert response["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0
    assert parsed.version == "atom10"
    [entry] = parsed.entries
    assert entry.id == "spotify:album:5SGtrmYbIo0Dsg4kJ4qjM6"
    assert (
        entry.title == 'Björk, Rosalía, "La Motomami" & <Friends> \N{EN DASH} Fossora & <Remixes>'
    )
    assert entry.link == release.spotify_url
    assert entry.author == 'Björk, Rosalía, "La Motomami" & <Friends>'
    assert "Single by Björk" in entry.summary
    assert "released 2026-11-20, 3 tracks" in entry.summary
    assert 'src="https://i.scdn.co/image/cover"' in entry.summary
    assert "Cover of Fossora &amp; &lt;Remixes&gt;" in entry.summary
    assert [tag.term for tag in entry.tags] == ["single", "art pop", "pop"]
    [enclosure] = entry.enclosures
    assert enclosure.href == "https://i.scdn.co/image/cover"
    assert enclosure.type == "image/jpeg"
    assert entry.published_parsed[:6] == release.first_seen_at.utctimetuple()[:6]
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links == {"alternate": "http://testserver/", "self": f"http://testserver{FEED}"}


def test_entries_are_newest_first_within_the_window(client):
    old = _release(days_ago=20)
    older = _release(days_ago=10)
    newest = _release(days_ago=0.5)
    middle = _release(days_ago=3)

    default = _feed(client)
    wider = _feed(client, "?days=30")

    spotify = "spotify:album:"
    assert _ids(default) == [f"{spotify}{r.spotify_id}" for r in (newest, middle, older)]
    assert _ids(wider) == [f"{spotify}{r.spotify_id}" for r in (newest, middle, older, old)]


def test_ids_are_stable_across_requests(client):
    for days_ago in (1, 2, 3):
        _release(days_ago=days_ago)
    first = _feed(client)
    second = _feed(client)
    assert _ids(first) == _ids(second)
    assert len(set(_ids(first))) == 3


@pytest.mark.parametrize(
    "query", ["?days=0", "?days=91", "?days=abc", "?exclude_various_artists=maybe", "?artist=a;b"]
)
def test_bad_parameters_are_a_400_that_says_why(client, query):
    response = client.get(f"{FEED}{query}")
    assert response.status_code == 400
    assert "Invalid feed parameters" in response.content.decode()


def test_empty_parameters_mean_no_filter(client):
    _release()
    assert len(_feed(client, "?album_type=&genre=&days=").entries) == 1


def test_filters_album_type_genre_and_artists(client):
    indie = ArtistFactory.create(genres=["indie"])
    metal = ArtistFactory.create(genres=["metal"])
    other = ArtistFactory.create(genres=[])
    indie_album = _release(artists=[indie], album_type="album")
    metal_single = _release(artists=[metal], album_type="single")
    shared = _release(artists=[other, metal], album_type="album")

    def ids(query):
        return {entry.id.removeprefix("spotify:album:") for entry in _feed(client, query).entries}

    assert ids("?album_type=album") == {indie_album.spotify_id, shared.spotify_id}
    assert ids("?genre=metal") == {metal_single.spotify_id, shared.spotify_id}
    assert ids(f"?artist={indie.spotify_id}") == {indie_album.spotify_id}
    assert ids(f"?artist={indie.spotify_id}&artist={other.spotify_id}") == {
        indie_album.spotify_id,
        shared.spotify_id,
    }
    assert ids(f"?artist={metal.spotify_id}&album_type=single") == {metal_single.spotify_id}


def test_exclude_various_artists(client):
    various = ArtistFactory.create(spotify_id=VARIOUS_ARTISTS_ID, name="Various Artists")
    look_alike = ArtistFactory.create(name="various artists")
    band = ArtistFactory.create()
    compilation = _release(artists=[various], album_type="compilation")
    other_compilation = _release(artists=[look_alike], album_type="compilation")
    album = _release(artists=[band])

    everything = {e.id for e in _feed(client).entries}
    kept = {e.id for e in _feed(client, "?exclude_various_artists=true").entries}

    assert everything == {
        f"spotify:album:{r.spotify_id}" for r in (compilation, other_compilation, album)
    }
    assert kept == {f"spotify:album:{album.spotify_id}"}


def test_etag_and_last_modified_answer_304_until_a_sync_changes_the_data(client):
    _release()
    snapshot = SnapshotFactory.create()

    first = client.get(FEED)
    etag, last_modified = first["ETag"], first["Last-Modified"]

    assert client.get(FEED, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(FEED, HTTP_IF_MODIFIED_SINCE=last_modified).status_code == 304
    assert client.get(f"{FEED}?days=30", HTTP_IF_NONE_MATCH=etag).status_code == 200

    snapshot.fetched_at = timezone.now() + timedelta(seconds=5)
    snapshot.save()
    data_version_refresh()
    after_sync = client.get(FEED, HTTP_IF_NONE_MATCH=etag)
    assert after_sync.status_code == 200
    assert after_sync["ETag"] != etag


def test_an_empty_catalog_is_a_valid_empty_feed(client):
    parsed = _feed(client)
    assert parsed.entries == []


def test_every_page_advertises_the_feed(client):
    page = client.get("/").content.decode()
    assert (
        '<link rel="alternate" type="application/atom+xml" title="New releases (Atom)" '
        f'href="{FEED}">'
    ) in page


def test_the_feed_carries_the_newest_hundred_entries_unless_a_limit_asks_for_more(client):
    releases = [_release(days_ago=index / 1000) for index in range(FEED_DEFAULT_ENTRIES + 1)]
    newest = [f"spotify:album:{release.spotify_id}" for release in releases]

    assert _ids(_feed(client)) == newest[:FEED_DEFAULT_ENTRIES]
    assert _ids(_feed(client, f"?limit={FEED_DEFAULT_ENTRIES + 1}")) == newest
    assert _ids(_feed(client, "?limit=2")) == newest[:2]


@pytest.mark.parametrize("limit", ["0", str(FEED_MAX_ENTRIES + 1), "many"])
def test_a_limit_out_of_range_is_a_400(client, limit):
    response = client.get(f"{FEED}?limit={limit}")
    assert response.status_code == 400
    assert "limit" in response.content.decode()


def test_the_feed_reads_its_entries_in_one_query_whatever_their_number(
    client, django_assert_num_queries
):
    for _ in range(3):
        _release(artists=[ArtistFactory.create(), ArtistFactory.create()])
    client.get(FEED)  # the data version, read once and cached
    with django_assert_num_queries(1):
        parsed = _feed(client, "?days=30")
    assert len(parsed.entries) == 3

"""The dashboard pages: what each visitor sees, htmx fragments versus full pages, and the
"Refresh now" action's permissions, CSRF and single-flight."""

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_q.tasks import async_task

from catalog.models import SyncRun
from catalog.scheduling import sync_schedule_ensure
from catalog.selectors import VARIOUS_ARTISTS_ID
from catalog.services import INTERRUPTED_ERROR
from spotify.models import SpotifyConnection
from tests.catalog.sync_support import sync_lock_held_elsewhere
from tests.factories import (
    ArtistFactory,
    ReleaseFactory,
    SyncRunFactory,
    artist_credited_on,
    credit,
    snapshot_with,
)

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def manager_client(client):
    """Staff who may connect and disconnect the site's Spotify account."""
    user = get_user_model().objects.create_user("manager", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="manage_site_connection"))
    client.force_login(user)
    return client


@pytest.fixture
def member_client(client):
    user = get_user_model().objects.create_user("member", password="pw")
    client.force_login(user)
    return client


@pytest.fixture
def catalog():
    """Three artists in today's snapshot: an album, a single, and an artist with both."""
    nova = ArtistFactory.create(name="Nova Static", genres=["synthpop", "indie"])
    beyonce = ArtistFactory.create(name="Beyoncé", genres=[])
    orchard = ArtistFactory.create(name="Orchard Lane", genres=["folk"])
    album = ReleaseFactory.create(
        name="Glass Harbour", album_type="album", release_date_sort=date(2026, 11, 20)
    )
    single = ReleaseFactory.create(
        name="Run Silent",
        album_type="single",
        release_date="2026-11",
        release_date_precision="month",
        release_date_sort=date(2026, 11, 1),
    )
    older = ReleaseFactory.create(
        name="Paper Kites", album_type="single", release_date_sort=date(2026, 10, 2)
    )
    credit(album, nova)
    credit(single, beyonce)
    credit(older, orchard)
    compilation = ReleaseFactory.create(
        name="Lane Years", album_type="compilation", release_date_sort=date(2026, 9, 1)
    )
    credit(compilation, orchard)
    snapshot_with([album, single, older, compilation])
    return {"nova": nova, "beyonce": beyonce, "orchard": orchard, "album": album}


def _names(response) -> list[str]:
    return [card.name for card in response.context["grid"].cards]


# --- reading --------------------------------------------------------------------------------


def test_before_any_sync_the_dashboard_says_so(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "No releases yet" in html
    assert "Not synced yet" in html


def test_anonymous_visitor_sees_artists_and_no_action_buttons(client, catalog):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert _names(response) == ["Nova Static", "Beyoncé", "Orchard Lane"]
    assert "Glass Harbour" in html
    assert "20 Nov 2026" in html
    assert "Nov 2026" in html  # month precision shown as such
    assert "synthpop" in html
    assert catalog["nova"].spotify_url in html
    assert "Refresh now" not in html
    assert "Connect Spotify" not in html
    assert "Disconnect" not in html
    assert "Sign in" in html


def test_a_card_escapes_what_spotify_sends_and_shows_three_genres(client):
    artist = ArtistFactory.create(
        name="<i>Ana & Bo</i>", genres=["r&b", "<b>pop</b>", "soul", "jazz"], image_url=""
    )
    release = ReleaseFactory.create(name="<script>x</script>", image_url="")
    credit(release, artist)
    credit(second := ReleaseFactory.create(release_date_sort=date(2026, 1, 1)), artist)
    snapshot_with([release, second])
    html = client.get("/").content.decode()
    assert '<ul class="genres" aria-label="Genres">' in html
    assert "<li>r&amp;b</li><li>&lt;b&gt;pop&lt;/b&gt;</li><li>soul</li>" in html
    assert "jazz" not in html
    assert "&lt;i&gt;Ana &amp; Bo&lt;/i&gt;" in html
    assert '<span class="cover-fallback">&amp;</span>' not in html
    assert '<span class="cover-fallback">&lt;</span>' in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "and 1 more new release<" in html
    assert f'href="/artists/{artist.spotify_id}/"' in html


def test_staff_sees_refresh_and_connect(manager_client, catalog):
    html = manager_client.get("/").content.decode()
    assert "Refresh now" in html
    assert "Connect Spotify" in html
    # A form that posts (with the CSRF token), never a link another site could send.
    assert '<form method="post" action="/auth/login/">' in html
    assert 'href="/auth/login/"' not in html
    assert "Disconnect" not in html


def test_staff_without_the_permission_sees_no_connect_or_disconnect(staff_client):
    SpotifyConnection.objects.create(account_id="wizzler", display_name="Wiz Zler")
    html = staff_client.get("/").content.decode()
    assert "Connected as Wiz Zler" in html
    assert "Refresh now" in html
    assert "/auth/login/" not in html
    assert "Disconnect" not in html


def test_staff_with_a_connection_sees_disconnect_and_the_account(manager_client):
    SpotifyConnection.objects.create(account_id="wizzler", display_name="Wiz Zler")
    html = manager_client.get("/").content.decode()
    assert "Connected as Wiz Zler" in html
    assert "Disconnect" in html
    assert 'action="/auth/logout/"' in html
    assert "Connect Spotify" not in html


@pytest.mark.parametrize(
    ("client_id", "connection", "label"),
    [
        ("test-client-id", None, "App token"),
        ("", None, "Demo data"),
        ("test-client-id", {"needs_reconnect": True}, "Reconnect needed"),
        ("test-client-id", {}, "Connected as Wiz Zler"),
    ],
)
def test_header_shows_the_connection_state_to_staff(
    staff_client, settings, client_id, connection, label
):
    settings.SPOTIFY_CLIENT_ID = client_id
    if connection is not None:
        SpotifyConnection.objects.create(
            account_id="wizzler", display_name="Wiz Zler", **connection
        )
    html = staff_client.get("/").content.decode()
    header = html.split('data-testid="connection-state"', 1)[1].split("</p>", 1)[0]
    assert label in header


@pytest.mark.parametrize("who", ["anonymous", "member"])
@pytest.mark.parametrize(
    ("client_id", "connection", "label"),
    [
        ("test-client-id", None, "App token"),
        ("", None, "Demo data"),
        ("test-client-id", {"needs_reconnect": True}, "App token"),
        ("test-client-id", {}, "Spotify account"),
    ],
)
def test_visitors_who_are_not_staff_see_only_the_mode(
    client, settings, who, client_id, connection, label
):
    settings.SPOTIFY_CLIENT_ID = client_id
    if connection is not None:
        SpotifyConnection.objects.create(
            account_id="wizzler",
            display_name="Wiz Zler",
            reconnect_reason="invalid_grant: Refresh token revoked",
            **connection,
        )
    if who == "member":
        client.force_login(get_user_model().objects.create_user("member"))

    html = client.get("/").content.decode()

    header = html.split('data-testid="connection-state"', 1)[1].split("</p>", 1)[0]
    assert label in header
    for detail in ("wizzler", "Wiz Zler", "invalid_grant", "Reconnect needed"):
        assert detail not in html


def test_demo_banner_only_in_demo_mode(client, settings, catalog):
    assert "Demo mode" not in client.get("/").content.decode()
    settings.SPOTIFY_CLIENT_ID = ""
    assert "Demo mode" in client.get("/").content.decode()
    url = f"/artists/{catalog['nova'].spotify_id}/"
    assert "Demo mode" in client.get(url).content.decode()


def test_htmx_is_served_locally_never_from_a_cdn(client, settings, tmp_path):
    # As in production: collected static files, served by whitenoise (the test runner turns
    # DEBUG off, so whitenoise serves STATIC_ROOT only).
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)
    html = client.get("/").content.decode()
    assert '<script src="/static/django_htmx/htmx-2.min.js' in html
    assert "unpkg" not in html
    assert "cdn" not in html.lower()
    assert client.get("/static/django_htmx/htmx-2.min.js").status_code == 200
    assert client.get("/static/css/app.css").status_code == 200


def test_search_matches_artist_or_release_names_ignoring_case_and_accents(client, catalog):
    assert _names(client.get("/", {"q": "nova"})) == ["Nova Static"]
    assert _names(client.get("/", {"q": "HARBOUR"})) == ["Nova Static"]
    assert _names(client.get("/", {"q": "beyoncé"})) == ["Beyoncé"]
    assert _names(client.get("/", {"q": "BEYONCE"})) == ["Beyoncé"]
    assert _names(client.get("/", {"q": "harböur"})) == ["Nova Static"]
    response = client.get("/", {"q": "nothing like this"})
    assert _names(response) == []
    assert "No artists match" in response.content.decode()
    # LIKE wildcards in the search are plain characters.
    assert _names(client.get("/", {"q": "%"})) == []


def test_type_filter_keeps_artists_with_such_a_release_and_shows_it(client, catalog):
    response = client.get("/", {"type": "compilation"})
    assert _names(response) == ["Orchard Lane"]
    assert response.context["grid"].cards[0].latest.name == "Lane Years"
    assert _names(client.get("/", {"type": "single"})) == ["Beyoncé", "Orchard Lane"]
    # An unknown type is a 400 that says which types there are, not a silently wider grid.
    unknown = client.get("/", {"type": "podcast"})
    assert unknown.status_code == 400
    assert "type: Input should be &#x27;album&#x27;" in unknown.content.decode()


def test_pagination_pages_through_every_artist(client):
    releases = []
    for index in range(30):
        release = ReleaseFactory.create(release_date_sort=date(2026, 1, 1) + timedelta(index))
        credit(release, ArtistFactory.create())
        releases.append(release)
    snapshot_with(releases)
    first = client.get("/", {"q": "Artist"})
    second = client.get("/", {"q": "Artist", "page": 2})
    assert len(_names(first)) == 24
    assert len(_names(second)) == 6
    assert set(_names(first)).isdisjoint(_names(second))
    assert 'href="?q=Artist&amp;page=2"' in first.content.decode()
    # A page past the end shows the last page, not an error.
    assert _names(client.get("/", {"q": "Artist", "page": 99})) == _names(second)


@pytest.mark.parametrize(
    "query",
    [{}, {"q": "artist", "type": "album", "new": "true", "exclude_various_artists": "true"}],
)
def test_the_anonymous_dashboard_makes_a_fixed_number_of_queries(
    client, django_assert_num_queries, settings, query
):
    settings.API_RESPONSE_CACHE = False
    SyncRunFactory.create(
        status=SyncRun.Status.SUCCEEDED,
        started_at=timezone.now() - timedelta(minutes=1),
    )
    releases = []
    for _ in range(48):
        release = ReleaseFactory.create()
        credit(release, ArtistFactory.create())
        releases.append(release)
    snapshot_with(releases)
    # The data version and the page state (the sync card and the connection, for the ETag),
    # then the page's own: the snapshot, the artist list (with its "New" badges), the sync card
    # and the connection.
    with django_assert_num_queries(7):
        response = client.get("/", query)
    assert len(_names(response)) == 24
    # The version and the state are kept a few seconds: a page then costs its own four,
    # whatever the page size.
    with django_assert_num_queries(4):
        response = client.get("/", {**query, "page": 2})
    assert len(_names(response)) == 24


def test_htmx_search_gets_only_the_results_fragment(client, catalog):
    full = client.get("/", {"q": "nova"})
    fragment = client.get("/", {"q": "nova"}, headers=HTMX)
    assert full.content.decode().lstrip().startswith("<!doctype html>")
    body = fragment.content.decode()
    assert body.lstrip().startswith('<div id="artist-results"')
    assert "<html" not in body
    assert "Nova Static" in body
    assert "Beyoncé" not in body
    assert "HX-Request" in fragment["Vary"]
    assert "HX-Request" in full["Vary"]


def test_htmx_history_restore_gets_the_full_page(client, catalog):
    response = client.get(
        "/", {"q": "nova"}, headers={**HTMX, "HX-History-Restore-Request": "true"}
    )
    assert response.content.decode().lstrip().startswith("<!doctype html>")


def test_artist_page_lists_every_release_we_know(client, catalog):
    orchard = catalog["orchard"]
    # A release outside the snapshot is still part of the artist's history.
    old = ReleaseFactory.create(name="First Light", total_tracks=7, release_date_sort=None)
    credit(old, orchard)
    response = client.get(f"/artists/{orchard.spotify_id}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert [r.name for r in response.context["releases"]] == [
        "Paper Kites",
        "Lane Years",
        "First Light",
    ]
    assert "7 tracks" in html
    assert old.spotify_url in html
    assert "Refresh now" not in html


def test_artist_page_pages_through_250_releases_with_previous_and_next_links(client):
    artist = artist_credited_on(250)
    path = f"/artists/{artist.spotify_id}/"

    first = client.get(path)
    html = first.content.decode()
    seen = [release.pk for release in first.context["releases"]]
    response, pages = first, 1
    while next_url := response.context["next_url"]:
        response = client.get(f"{path}{next_url}")
        assert 'rel="prev"' in response.content.decode()
        seen += [release.pk for release in response.context["releases"]]
        pages += 1

    assert len(first.context["releases"]) == 50
    assert "250 releases we know of" in html
    assert "Showing 1\N{EN DASH}50 of 250" in html
    assert 'rel="next" href="?offset=50"' in html
    assert 'rel="prev"' not in html
    assert pages == 5
    assert len(seen) == len(set(seen)) == 250
    assert 'rel="next"' not in response.content.decode()
    bigger = client.get(path, {"limit": 200})
    assert len(bigger.context["releases"]) == 200
    assert 'href="?limit=200&amp;offset=200"' in bigger.content.decode()


def test_unknown_artist_is_404(client):
    assert client.get("/artists/nope/").status_code == 404


# --- "new since last sync", Various Artists, feed and CSV links -------------------------------


@pytest.fixture
def novelty():
    """The latest successful sync brought Nova's album and a Various Artists compilation
    (Beyoncé is on it); Beyoncé's single and Orchard's were seen before."""
    started = timezone.now() - timedelta(hours=1)
    for status, start in [
        (SyncRun.Status.SUCCEEDED, started - timedelta(days=1)),
        (SyncRun.Status.SUCCEEDED, started),
        (SyncRun.Status.FAILED, started + timedelta(minutes=30)),  # not a successful sync
    ]:
        SyncRunFactory.create(status=status, started_at=start)
    seen_before = started - timedelta(days=1)
    nova = ArtistFactory.create(name="Nova Static")
    beyonce = ArtistFactory.create(name="Beyoncé")
    orchard = ArtistFactory.create(name="Orchard Lane")
    various = ArtistFactory.create(spotify_id=VARIOUS_ARTISTS_ID, name="Various Artists")
    releases = {
        "album": ReleaseFactory.create(
            name="Glass Harbour",
            release_date_sort=date(2026, 11, 20),
            first_seen_at=started,  # at the sync's very start: new
        ),
        "hits": ReleaseFactory.create(
            name="Winter Hits",
            album_type="compilation",
            release_date_sort=date(2026, 11, 25),
            first_seen_at=started + timedelta(seconds=10),
        ),
        "single": ReleaseFactory.create(
            name="Run Silent",
            album_type="single",
            release_date_sort=date(2026, 11, 1),
            first_seen_at=seen_before,
        ),
        "older": ReleaseFactory.create(
            name="Paper Kites",
            album_type="single",
            release_date_sort=date(2026, 10, 2),
            first_seen_at=seen_before,
        ),
    }
    credit(releases["album"], nova)
    credit(releases["hits"], various, beyonce)
    credit(releases["single"], beyonce)
    credit(releases["older"], orchard)
    snapshot_with(list(releases.values()))
    return {"beyonce": beyonce, **releases}


def _badged(html: str) -> dict[str, bool]:
    """Each card's (or release card's) release name, and whether it wears the "New" badge."""
    cards = re.split(r'<li class="(?:artist|release)-card"', html)[1:]
    names = [re.search(r'class="(?:release-name|release-card__name)">([^<]+)<', c) for c in cards]
    return {
        name.group(1): 'data-testid="new-badge"' in card
        for name, card in zip(names, cards, strict=True)
        if name
    }


def test_new_badge_marks_only_releases_first_seen_by_the_latest_successful_sync(client, novelty):
    html = client.get("/").content.decode()
    assert _badged(html) == {"Winter Hits": True, "Glass Harbour": True, "Paper Kites": False}
    without_various = client.get("/", {"exclude_various_artists": "true"}).content.decode()
    assert _badged(without_various) == {
        "Glass Harbour": True,
        "Run Silent": False,
        "Paper Kites": False,
    }
    artist_page = client.get(f"/artists/{novelty['beyonce'].spotify_id}/").content.decode()
    assert _badged(artist_page) == {"Winter Hits": True, "Run Silent": False}


def test_no_new_badge_before_any_successful_sync(client, catalog):
    SyncRunFactory.create(status=SyncRun.Status.FAILED)
    assert "new-badge" not in client.get("/").content.decode()
    assert "new-badge" not in client.get(f"/artists/{catalog['nova'].spotify_id}/").content.decode()
    # Nothing came with a successful sync, so nothing is new (as on the API).
    response = client.get("/", {"new": "true"})
    assert _names(response) == []
    assert "No artists match new since the last sync" in response.content.decode()


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["full-page", "htmx"])
def test_new_and_various_artists_filters_narrow_the_grid(client, novelty, headers):
    def names(query: dict[str, str]) -> list[str]:
        return _names(client.get("/", query, headers=headers))

    assert names({}) == ["Beyoncé", "Various Artists", "Nova Static", "Orchard Lane"]
    assert names({"new": "true"}) == ["Beyoncé", "Various Artists", "Nova Static"]
    assert names({"exclude_various_artists": "true"}) == ["Nova Static", "Beyoncé", "Orchard Lane"]
    both = {"new": "true", "exclude_various_artists": "true"}
    assert names(both) == ["Nova Static"]
    assert names({**both, "type": "single"}) == []
    # The search only sees the releases that pass: Winter Hits is gone without Various Artists.
    assert names({"q": "winter"}) == ["Beyoncé", "Various Artists"]
    assert names({"q": "winter", "exclude_various_artists": "true"}) == []


def test_filter_checkboxes_work_without_javascript_and_keep_their_state(client, novelty):
    html = client.get("/").content.decode()
    assert re.search(r'<input type="checkbox" name="new" value="true"\s+hx-get', html)
    assert 'name="exclude_various_artists" value="true"\n' in html
    checked = client.get("/", {"new": "true", "exclude_various_artists": "true"})
    body = checked.content.decode()
    assert 'name="new" value="true" checked' in body
    assert 'name="exclude_various_artists" value="true" checked' in body
    # Pages keep the filters.
    assert _names(checked) == ["Nova Static"]


def _link(html: str, test_id: str) -> tuple[str, str]:
    match = re.search(rf'<a href="([^"]*)" data-testid="{test_id}"[^>]*title="([^"]*)"', html)
    assert match, f"no {test_id} link"
    return match.group(1).replace("&amp;", "&"), match.group(2)


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["full-page", "htmx"])
def test_feed_and_csv_links_carry_the_filters(client, novelty, headers):
    query = {"type": "single", "new": "true", "exclude_various_artists": "true", "q": "run"}
    html = client.get("/", query, headers=headers).content.decode()
    feed_url, feed_title = _link(html, "feed-link")
    csv_url, csv_title = _link(html, "csv-link")
    assert feed_url == "/feeds/releases.atom?album_type=single&exclude_various_artists=true"
    assert "no search" in feed_title
    # The API's `q` searches artist and release names, as the dashboard's: the export keeps it.
    assert (
        csv_url == "/api/artists.csv?album_type=single&exclude_various_artists=true&new=true&q=run"
    )
    assert csv_title == "These artists as CSV"

    plain = client.get("/", headers=headers).content.decode()
    assert _link(plain, "feed-link")[0] == "/feeds/releases.atom"
    assert _link(plain, "csv-link") == ("/api/artists.csv", "These artists as CSV")


def test_the_csv_link_exports_the_artists_the_grid_shows(client, novelty):
    response = client.get("/", {"new": "true", "exclude_various_artists": "true"})
    csv_url, _ = _link(response.content.decode(), "csv-link")
    export = client.get(csv_url)
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.getvalue().decode())))
    assert [row["name"] for row in rows] == _names(response) == ["Nova Static"]
    feed_url, _ = _link(response.content.decode(), "feed-link")
    assert client.get(feed_url)["Content-Type"].startswith("application/atom+xml")


# --- the sync card ---------------------------------------------------------------------------


def test_sync_card_shows_the_last_run_and_the_next_scheduled_one(client):
    sync_schedule_ensure(minutes=60)
    Schedule.objects.update(next_run=timezone.now() + timedelta(minutes=42, seconds=30))
    SyncRunFactory.create(
        status=SyncRun.Status.SUCCEEDED,
        started_at=timezone.now() - timedelta(minutes=5),
        finished_at=timezone.now() - timedelta(minutes=4),
        release_count=100,
        new_release_count=12,
        artist_count=80,
    )
    html = client.get("/").content.decode()
    assert "4\xa0minutes ago" in html
    assert "Succeeded" in html
    assert "<dt>Started from</dt><dd>Schedule</dd>" in html
    assert "in 42\xa0minutes" in html
    assert "100 <span" in html
    assert "(12 new)" in html


def test_a_failed_run_shows_its_error_in_plain_words_and_the_data_it_kept(staff_client):
    started = timezone.now() - timedelta(hours=2)
    SyncRunFactory.create(
        status=SyncRun.Status.SUCCEEDED,
        started_at=started,
        finished_at=started + timedelta(seconds=5),
    )
    SyncRunFactory.create(
        trigger=SyncRun.Trigger.MANUAL,
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        error="Spotify is rate limiting us: try again in 30 minutes",
    )
    html = staff_client.get("/").content.decode()
    assert "The last sync failed:" in html
    assert "Spotify is rate limiting us: try again in 30 minutes" in html
    assert "The data shown is from the sync that finished 1\xa0hour" in html


@pytest.mark.parametrize("path", ["/", "/sync/"])
def test_visitors_who_are_not_staff_see_that_the_sync_failed_but_not_why(client, path):
    SyncRunFactory.create(
        trigger=SyncRun.Trigger.MANUAL,
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        error="Spotify refused client 1a2b3c (invalid_client)",
        warnings=["Track lists were not fetched: 1a2b3c"],
    )

    # The sync card comes in the page and alone, as htmx polls it.
    html = client.get(path, headers=HTMX if path == "/sync/" else {}).content.decode()

    assert "The last sync failed." in html
    assert "1a2b3c" not in html


def test_skipped_runs_are_not_shown_as_the_last_sync(client):
    SyncRunFactory.create(
        status=SyncRun.Status.SUCCEEDED,
        started_at=timezone.now() - timedelta(hours=1),
        finished_at=timezone.now() - timedelta(hours=1),
    )
    SyncRunFactory.create(
        trigger=SyncRun.Trigger.MANUAL,
        status=SyncRun.Status.SKIPPED,
        finished_at=timezone.now(),
        error="Another sync is already running",
    )
    html = client.get("/").content.decode()
    assert "1\xa0hour ago" in html
    assert "Skipped" not in html


def test_sync_card_without_htmx_redirects_to_the_dashboard(client):
    response = client.get("/sync/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_a_running_sync_is_polled_and_the_end_triggers_the_grid_refresh(client):
    run = SyncRunFactory.create(status=SyncRun.Status.RUNNING)
    with sync_lock_held_elsewhere():
        polling = client.get("/sync/?watch=1", headers=HTMX)
        body = polling.content.decode()
        assert 'hx-trigger="every 1s"' in body
        assert "Syncing now" in body
        assert "HX-Trigger" not in polling.headers
    run.status = SyncRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    run.save()
    done = client.get("/sync/?watch=1", headers=HTMX)
    assert "every 1s" not in done.content.decode()
    assert done["HX-Trigger"] == '{"catalog-updated": {}}'


def test_the_grid_listens_for_the_end_of_a_sync(client, catalog):
    html = client.get("/", {"q": "nova"}).content.decode()
    assert 'hx-trigger="catalog-updated from:body"' in html
    assert 'hx-get="/?q=nova"' in html


def test_a_finished_card_that_was_not_watching_triggers_nothing(client):
    response = client.get("/sync/", headers=HTMX)
    assert "HX-Trigger" not in response.headers


def test_a_running_row_left_by_a_dead_worker_is_not_shown_as_in_progress(client):
    SyncRunFactory.create(status=SyncRun.Status.RUNNING)  # nobody holds the lock
    body = client.get("/sync/", headers=HTMX).content.decode()
    assert "Syncing now" not in body
    assert "every 1s" not in body


# --- "Refresh now" ---------------------------------------------------------------------------


@pytest.fixture
def tasks_inline(monkeypatch):
    """django-q2 runs tasks in the calling thread, as its `sync` option does."""
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)


@pytest.fixture
def recorded_tasks(monkeypatch):
    """Records what would be enqueued, without running it."""
    calls: list[tuple[str, dict[str, object]]] = []

    def record(func, *args, **kwargs):
        calls.append((func, kwargs))
        return "0" * 32

    monkeypatch.setattr("catalog.scheduling.async_task", record)
    return calls


def test_anonymous_post_is_forbidden(client, recorded_tasks):
    assert client.post("/sync/refresh/").status_code == 403
    assert recorded_tasks == []


def test_non_staff_post_is_forbidden(member_client, recorded_tasks):
    assert member_client.post("/sync/refresh/").status_code == 403
    assert member_client.post("/sync/refresh/", headers=HTMX).status_code == 403
    assert recorded_tasks == []


def test_refresh_needs_a_post(staff_client, recorded_tasks):
    assert staff_client.get("/sync/refresh/").status_code == 405
    assert recorded_tasks == []


def test_refresh_without_the_csrf_token_is_rejected(recorded_tasks):
    user = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post("/sync/refresh/").status_code == 403
    assert recorded_tasks == []
    # The page's own token (in the form, and in hx-headers for htmx) is accepted.
    client.get("/")
    token = client.cookies["csrftoken"].value
    response = client.post("/sync/refresh/", HTTP_X_CSRFTOKEN=token, headers=HTMX)
    assert response.status_code == 200
    assert len(recorded_tasks) == 1


def test_refresh_enqueues_a_manual_sync_task(staff_client):
    response = staff_client.post("/sync/refresh/", headers=HTMX)
    assert response.status_code == 200
    (queued,) = OrmQ.objects.all()
    assert queued.func() == "catalog.tasks.sync_new_releases"
    assert queued.task["kwargs"] == {"trigger": "manual"}
    body = response.content.decode()
    # Nothing picked it up yet: the card says it is queued and keeps polling.
    assert body.lstrip().startswith('<section id="sync-card"')
    assert "Queued" in body
    assert 'hx-trigger="every 1s"' in body
    assert SyncRun.objects.count() == 0
    # A reload still knows this browser is waiting for it.
    assert "Queued" in staff_client.get("/").content.decode()


def test_refresh_runs_the_sync_and_the_card_then_shows_its_result(
    staff_client, tasks_inline, monkeypatch
):
    def sync_run_execute(*, trigger):
        return SyncRunFactory.create(
            trigger=trigger, status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now()
        )

    monkeypatch.setattr("catalog.tasks.sync_run_execute", sync_run_execute)
    response = staff_client.post("/sync/refresh/", headers=HTMX)
    run = SyncRun.objects.get()
    assert run.trigger == SyncRun.Trigger.MANUAL
    body = response.content.decode()
    assert "just now" in body
    assert "Refresh now" in body
    assert "Queued" not in body
    assert "every 1s" not in body


def test_refresh_without_javascript_redirects_with_a_message(staff_client, recorded_tasks):
    response = staff_client.post("/sync/refresh/", follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert "Sync started" in response.content.decode()
    assert len(recorded_tasks) == 1


def test_refresh_while_a_sync_runs_shows_that_run_and_enqueues_nothing(
    staff_client, recorded_tasks
):
    running = SyncRunFactory.create(status=SyncRun.Status.RUNNING)
    with sync_lock_held_elsewhere():
        response = staff_client.post("/sync/refresh/", headers=HTMX)
        body = response.content.decode()
        assert "Syncing now" in body
        assert "· Schedule" in body
        assert 'hx-trigger="every 1s"' in body
        followed = staff_client.post("/sync/refresh/", follow=True).content.decode()
        assert "A sync is already running" in followed
    assert recorded_tasks == []
    assert list(SyncRun.objects.all()) == [running]


def test_refresh_after_a_dead_worker_closes_its_run_and_starts_a_new_one(
    staff_client, recorded_tasks
):
    stale = SyncRunFactory.create(status=SyncRun.Status.RUNNING)
    staff_client.post("/sync/refresh/", headers=HTMX)
    stale.refresh_from_db()
    assert stale.status == SyncRun.Status.FAILED
    assert stale.error == INTERRUPTED_ERROR
    assert len(recorded_tasks) == 1


def test_five_presses_queue_one_sync_and_the_others_say_it_is_queued(staff_client):
    first = staff_client.post("/sync/refresh/", headers=HTMX).content.decode()
    assert "sync-notice" not in first
    for _ in range(3):
        body = staff_client.post("/sync/refresh/", headers=HTMX).content.decode()
        assert "A sync is already queued" in body
        assert "Queued" in body
    followed = staff_client.post("/sync/refresh/", follow=True).content.decode()
    assert "A sync is already queued" in followed
    (queued,) = OrmQ.objects.all()
    assert queued.func() == "catalog.tasks.sync_new_releases"


def test_a_press_while_the_scheduled_sync_waits_in_the_queue_queues_nothing(staff_client):
    sync_schedule_ensure(minutes=60)
    async_task("catalog.tasks.sync_new_releases")  # as the scheduler enqueues it
    body = staff_client.post("/sync/refresh/", headers=HTMX).content.decode()
    assert "A sync is already queued" in body
    assert OrmQ.objects.count() == 1
    assert SyncRun.objects.count() == 0


def test_a_press_while_a_sync_holds_the_lock_queues_nothing(staff_client):
    # The lock is taken a moment before the run's row is written: that moment counts as running.
    with sync_lock_held_elsewhere():
        followed = staff_client.post("/sync/refresh/", follow=True).content.decode()
    assert "A sync is already running" in followed
    assert OrmQ.objects.count() == 0

"""Paging: Spotify's `next` links are absolute on api.spotify.com; the client rebases them on
SPOTIFY_API_BASE_URL and never follows one elsewhere (respx refuses any unmocked host)."""

import httpx
import pytest

from spotify.client import site_client
from spotify.errors import BadResponseError
from tests.conftest import API, SPOTIFY_LINKS, release_items, token_route

pytestmark = pytest.mark.django_db


def _page(items, *, next_link):
    return {"albums": {"items": items, "next": next_link, "limit": 50, "offset": 0}}


def test_new_releases_next_links_on_spotifys_host_are_rebased_on_the_configured_base(
    spotify_mock,
):
    token_route(spotify_mock)
    items = release_items(3)
    # The recorded shape of Spotify's link, locale and its encoded `=` included.
    link = f"{SPOTIFY_LINKS}/browse/new-releases?offset=2&limit=2&locale=en-US,en;q%3D0.5"
    first = spotify_mock.get(f"{API}/browse/new-releases", params={"offset": "0"}).respond(
        200, json=_page(items[:2], next_link=link)
    )
    second = spotify_mock.get(f"{API}/browse/new-releases", params={"offset": "2"}).respond(
        200, json=_page(items[2:], next_link=None)
    )

    pages = list(site_client().new_releases())

    assert [album.id for page in pages for album in page.items] == [i["id"] for i in items]
    assert first.call_count == 1
    assert second.call_count == 1
    request = second.calls.last.request
    assert str(request.url) == f"{API}/browse/new-releases?offset=2&limit=2&locale=en-US,en;q%3D0.5"
    assert request.url.host == "api.spotify.test"


def test_album_tracks_next_links_are_rebased_too(spotify_mock):
    token_route(spotify_mock)
    url = f"{API}/albums/abc/tracks"
    track = {"id": "t1", "name": "One", "track_number": 1}
    spotify_mock.get(url, params={"offset": "1"}).respond(
        200, json={"items": [track | {"id": "t2", "track_number": 2}], "next": None}
    )
    spotify_mock.get(url).respond(
        200,
        json={"items": [track], "next": f"{SPOTIFY_LINKS}/albums/abc/tracks?offset=1&limit=1"},
    )

    tracks = site_client().album_tracks("abc")

    assert [t.id for t in tracks] == ["t1", "t2"]


def test_search_follows_spotifys_next_links_on_the_configured_base(spotify_mock):
    token_route(spotify_mock)
    items = release_items(15)
    link = f"{SPOTIFY_LINKS}/search?offset=10&limit=10&query=tag%3Anew&type=album&locale=sv"
    search = spotify_mock.get(f"{API}/search").mock(
        side_effect=[
            httpx.Response(200, json=_page(items[:10], next_link=link)),
            httpx.Response(200, json=_page(items[10:], next_link=None)),
        ]
    )

    pages = list(site_client().search_new_albums(max_albums=100))

    assert sum(len(page.items) for page in pages) == 15
    # Spotify's own query (`query=`, its locale), on our host.
    assert str(search.calls.last.request.url) == (
        f"{API}/search?offset=10&limit=10&query=tag%3Anew&type=album&locale=sv"
    )


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/steal?offset=50",
        "https://api.spotify.com/v2/browse/new-releases?offset=50",
        "https://api.spotify.com/v1/../admin?offset=50",
        "https://api.spotify.com/v1/%2e%2e/admin?offset=50",
        "https://api.spotify.com/v1",
        "javascript:alert(1)",
    ],
)
def test_a_next_link_outside_the_api_path_is_a_malformed_answer(spotify_mock, link):
    token_route(spotify_mock)
    route = spotify_mock.get(f"{API}/browse/new-releases").respond(
        200, json=_page(release_items(1), next_link=link)
    )

    with pytest.raises(BadResponseError, match="paging links outside its API"):
        list(site_client().new_releases())
    assert route.call_count == 1


def test_a_next_link_that_repeats_itself_is_a_malformed_answer(spotify_mock):
    token_route(spotify_mock)
    link = f"{SPOTIFY_LINKS}/browse/new-releases?offset=0&limit=50"
    spotify_mock.get(f"{API}/browse/new-releases").respond(
        200, json=_page(release_items(1), next_link=link)
    )

    with pytest.raises(BadResponseError, match="repeats itself"):
        list(site_client().new_releases())

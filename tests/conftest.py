import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx

FIXTURES = Path(__file__).parent / "fixtures"

API = "https://api.spotify.test/v1"
ACCOUNTS = "https://accounts.spotify.test"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def _spotify_settings(settings: Any) -> None:
    """Tests talk to a Spotify that respx mocks, never to demo mode or the real one."""
    settings.SPOTIFY_CLIENT_ID = "test-client-id"
    settings.SPOTIFY_CLIENT_SECRET = "test-client-secret"
    settings.SPOTIFY_API_BASE_URL = API
    settings.SPOTIFY_ACCOUNTS_BASE_URL = ACCOUNTS
    settings.SPOTIFY_MARKET = ""
    settings.SPOTIFY_BACKOFF_SECONDS = 0.01


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Records the client's waits instead of sleeping through them."""
    recorded: list[float] = []
    monkeypatch.setattr("spotify.http.sleep", recorded.append)
    return recorded


@pytest.fixture
def spotify_mock() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


def token_route(router: respx.MockRouter, *, expires_in: int = 3600) -> respx.Route:
    body = load_fixture("ClientCredentials.json") | {"expires_in": expires_in}
    return router.post(f"{ACCOUNTS}/api/token").respond(200, json=body)


def release_items(count: int) -> list[dict[str, Any]]:
    """`count` real-shaped albums: the recorded ones first, then copies with new ids."""
    recorded = load_fixture("new_releases.json")["albums"]["items"]
    items = []
    for index in range(count):
        album = dict(recorded[index % len(recorded)])
        if index >= len(recorded):
            album["id"] = f"{album['id'][:16]}{index:06d}"
            album["name"] = f"{album['name']} ({index})"
        items.append(album)
    return items


def new_release_pages(
    router: respx.MockRouter, items: list[dict[str, Any]], *, page_size: int = 50
) -> respx.Route:
    """Serves `items` as /browse/new-releases pages with real `next` links."""
    url = f"{API}/browse/new-releases"

    def page(request: Any) -> Any:
        offset = int(request.url.params.get("offset", 0))
        limit = int(request.url.params.get("limit", 20))
        assert limit <= 50
        end = offset + limit
        return respx.MockResponse(
            200,
            json={
                "albums": {
                    "href": str(request.url),
                    "items": items[offset:end],
                    "limit": limit,
                    "next": f"{url}?offset={end}&limit={limit}" if end < len(items) else None,
                    "offset": offset,
                    "previous": None,
                    "total": len(items),
                }
            },
        )

    return router.get(url).mock(side_effect=page)


def artists_route(
    router: respx.MockRouter, items: list[dict[str, Any]] | None = None, **overrides: Any
) -> respx.Route:
    """Answers /artists?ids= with real-shaped full artists for whatever ids are asked, named as
    the releases in `items` credit them."""
    template = load_fixture("artists.json")["artists"][0]
    names = {a["id"]: a["name"] for item in items or [] for a in item["artists"]}

    def artists(request: Any) -> Any:
        ids = request.url.params["ids"].split(",")
        assert len(ids) <= 50
        return respx.MockResponse(
            200,
            json={
                "artists": [
                    template
                    | {"id": artist_id, "name": names.get(artist_id, f"Artist {artist_id}")}
                    | overrides
                    for artist_id in ids
                ]
            },
        )

    return router.get(f"{API}/artists").mock(side_effect=artists)

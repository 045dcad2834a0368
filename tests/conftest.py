import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import respx
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from catalog.caching import data_version_forget

FIXTURES = Path(__file__).parent / "fixtures"

API = "https://api.spotify.test/v1"
ACCOUNTS = "https://accounts.spotify.test"
# Where Spotify's own paging links point, whatever API base the client is configured with.
SPOTIFY_LINKS = "https://api.spotify.com/v1"


# A Redis database for tests (TEST_REDIS_URL to point elsewhere), shared by every test run on the
# machine: each run names its keys (REDIS_KEY_PREFIX) and empties only those, so that parallel runs
# never take each other's tasks, read each other's cache or delete each other's keys.
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_REDIS_KEY_PREFIX = f"test-{os.getpid()}-{secrets.token_hex(4)}"


def _redis_keys_delete(connection: redis.Redis) -> None:
    for key in connection.scan_iter(match=f"*{TEST_REDIS_KEY_PREFIX}:*"):
        connection.delete(key)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """TEST_REDIS_URL, with this run's keys (TEST_REDIS_KEY_PREFIX) emptied; the test is
    skipped, saying why, where no Redis answers."""
    connection = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.RedisError as error:
        pytest.skip(f"needs a Redis at {TEST_REDIS_URL} (none answers: {error})")
    _redis_keys_delete(connection)
    yield TEST_REDIS_URL
    _redis_keys_delete(connection)
    connection.close()


@pytest.fixture
def redis_broker(redis_url: str, settings: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """django-q2's queue and Django's cache in Redis, as with REDIS_URL set."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", redis_url)
    # What REDIS_KEY_PREFIX makes of django-q2's name (see project/settings.py).
    name = f"{TEST_REDIS_KEY_PREFIX}:{Conf.PREFIX}"
    monkeypatch.setattr(Conf, "PREFIX", name)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", name)
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": TEST_REDIS_KEY_PREFIX,
        }
    }
    return redis_url


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Catalog answers and pages are cached keyed on the data version; tests change data
    without a sync."""
    cache.clear()
    data_version_forget()
    yield
    cache.clear()
    data_version_forget()


@pytest.fixture(autouse=True)
def _spotify_settings(settings: Any) -> None:
    """Tests talk to a Spotify that respx mocks, never to demo mode or the real one."""
    settings.SPOTIFY_CLIENT_ID = "test-client-id"
    settings.SPOTIFY_CLIENT_SECRET = "test-client-secret"
    settings.SPOTIFY_API_BASE_URL = API
    settings.SPOTIFY_ACCOUNTS_BASE_URL = ACCOUNTS
    settings.SPOTIFY_MARKETS = []
    settings.SPOTIFY_BACKOFF_SECONDS = 0.01


@pytest.fixture
def staff_client(client: Client) -> Client:
    user = get_user_model().objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def demo_mode(settings: Any) -> None:
    """No Spotify credentials: the app serves its bundled fake Spotify in process."""
    settings.SPOTIFY_CLIENT_ID = ""
    settings.SPOTIFY_CLIENT_SECRET = ""


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
    router: respx.MockRouter,
    items: list[dict[str, Any]],
    *,
    page_size: int = 50,
    with_albums: bool = True,
) -> respx.Route:
    """Serves `items` as /browse/new-releases pages with real `next` links (on Spotify's own
    host, as it writes them), and (unless `with_albums` is false) the same albums with their
    tracks at /albums?ids=."""
    if with_albums:
        albums_route(router, items)
    url = f"{API}/browse/new-releases"
    link = f"{SPOTIFY_LINKS}/browse/new-releases"

    def page(request: Any) -> Any:
        offset = int(request.url.params.get("offset", 0))
        limit = int(request.url.params.get("limit", 20))
        assert limit <= 50
        end = offset + limit
        return respx.MockResponse(
            200,
            json={
                "albums": {
                    "href": f"{link}?offset={offset}&limit={limit}",
                    "items": items[offset:end],
                    "limit": limit,
                    "next": f"{link}?offset={end}&limit={limit}" if end < len(items) else None,
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


def full_album(item: dict[str, Any], *, tracks: int = 3, **overrides: Any) -> dict[str, Any]:
    """The /albums?ids= shape of a listed album: label, popularity and its first tracks."""
    track_items = [
        {
            "id": f"{item['id'][:14]}t{number:07d}",
            "name": f"Track {number}",
            "track_number": number,
            "disc_number": 1,
            "duration_ms": 180_000 + number,
            "explicit": number == 2,
            "artists": item["artists"][:1],
            "type": "track",
        }
        for number in range(1, tracks + 1)
    ]
    tracks_page = {"items": track_items, "next": None, "total": tracks, "limit": 50, "offset": 0}
    return item | {"label": "Test Label", "popularity": 42, "tracks": tracks_page} | overrides


def albums_route(router: respx.MockRouter, items: list[dict[str, Any]]) -> respx.Route:
    """Answers /albums?ids= (at most 20) with full albums for the ids found in `items`."""
    by_id = {item["id"]: item for item in items}

    def albums(request: Any) -> Any:
        ids = request.url.params["ids"].split(",")
        assert len(ids) <= 20
        return respx.MockResponse(
            200,
            json={"albums": [full_album(by_id[i]) if i in by_id else None for i in ids]},
        )

    return router.get(f"{API}/albums").mock(side_effect=albums)


@contextmanager
def _scratch_database() -> Iterator[str]:
    """A database name no one uses, for tests that create a database themselves; dropped after."""
    name = f"test_scratch_{secrets.token_hex(4)}"
    try:
        yield name
    finally:
        database = django_settings.DATABASES["default"]
        with psycopg.connect(
            dbname="postgres",
            user=database["USER"],
            password=database["PASSWORD"] or None,
            host=database["HOST"],
            port=database["PORT"],
            autocommit=True,
        ) as maintenance:
            maintenance.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def scratch_database_name() -> Iterator[str]:
    with _scratch_database() as name:
        yield name


@pytest.fixture(scope="module")
def module_scratch_database_name() -> Iterator[str]:
    """One scratch database for a module's tests, e.g. to migrate it only once."""
    with _scratch_database() as name:
        yield name

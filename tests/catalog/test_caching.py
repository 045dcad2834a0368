import re
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.cache import cache
from django.db import connection
from django.middleware.csrf import CsrfViewMiddleware
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.http import http_date

from catalog import selectors
from catalog.caching import (
    VERSION_KEY,
    DataVersion,
    data_version,
    data_version_forget,
    data_version_refresh,
)
from catalog.models import Snapshot
from tests.factories import ArtistFactory, ReleaseFactory, credit, snapshot_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def synced():
    release = ReleaseFactory.create()
    credit(release, ArtistFactory.create(name="Björk"))
    return snapshot_with([release])


def test_catalog_answers_carry_etag_last_modified_and_cache_control(client, synced):
    response = client.get("/api/artists/?limit=5")
    assert response.status_code == 200
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"] == http_date(int(synced.fetched_at.timestamp()))
    assert response["Cache-Control"] == "public, max-age=60"


def test_max_age_is_a_setting(client, synced, settings):
    settings.API_CACHE_MAX_AGE = 5
    assert client.get("/api/releases/")["Cache-Control"] == "public, max-age=5"


def test_the_etag_follows_the_normalised_query(client, synced):
    one = client.get("/api/artists/?limit=5&offset=0")["ETag"]
    same = client.get("/api/artists/?offset=0&limit=5")["ETag"]
    other = client.get("/api/artists/?limit=6")["ETag"]
    assert one == same
    assert one != other


def test_if_none_match_gives_304_without_any_query(client, synced):
    etag = client.get("/api/artists/")["ETag"]
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/artists/", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag
    assert len(queries) == 0


def test_if_modified_since_gives_304_without_any_query(client, synced):
    last_modified = client.get("/api/snapshots/")["Last-Modified"]
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/snapshots/", headers={"If-Modified-Since": last_modified})
    assert response.status_code == 304
    assert len(queries) == 0
    earlier = http_date(int((synced.fetched_at - timedelta(hours=1)).timestamp()))
    assert client.get("/api/snapshots/", headers={"If-Modified-Since": earlier}).status_code == 200


def test_a_cached_answer_makes_no_query_and_has_the_same_bytes(client, synced):
    first = client.get("/api/artists/?limit=10")
    with CaptureQueriesContext(connection) as queries:
        second = client.get("/api/artists/?limit=10")
    assert len(queries) == 0
    assert second.content == first.content
    assert second["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("path", ["/api/artists/?limit={n}", "/api/releases/?limit={n}"])
def test_an_uncached_answer_makes_at_most_3_queries_whatever_the_page_size(client, path):
    releases = []
    for _ in range(40):
        release = ReleaseFactory.create()
        credit(release, ArtistFactory.create(), ArtistFactory.create())
        releases.append(release)
    snapshot_with(releases)
    client.get("/api/snapshots/")  # the data version: one query per few seconds, not per request
    counts = []
    for limit in (1, 40):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path.format(n=limit)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 3


def test_the_cache_can_be_switched_off(client, synced, settings):
    settings.API_RESPONSE_CACHE = False
    client.get("/api/artists/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/artists/")
    assert response.status_code == 200
    assert len(queries) > 0
    assert "ETag" in response  # conditional requests still work


def test_a_committed_sync_changes_the_version_and_so_the_answer(client, synced):
    before = client.get("/api/artists/")
    newer = ReleaseFactory.create()
    credit(newer, ArtistFactory.create(name="Newer"))
    Snapshot.objects.filter(pk=synced.pk).update(fetched_at=timezone.now() + timedelta(seconds=1))
    synced.entries.create(release=newer, rank=2)
    assert client.get("/api/artists/").content == before.content  # version still cached
    data_version_refresh()  # what the sync does on commit
    after = client.get("/api/artists/")
    assert after["ETag"] != before["ETag"]
    assert "Newer" in [item["name"] for item in after.json()["items"]]
    stale = client.get("/api/artists/", headers={"If-None-Match": before["ETag"]})
    assert stale.status_code == 200


@pytest.fixture(params=["local memory", "redis"])
def version_cache(request: pytest.FixtureRequest) -> str:
    """The data version kept by each kind of cache: this process's copy, or Redis shared."""
    if request.param == "redis":
        request.getfixturevalue("redis_broker")
    return str(request.param)


def test_a_version_read_before_a_sync_committed_never_replaces_the_one_stored_at_the_commit(
    monkeypatch, version_cache
):
    """A request that read the old version just before a sync committed must not store it over
    the new one (in Redis, shared by several servers, or this process's copy): it would be served
    until the TTL ends."""
    before, after = timezone.now() - timedelta(hours=1), timezone.now()
    reads = iter([before, after])

    def changed_at():
        value = next(reads)
        if value is before:
            data_version_refresh()  # the sync commits between this request's read and its store
        return value

    monkeypatch.setattr(selectors, "data_changed_at", changed_at)
    assert data_version().changed_at == before  # this request answers with what it read
    assert data_version().changed_at == after  # every later one sees the commit


def test_the_version_is_read_from_the_database_once_per_ttl(synced, version_cache):
    with CaptureQueriesContext(connection) as queries:
        first = data_version()
        assert data_version() == first
    assert len(queries) == 1
    data_version_forget()
    with CaptureQueriesContext(connection) as queries:
        assert data_version() == first
    assert len(queries) == 1


def test_with_redis_a_version_stored_by_another_server_is_seen_at_once(synced, redis_broker):
    data_version()
    newer = DataVersion(tag="newer", changed_at=timezone.now())
    cache.set(VERSION_KEY, newer)  # another server's sync committed
    assert data_version() == newer


def test_errors_are_not_cached(client, synced, monkeypatch):
    assert client.get("/api/artists/nope/").status_code == 404
    assert "ETag" not in client.get("/api/artists/nope/")
    ArtistFactory.create(spotify_id="nope")
    assert client.get("/api/artists/nope/").status_code == 200
    assert client.get("/api/artists/?limit=0").status_code == 422
    assert "Cache-Control" not in client.get("/api/artists/?limit=0")


def test_other_methods_and_non_catalog_paths_are_not_cached(client, synced):
    response = client.post("/api/artists/")
    assert response.status_code == 405
    assert "ETag" not in response
    assert "ETag" not in client.get("/api/openapi.json")
    assert "ETag" not in client.get("/api/nothing-here/")


def test_the_sync_forgets_the_version_when_it_commits(
    spotify_mock, client, django_capture_on_commit_callbacks
):
    from catalog.models import SyncRun
    from catalog.services import sync_run_execute
    from tests.conftest import artists_route, new_release_pages, release_items, token_route

    token_route(spotify_mock)
    items = release_items(3)
    new_release_pages(spotify_mock, items)
    artists_route(spotify_mock, items)
    assert client.get("/api/releases/").json()["count"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    assert run.status == SyncRun.Status.SUCCEEDED
    assert client.get("/api/releases/").json()["count"] == 3


@pytest.fixture
def stored_keys(monkeypatch) -> list[str]:
    """The response cache's entries as they are written."""
    keys: list[str] = []
    real_set = cache.set

    def spy(key: str, *args: Any, **kwargs: Any) -> None:
        if key.startswith("catalog:response:"):
            keys.append(key)
        real_set(key, *args, **kwargs)

    monkeypatch.setattr(cache, "set", spy)
    return keys


def test_junk_parameters_make_no_new_entry_and_no_query(client, synced, stored_keys):
    first = client.get("/api/artists/")
    junk = "&".join(f"junk{index}=x{index}" for index in range(50))

    with CaptureQueriesContext(connection) as queries:
        answers = [client.get(f"/api/artists/?junk{index}=x") for index in range(50)]
        answers.append(client.get(f"/api/artists/?{junk}"))

    assert len(queries) <= 1
    assert len(set(stored_keys)) == 1
    assert {answer.content for answer in answers} == {first.content}
    assert {answer["ETag"] for answer in answers} == {first["ETag"]}


def test_defaults_spelled_out_are_the_same_entry(client, synced, stored_keys):
    etags = {
        client.get(path)["ETag"]
        for path in (
            "/api/artists/",
            "/api/artists/?limit=50",
            "/api/artists/?offset=0&new=false",
            "/api/artists/?ordering=-latest_release_date&limit=50",
        )
    }
    assert len(etags) == 1
    assert len(stored_keys) == 1


def test_entries_per_data_version_are_bounded(client, synced, stored_keys, settings):
    settings.API_RESPONSE_CACHE_MAX_ENTRIES = 3
    for offset in range(5):
        assert client.get(f"/api/artists/?offset={offset}").status_code == 200
    assert len(stored_keys) == 3
    with CaptureQueriesContext(connection) as queries:
        beyond_the_bound = client.get("/api/artists/?offset=4")
    assert beyond_the_bound.status_code == 200
    assert len(queries) > 0  # served, not stored


# --- pages and the feed -----------------------------------------------------------------------

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Content-Type",
    "Vary",
)
CATALOG_PAGES = ("/", "/?q=bj", "/feeds/releases.atom", "/api/artists/")


def _artist_page(synced) -> str:
    return f"/artists/{synced.entries.get().release.credits.get().artist.spotify_id}/"


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])
def test_the_anonymous_dashboard_is_served_from_the_cache_and_304_without_a_query(
    client, synced, headers
):
    with CaptureQueriesContext(connection) as first:
        uncached = client.get("/", headers=headers)
    with CaptureQueriesContext(connection) as second:
        cached = client.get("/", headers=headers)
    with CaptureQueriesContext(connection) as third:
        not_modified = client.get("/", headers={**headers, "If-None-Match": cached["ETag"]})
    # The data version and page state (read every few seconds), the snapshot, the grid's one
    # statement, the "New" badge's moment, the sync card and the connection.
    assert 0 < len(first) <= 12
    assert len(second) == 0
    assert len(third) == 0
    assert cached.content == uncached.content
    assert not_modified.status_code == 304

    # A sync changes the data version: the next answer is rendered afresh.
    release = ReleaseFactory.create(name="Fresh Release")
    credit(release, ArtistFactory.create(name="Fresh Artist"))
    Snapshot.objects.filter(pk=synced.pk).update(fetched_at=timezone.now() + timedelta(seconds=1))
    synced.entries.create(release=release, rank=2)
    data_version_refresh()
    assert b"Fresh Artist" not in cached.content
    assert b"Fresh Artist" in client.get("/", headers=headers).content


def test_the_htmx_partial_and_the_page_are_cached_apart(client, synced):
    page = client.get("/?q=bj")
    partial = client.get("/?q=bj", headers={"HX-Request": "true"})
    assert b"<html" in page.content
    assert b"<html" not in partial.content
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/?q=bj").content == page.content
        assert client.get("/?q=bj", headers={"HX-Request": "true"}).content == partial.content
    assert len(queries) == 0


def test_the_feed_and_artist_pages_are_served_from_the_cache(client, synced):
    # Uncached: the data version (and the page state), then the feed's releases and their
    # credits; the artist, its releases, and the "New" badge's moment.
    for path, most_queries in (("/feeds/releases.atom", 3), (_artist_page(synced), 9)):
        with CaptureQueriesContext(connection) as uncached:
            first = client.get(path)
        assert 0 < len(uncached) <= most_queries
        with CaptureQueriesContext(connection) as queries:
            cached = client.get(path)
            not_modified = client.get(path, headers={"If-None-Match": first["ETag"]})
        assert cached.content == first.content
        assert not_modified.status_code == 304
        assert len(queries) == 0


def _spy_on_session_auth_and_csrf(monkeypatch) -> list[str]:
    ran: list[str] = []
    for middleware in (SessionMiddleware, AuthenticationMiddleware, CsrfViewMiddleware):
        original = middleware.process_request

        def spy(self, request, original=original, name=middleware.__name__):
            ran.append(name)
            return original(self, request)

        monkeypatch.setattr(middleware, "process_request", spy)
    return ran


@pytest.mark.parametrize("path", CATALOG_PAGES)
def test_a_cached_answer_skips_session_auth_and_csrf_and_keeps_the_security_headers(
    client, synced, path, monkeypatch
):
    uncached = client.get(path)
    ran = _spy_on_session_auth_and_csrf(monkeypatch)
    cached = client.get(path)
    assert uncached.status_code == cached.status_code == 200
    assert ran == []
    for header in SECURITY_HEADERS:
        assert cached.get(header) == uncached.get(header), header
    assert cached["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in cached


@pytest.mark.parametrize(
    "path", ["/api/artists/", "/api/releases/", "/api/snapshots/", "/api/artists/?q=%C3%B8"]
)
def test_an_uncached_api_read_skips_session_auth_and_csrf_too(
    client, synced, path, settings, monkeypatch
):
    settings.API_RESPONSE_CACHE = False
    ran = _spy_on_session_auth_and_csrf(monkeypatch)

    response = client.get(path)

    assert response.status_code == 200
    assert ran == []
    assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" in response
    assert response["ETag"]


def test_other_api_routes_and_pages_still_run_session_auth_and_csrf(
    client, synced, settings, monkeypatch
):
    settings.API_RESPONSE_CACHE = False
    ran = _spy_on_session_auth_and_csrf(monkeypatch)

    everything = {"SessionMiddleware", "AuthenticationMiddleware", "CsrfViewMiddleware"}
    assert client.get("/api/me/artists/").status_code == 401
    assert set(ran) == everything
    ran.clear()
    assert client.get("/").status_code == 200
    assert set(ran) == everything


@pytest.mark.parametrize("cache_on", [True, False], ids=["cache", "no-cache"])
@pytest.mark.parametrize("path", [*CATALOG_PAGES, "/api/artists/?limit=-1"])
def test_catalog_answers_are_never_sent_chunked(client, synced, settings, path, cache_on):
    settings.API_RESPONSE_CACHE = cache_on
    for _ in range(2):  # stored, then from the cache
        response = client.get(path)
        assert int(response["Content-Length"]) == len(response.content)


def test_staff_and_anonymous_pages_never_leak_into_each_other(client, synced):
    staff = Client()
    staff.force_login(get_user_model().objects.create_user("staff", password="pw", is_staff=True))
    token = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
    staff_html = staff.get("/").content.decode()
    assert "Refresh now" in staff_html

    for expected_queries in (True, False):  # uncached, then from the cache
        with CaptureQueriesContext(connection) as queries:
            html = client.get("/").content.decode()
        assert bool(queries.captured_queries) is expected_queries
        assert "Refresh now" not in html
        assert "Signed in as" not in html
        assert "csrf" not in html.lower()

    again = staff.get("/").content.decode()
    assert "Refresh now" in again
    assert "Signed in as" in again
    # Django masks the token anew for every render: a stored page would repeat it.
    assert token.findall(again)
    assert token.findall(again) != token.findall(staff_html)


def test_a_signed_in_page_reuses_the_cached_artist_list_and_renders_its_own_parts(
    staff_client, synced, monkeypatch
):
    staff_client.get("/?q=bj")
    grids: list[object] = []

    def artist_grid(**kwargs: object) -> None:
        grids.append(kwargs)

    monkeypatch.setattr("catalog.views.artist_grid", artist_grid)
    html = staff_client.get("/?q=bj").content.decode()
    assert grids == []  # the list came from the cache
    assert "Björk" in html
    assert "Refresh now" in html

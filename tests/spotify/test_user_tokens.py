import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import time_machine
from django.db import connection as db_connection
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import SyncRun
from catalog.services import sync_run_execute
from spotify.client import accounts_client, site_client
from spotify.errors import SpotifyAuthError
from spotify.models import SpotifyConnection
from spotify.services import connection_connect
from spotify.tokens import SiteTokenSource, UserTokenSource
from tests.conftest import API, artists_route, new_release_pages, release_items
from tests.spotify.oauth_support import ME, bearer, seed_connection


def _stored() -> SpotifyConnection:
    return SpotifyConnection.objects.get()


def _sync() -> SyncRun:
    run = sync_run_execute(trigger=SyncRun.Trigger.SCHEDULE)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


@pytest.fixture
def catalog_routes(spotify_mock):
    items = release_items(3)
    artists_route(spotify_mock, items)
    return new_release_pages(spotify_mock, items)


# --- when to refresh -------------------------------------------------------------------------


@pytest.mark.django_db
def test_no_refresh_while_more_than_a_minute_is_left(accounts, me):
    seeded = seed_connection(accounts, seconds_left=61)

    client = site_client()
    client.me()
    client.me()
    site_client().me()

    assert accounts.grants == []
    assert [bearer(call) for call in me.calls] == [seeded.access_token] * 3


@pytest.mark.django_db
def test_refresh_once_when_less_than_a_minute_is_left(accounts, me):
    seeded = seed_connection(accounts, seconds_left=59)
    before = timezone.now()

    client = site_client()
    client.me()
    client.me()

    assert accounts.grants == ["refresh_token"]
    assert accounts.forms[0]["refresh_token"] == seeded.refresh_token
    fresh = accounts.user_access_tokens[-1]
    assert [bearer(call) for call in me.calls] == [fresh, fresh]
    stored = _stored()
    assert stored.access_token == fresh
    assert stored.expires_at is not None
    assert stored.expires_at >= before + timedelta(seconds=3600)
    assert stored.refreshed_at is not None


@pytest.mark.django_db
def test_an_expired_token_is_refreshed(accounts, me):
    seed_connection(accounts, seconds_left=-600)
    site_client().me()
    assert accounts.grants == ["refresh_token"]
    assert bearer(me.calls[0]) == accounts.user_access_tokens[-1]


@pytest.mark.django_db
def test_a_401_leads_to_exactly_one_refresh_and_one_retry(spotify_mock, accounts):
    seeded = seed_connection(accounts, seconds_left=3000)
    answers = iter(
        [
            httpx.Response(401, json={"error": {"status": 401, "message": "Invalid token"}}),
            httpx.Response(200, json=ME),
        ]
    )
    me = spotify_mock.get(f"{API}/me").mock(side_effect=lambda request: next(answers))

    assert site_client().me().id == ME["id"]

    assert accounts.grants == ["refresh_token"]
    assert [bearer(call) for call in me.calls] == [
        seeded.access_token,
        accounts.user_access_tokens[-1],
    ]
    assert _stored().access_token == accounts.user_access_tokens[-1]


@pytest.mark.django_db
def test_a_second_401_is_an_error_not_a_loop(spotify_mock, accounts):
    seed_connection(accounts, seconds_left=3000)
    me = spotify_mock.get(f"{API}/me").respond(
        401, json={"error": {"status": 401, "message": "Invalid token"}}
    )

    with pytest.raises(SpotifyAuthError):
        site_client().me()

    assert accounts.grants == ["refresh_token"]
    assert me.call_count == 2


# --- rotation --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_rotated_refresh_token_is_stored_and_used_next_time(accounts, me):
    seeded = seed_connection(accounts, seconds_left=0)
    accounts.rotate_refresh_tokens = True

    site_client().me()
    rotated = accounts.refresh_tokens[-1]
    assert rotated != seeded.refresh_token
    assert _stored().refresh_token == rotated

    SpotifyConnection.objects.update(expires_at=timezone.now())
    site_client().me()
    assert [form["refresh_token"] for form in accounts.forms] == [seeded.refresh_token, rotated]


@pytest.mark.django_db
def test_without_a_rotated_refresh_token_the_old_one_is_kept(accounts, me):
    seeded = seed_connection(accounts, seconds_left=0)

    site_client().me()
    assert _stored().refresh_token == seeded.refresh_token

    SpotifyConnection.objects.update(expires_at=timezone.now())
    site_client().me()
    assert [form["refresh_token"] for form in accounts.forms] == [seeded.refresh_token] * 2
    assert accounts.count("refresh_token") == 2


# --- invalid_grant ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_invalid_grant_marks_the_connection_and_falls_back_to_the_app_token(
    accounts, catalog_routes
):
    seed_connection(accounts, seconds_left=30)
    accounts.refresh_tokens_revoked = True

    for _ in range(3):
        _sync()

    # One refresh attempt in all, never retried; one app token, reused by every sync.
    assert accounts.count("refresh_token") == 1
    assert accounts.count("client_credentials") == 1
    assert {bearer(call) for call in catalog_routes.calls} == {accounts.app_access_tokens[0]}
    stored = _stored()
    assert stored.needs_reconnect
    assert "invalid_grant" in stored.reconnect_reason
    assert stored.access_token == ""
    assert stored.refresh_token == ""
    assert stored.account_id == ME["id"]


@pytest.mark.django_db
def test_invalid_grant_after_a_401_retries_once_with_the_app_token(spotify_mock, accounts):
    seeded = seed_connection(accounts, seconds_left=3000)
    accounts.refresh_tokens_revoked = True

    def releases(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == f"Bearer {seeded.access_token}":
            return httpx.Response(401, json={"error": {"status": 401, "message": "Revoked"}})
        return httpx.Response(
            200, json={"albums": {"items": [], "next": None, "limit": 50, "offset": 0}}
        )

    route = spotify_mock.get(f"{API}/browse/new-releases").mock(side_effect=releases)
    client = site_client()
    assert next(iter(client.new_releases())).items == []

    assert [bearer(call) for call in route.calls] == [
        seeded.access_token,
        accounts.app_access_tokens[0],
    ]
    assert isinstance(client.tokens, SiteTokenSource)
    assert client.tokens.mode == "app"
    assert accounts.grants == ["refresh_token", "client_credentials"]
    assert _stored().needs_reconnect


@pytest.mark.django_db
def test_a_connection_that_needs_reconnecting_is_never_refreshed(accounts, me):
    seed_connection(accounts, seconds_left=0)
    SpotifyConnection.objects.update(needs_reconnect=True)

    assert UserTokenSource(accounts_client()).access_token() is None
    assert accounts.grants == []


# --- the sync on the user's token ------------------------------------------------------------


@pytest.mark.django_db
def test_the_sync_runs_on_the_user_token(accounts, me, catalog_routes):
    seeded = seed_connection(accounts, seconds_left=3000)

    _sync()

    assert accounts.grants == []
    assert {bearer(call) for call in catalog_routes.calls} == {seeded.access_token}


@pytest.mark.django_db
def test_without_a_connection_the_sync_runs_on_the_app_token(accounts, catalog_routes):
    _sync()
    _sync()
    assert accounts.grants == ["client_credentials"]
    assert {bearer(call) for call in catalog_routes.calls} == {accounts.app_access_tokens[0]}


@pytest.mark.django_db
def test_without_a_connection_a_unit_of_work_looks_for_one_once(accounts):
    tokens = SiteTokenSource(accounts_client())
    with CaptureQueriesContext(db_connection) as queries:
        for _ in range(5):
            tokens.access_token()
    looked_up = [q for q in queries if 'FROM "spotify_spotifyconnection"' in q["sql"]]
    assert len(looked_up) == 1
    assert tokens.mode == "app"


@pytest.mark.django_db
def test_a_connection_made_during_a_unit_of_work_is_used_by_the_next(accounts, me):
    before = SiteTokenSource(accounts_client())
    before.access_token()
    seeded = seed_connection(accounts, seconds_left=3000)

    assert before.access_token() != seeded.access_token
    assert SiteTokenSource(accounts_client()).access_token() == seeded.access_token


@pytest.mark.django_db
def test_hourly_syncs_for_a_day_make_one_token_call_per_token_lifetime(
    accounts, me, catalog_routes
):
    connected_at = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    with time_machine.travel(connected_at, tick=False) as clock:
        connection_connect(**accounts.issue_pkce_code())
        for _ in range(24):
            clock.shift(timedelta(hours=1))
            _sync()

    # Each sync finds the previous token exactly expired: one refresh per sync, one per lifetime,
    # and the code exchange started the first lifetime.
    assert accounts.count("refresh_token") == 24
    assert accounts.grants == ["authorization_code"] + ["refresh_token"] * 24
    # Every page of sync n was read with the token refreshed at its start.
    pages_per_sync = len(catalog_routes.calls) // 24
    used = [bearer(call) for call in catalog_routes.calls][::pages_per_sync]
    assert used == accounts.user_access_tokens[1:]


@pytest.mark.django_db
def test_syncs_every_ten_minutes_within_one_lifetime_reuse_one_token(accounts, me, catalog_routes):
    with time_machine.travel(datetime(2026, 3, 1, 8, 0, tzinfo=UTC), tick=False) as clock:
        connection_connect(**accounts.issue_pkce_code())
        for _ in range(6):
            _sync()
            clock.shift(timedelta(minutes=10))

    # The last sync ran at 50 min, with 10 min left: no refresh at all.
    assert accounts.grants == ["authorization_code"]
    assert {bearer(call) for call in catalog_routes.calls} == {accounts.user_access_tokens[0]}


# --- encryption at rest ----------------------------------------------------------------------


@pytest.mark.django_db
def test_user_tokens_are_encrypted_at_rest(accounts):
    seeded = seed_connection(accounts, seconds_left=3000)
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT * FROM spotify_spotifyconnection")
        raw = " ".join(str(value) for value in cursor.fetchone())
        cursor.execute("SELECT access_token, refresh_token FROM spotify_spotifyconnection")
        access, refresh = cursor.fetchone()
    assert seeded.access_token not in raw
    assert seeded.refresh_token not in raw
    assert access.startswith("gAAAA")
    assert refresh.startswith("gAAAA")
    assert _stored().refresh_token == seeded.refresh_token


# --- single flight ---------------------------------------------------------------------------


def _in_threads(count: int, work) -> list[object]:
    """Runs `work` in `count` real threads released together; returns results, raises errors."""
    results: list[object] = []
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def worker() -> None:
        try:
            start.wait()
            results.append(work())
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(results) == count
    return results


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_syncs_make_exactly_one_refresh_call(accounts, catalog_routes):
    seed_connection(accounts, seconds_left=10)
    accounts.refresh_delay_seconds = 0.3  # the first refresher holds the lock while the other waits

    # Two units of work as the sync does them (the sync's own advisory lock would skip one).
    _in_threads(2, lambda: len(list(site_client().new_releases())))

    assert accounts.grants == ["refresh_token"]
    assert {bearer(call) for call in catalog_routes.calls} == {accounts.user_access_tokens[-1]}
    assert _stored().access_token == accounts.user_access_tokens[-1]


@pytest.mark.django_db(transaction=True)
def test_many_concurrent_callers_share_one_refresh(accounts):
    seed_connection(accounts, seconds_left=0)
    accounts.refresh_delay_seconds = 0.3

    tokens = _in_threads(6, lambda: UserTokenSource(accounts_client()).access_token())

    assert accounts.grants == ["refresh_token"]
    assert tokens == [accounts.user_access_tokens[-1]] * 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_401s_on_the_same_token_make_one_refresh(spotify_mock, accounts):
    seeded = seed_connection(accounts, seconds_left=3000)
    accounts.refresh_delay_seconds = 0.3

    def me(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == f"Bearer {seeded.access_token}":
            return httpx.Response(401, json={"error": {"status": 401, "message": "Revoked"}})
        return httpx.Response(200, json=ME)

    route = spotify_mock.get(f"{API}/me").mock(side_effect=me)

    _in_threads(2, lambda: site_client().me().id)

    assert accounts.grants == ["refresh_token"]
    assert sorted(bearer(call) for call in route.calls) == sorted(
        [seeded.access_token] * 2 + [accounts.user_access_tokens[-1]] * 2
    )

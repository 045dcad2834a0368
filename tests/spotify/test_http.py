from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import time_machine
from django.utils.http import http_date

from spotify.client import site_client
from spotify.conf import spotify_settings
from spotify.errors import (
    ForbiddenEndpointError,
    ForeignHostError,
    InvalidClientError,
    RateLimitedError,
    UnavailableError,
)
from spotify.http import SpotifyHttp, process_client
from tests.conftest import ACCOUNTS, API, load_fixture, token_route

pytestmark = pytest.mark.django_db

ARTIST_URL = f"{API}/artists/0TnOYISbd1XYRBk9myaseg"


def test_429_within_the_maximum_waits_retry_after_then_succeeds(spotify_mock, sleeps):
    token_route(spotify_mock)
    spotify_mock.get(ARTIST_URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}, json=load_fixture("rate_limit.json")),
            httpx.Response(200, json=load_fixture("artist.json")),
        ]
    )
    artist = site_client().artist("0TnOYISbd1XYRBk9myaseg")
    assert artist.name == "Pitbull"
    assert sleeps == [2]


def test_429_beyond_the_maximum_fails_at_once_and_says_when(spotify_mock, sleeps, settings):
    settings.SPOTIFY_MAX_RETRY_AFTER_SECONDS = 60
    token_route(spotify_mock)
    route = spotify_mock.get(ARTIST_URL).respond(
        429, headers={"Retry-After": "7200"}, json=load_fixture("rate_limit.json")
    )
    with pytest.raises(RateLimitedError, match=r"7200 s: retry after \d{4}-\d\d-\d\d") as caught:
        site_client().artist("0TnOYISbd1XYRBk9myaseg")
    assert caught.value.retry_after_seconds == 7200
    assert route.call_count == 1
    assert sleeps == []


def test_5xx_is_retried_with_exponential_backoff_then_succeeds(spotify_mock, sleeps, settings):
    settings.SPOTIFY_BACKOFF_SECONDS = 0.5
    token_route(spotify_mock)
    spotify_mock.get(ARTIST_URL).mock(
        side_effect=[
            httpx.Response(502),
            httpx.Response(503),
            httpx.Response(200, json=load_fixture("artist.json")),
        ]
    )
    assert site_client().artist("0TnOYISbd1XYRBk9myaseg").name == "Pitbull"
    assert sleeps == [0.5, 1.0]


def test_persistent_5xx_gives_up_after_three_tries(spotify_mock, sleeps):
    token_route(spotify_mock)
    route = spotify_mock.get(ARTIST_URL).respond(500)
    with pytest.raises(UnavailableError, match="500 3 times"):
        site_client().artist("0TnOYISbd1XYRBk9myaseg")
    assert route.call_count == 3


def test_transport_errors_and_timeouts_are_retried(spotify_mock, sleeps):
    token_route(spotify_mock)
    spotify_mock.get(ARTIST_URL).mock(
        side_effect=[
            httpx.ReadTimeout("slow"),
            httpx.ConnectError("refused"),
            httpx.Response(200, json=load_fixture("artist.json")),
        ]
    )
    assert site_client().artist("0TnOYISbd1XYRBk9myaseg").name == "Pitbull"
    assert len(sleeps) == 2


def test_timeouts_that_persist_become_unavailable(spotify_mock, sleeps):
    token_route(spotify_mock)
    spotify_mock.get(ARTIST_URL).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(UnavailableError, match="ReadTimeout"):
        site_client().artist("0TnOYISbd1XYRBk9myaseg")


def test_401_on_a_believed_valid_token_renews_it_once_and_retries(spotify_mock, sleeps):
    tokens = spotify_mock.post(f"{ACCOUNTS}/api/token").mock(
        side_effect=[
            httpx.Response(200, json={"access_token": "first", "expires_in": 3600}),
            httpx.Response(200, json={"access_token": "second", "expires_in": 3600}),
        ]
    )
    seen: list[str] = []

    def artist(request):
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer first":
            return httpx.Response(401, json={"error": {"status": 401, "message": "expired"}})
        return httpx.Response(200, json=load_fixture("artist.json"))

    spotify_mock.get(ARTIST_URL).mock(side_effect=artist)
    assert site_client().artist("0TnOYISbd1XYRBk9myaseg").name == "Pitbull"
    assert seen == ["Bearer first", "Bearer second"]
    assert tokens.call_count == 2


def test_forbidden_endpoint_is_its_own_error(spotify_mock):
    token_route(spotify_mock)
    spotify_mock.get(f"{API}/browse/new-releases").respond(
        403, json={"error": {"status": 403, "message": "Forbidden"}}
    )
    with pytest.raises(ForbiddenEndpointError, match="Development Mode"):
        next(site_client().new_releases())


def test_bad_client_credentials_say_what_to_check(spotify_mock):
    spotify_mock.post(f"{ACCOUNTS}/api/token").respond(
        400, json=load_fixture("auth-invalid-client.json")
    )
    with pytest.raises(
        InvalidClientError, match="check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET"
    ):
        site_client().artist("0TnOYISbd1XYRBk9myaseg")


def test_token_request_uses_basic_auth_and_a_form_body(spotify_mock):
    route = token_route(spotify_mock)
    spotify_mock.get(ARTIST_URL).respond(200, json=load_fixture("artist.json"))
    site_client().artist("0TnOYISbd1XYRBk9myaseg")
    request = route.calls.last.request
    assert (
        request.headers["Authorization"]
        == httpx.BasicAuth("test-client-id", "test-client-secret")._auth_header
    )
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content == b"grant_type=client_credentials"


def test_market_is_sent_only_when_given(spotify_mock):
    token_route(spotify_mock)
    route = spotify_mock.get(f"{API}/browse/new-releases").respond(
        200, json={"albums": {"items": [], "next": None, "total": 0}}
    )
    list(site_client().new_releases())
    assert "country" not in route.calls.last.request.url.params
    list(site_client().new_releases(market="SE"))
    assert route.calls.last.request.url.params["country"] == "SE"


# --- Retry-After (RFC 9110: delta-seconds or an HTTP date) -------------------------------------

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


def _rate_limited_then_ok(router, retry_after: str | bytes | None):
    token_route(router)
    headers: list[tuple[bytes, bytes]] = []
    if retry_after is not None:
        raw = retry_after if isinstance(retry_after, bytes) else retry_after.encode()
        headers.append((b"Retry-After", raw))
    return router.get(ARTIST_URL).mock(
        side_effect=[
            httpx.Response(429, headers=headers, json=load_fixture("rate_limit.json")),
            httpx.Response(200, json=load_fixture("artist.json")),
        ]
    )


@pytest.mark.parametrize(
    "date_form",
    [
        pytest.param(lambda when: http_date(when.timestamp()), id="IMF-fixdate"),
        pytest.param(lambda when: when.strftime("%A, %d-%b-%y %H:%M:%S GMT"), id="RFC-850"),
        pytest.param(lambda when: when.strftime("%a %b %e %H:%M:%S %Y"), id="asctime"),
    ],
)
@time_machine.travel(NOW, tick=False)
def test_retry_after_as_an_http_date_waits_until_then(spotify_mock, sleeps, date_form):
    _rate_limited_then_ok(spotify_mock, date_form(NOW + timedelta(seconds=7)))

    assert site_client().artist("0TnOYISbd1XYRBk9myaseg").name == "Pitbull"
    assert sleeps == [7]


@time_machine.travel(NOW, tick=False)
def test_retry_after_as_a_date_in_the_past_means_no_wait(spotify_mock, sleeps):
    _rate_limited_then_ok(spotify_mock, format_datetime(NOW - timedelta(hours=1), usegmt=True))

    assert site_client().artist("0TnOYISbd1XYRBk9myaseg").name == "Pitbull"
    assert sleeps == [0]


@time_machine.travel(NOW, tick=False)
def test_retry_after_as_a_date_beyond_the_maximum_fails_fast(spotify_mock, sleeps, settings):
    settings.SPOTIFY_MAX_RETRY_AFTER_SECONDS = 60
    token_route(spotify_mock)
    route = spotify_mock.get(ARTIST_URL).respond(
        429, headers={"Retry-After": http_date((NOW + timedelta(hours=2)).timestamp())}
    )

    with pytest.raises(RateLimitedError, match="7200 s") as caught:
        site_client().artist("0TnOYISbd1XYRBk9myaseg")
    assert caught.value.retry_at == NOW + timedelta(hours=2)
    assert route.call_count == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "retry_after",
    [None, "soon", "-5", "1.5", "\u00b2".encode(), "2, 3", "Wed, 31 Feb 2026 07:28:00 GMT"],
)
def test_a_missing_or_unreadable_retry_after_waits_the_default_backoff(
    spotify_mock, sleeps, settings, retry_after
):
    settings.SPOTIFY_BACKOFF_SECONDS = 0.25
    _rate_limited_then_ok(spotify_mock, retry_after)

    assert site_client().artist("0TnOYISbd1XYRBk9myaseg").name == "Pitbull"
    assert sleeps == [0.25]


def test_an_absurdly_long_retry_after_fails_fast_with_a_readable_date(spotify_mock, sleeps):
    token_route(spotify_mock)
    spotify_mock.get(ARTIST_URL).respond(429, headers={"Retry-After": "9" * 40})

    with pytest.raises(RateLimitedError, match=r"retry after \d{4}-"):
        site_client().artist("0TnOYISbd1XYRBk9myaseg")
    assert sleeps == []


# --- credentials go only to the configured hosts ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://api.spotify.com/v1/browse/new-releases",  # the real one, when a proxy is set
        "https://evil.example/v1/artists",
        "http://api.spotify.test/v1/artists",  # same host, other scheme
        "https://api.spotify.test:8443/v1/artists",  # same host, other port
        "https://api.spotify.test.evil.example/v1/artists",
        "not a url",
    ],
)
def test_only_the_configured_hosts_are_ever_sent_a_request(spotify_mock, url):
    api = spotify_mock.get(f"{API}/artists").respond(200, json={})
    accounts = spotify_mock.post(f"{ACCOUNTS}/api/token").respond(200, json={})
    anywhere = spotify_mock.route().respond(200, json={})
    conf = spotify_settings()
    http = SpotifyHttp(conf=conf, client=process_client(conf))

    with pytest.raises(ForeignHostError, match="only SPOTIFY_API_BASE_URL"):
        http.send("GET", url, endpoint="GET /x", headers={"Authorization": "Bearer secret"})
    http.send("GET", f"{API}/artists", endpoint="GET /artists")
    # Case and an explicit default port do not make a configured host foreign.
    http.send("POST", "HTTPS://Accounts.Spotify.Test:443/api/token", endpoint="POST /api/token")

    assert anywhere.call_count == 0
    assert (api.call_count, accounts.call_count) == (1, 1)

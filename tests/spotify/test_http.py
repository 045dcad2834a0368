import httpx
import pytest

from spotify.client import site_client
from spotify.errors import (
    ForbiddenEndpointError,
    InvalidClientError,
    RateLimitedError,
    UnavailableError,
)
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


def test_market_is_sent_only_when_configured(spotify_mock, settings):
    token_route(spotify_mock)
    route = spotify_mock.get(f"{API}/browse/new-releases").respond(
        200, json={"albums": {"items": [], "next": None, "total": 0}}
    )
    list(site_client().new_releases())
    assert "country" not in route.calls.last.request.url.params
    settings.SPOTIFY_MARKET = "SE"
    list(site_client().new_releases())
    assert route.calls.last.request.url.params["country"] == "SE"

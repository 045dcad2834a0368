import httpx
import pytest
from prometheus_client import REGISTRY

from spotify.client import site_client
from tests.conftest import API, load_fixture, token_route

pytestmark = pytest.mark.django_db

ARTIST_URL = f"{API}/artists/0TnOYISbd1XYRBk9myaseg"
ENDPOINT = "GET /artists/{id}"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_calls_429s_and_retry_after_waits_are_counted(spotify_mock, sleeps):
    token_route(spotify_mock)
    spotify_mock.get(ARTIST_URL).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "2"}, json=load_fixture("rate_limit.json")),
            httpx.Response(503),
            httpx.Response(200, json=load_fixture("artist.json")),
        ]
    )
    before = {
        "429": sample("snr_spotify_calls_total", endpoint=ENDPOINT, status="429"),
        "503": sample("snr_spotify_calls_total", endpoint=ENDPOINT, status="503"),
        "200": sample("snr_spotify_calls_total", endpoint=ENDPOINT, status="200"),
        "limited": sample("snr_spotify_rate_limited_total", endpoint=ENDPOINT),
        "waited": sample("snr_spotify_retry_after_wait_seconds_total"),
    }

    site_client().artist("0TnOYISbd1XYRBk9myaseg")

    assert sample("snr_spotify_calls_total", endpoint=ENDPOINT, status="429") == before["429"] + 1
    assert sample("snr_spotify_calls_total", endpoint=ENDPOINT, status="503") == before["503"] + 1
    assert sample("snr_spotify_calls_total", endpoint=ENDPOINT, status="200") == before["200"] + 1
    assert sample("snr_spotify_rate_limited_total", endpoint=ENDPOINT) == before["limited"] + 1
    assert sample("snr_spotify_retry_after_wait_seconds_total") == before["waited"] + 2


def test_a_call_that_gets_no_answer_is_counted_as_an_error(spotify_mock, sleeps, settings):
    settings.SPOTIFY_RETRY_ATTEMPTS = 2
    token_route(spotify_mock)
    spotify_mock.get(ARTIST_URL).mock(side_effect=httpx.ConnectError("refused"))
    before = sample("snr_spotify_calls_total", endpoint=ENDPOINT, status="error")

    with pytest.raises(Exception, match="did not answer"):
        site_client().artist("0TnOYISbd1XYRBk9myaseg")

    assert sample("snr_spotify_calls_total", endpoint=ENDPOINT, status="error") == before + 2

"""Spotify's bad days, end to end: each fault is switched on in the fake served over HTTP, a real
sync runs against it, and the API must keep serving the last good snapshot."""

import json
from typing import Any

import pytest

from catalog.models import Release, Snapshot, SyncRun
from catalog.services import sync_run_execute
from spotify.fake import FakeSpotify
from spotify.fake.server import serve_in_thread
from spotify.fake.wsgi import Request, Response
from tests.e2e.conftest import RELEASE_COUNT, FakeServer, point_settings_at

pytestmark = pytest.mark.django_db

NEW_RELEASES = "GET /v1/browse/new-releases"


def sync() -> SyncRun:
    return sync_run_execute(trigger=SyncRun.Trigger.CLI)


def api_artists(client: Any) -> dict[str, Any]:
    response = client.get("/api/artists/?limit=200")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def test_a_429_with_retry_after_2_waits_and_succeeds(fake_spotify: FakeServer):
    fake_spotify.configure(
        rate_limit_requests=1, retry_after_seconds=2, fault_paths=["/v1/browse/new-releases"]
    )

    run = sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.release_count == RELEASE_COUNT
    # The refused request and its retry: one page of 40, asked twice.
    assert fake_spotify.calls(NEW_RELEASES) == 2


def test_a_retry_after_above_the_maximum_fails_fast_and_says_when(
    fake_spotify: FakeServer, settings: Any
):
    settings.SPOTIFY_MAX_RETRY_AFTER_SECONDS = 5
    fake_spotify.configure(rate_limit_requests=1, retry_after_seconds=3600)

    run = sync()

    assert run.status == SyncRun.Status.FAILED
    assert "rate limiting us for 3600 s" in run.error
    assert "retry after 20" in run.error  # a date: "retry after 2026-... UTC"
    assert fake_spotify.calls(NEW_RELEASES) == 1  # no waiting, no second try
    # The schedule goes on: the next run, once Spotify lets us in again, succeeds.
    assert sync().status == SyncRun.Status.SUCCEEDED


@pytest.mark.parametrize("status", [502, 503])
def test_a_burst_of_5xx_is_retried_with_backoff_and_succeeds(fake_spotify: FakeServer, status: int):
    fake_spotify.configure(error_burst=2, error_status=status)

    run = sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.release_count == RELEASE_COUNT
    assert fake_spotify.calls(NEW_RELEASES) == 3


def test_a_persistent_500_fails_clearly_and_the_api_serves_the_previous_snapshot(
    fake_spotify: FakeServer, client: Any
):
    good = sync()
    assert good.status == SyncRun.Status.SUCCEEDED, good.error
    before = api_artists(client)
    fake_spotify.configure(persistent_error_status=500)

    run = sync()

    assert run.status == SyncRun.Status.FAILED
    assert "HTTP 500 3 times in a row" in run.error
    after = api_artists(client)
    assert after == before
    assert good.snapshot is not None
    assert after["snapshot"]["date"] == str(good.snapshot.date)
    assert after["count"] == good.artist_count > 0


def test_a_slow_answer_beyond_the_timeout_is_handled_like_a_5xx(
    fake_spotify: FakeServer, settings: Any, client: Any
):
    assert sync().status == SyncRun.Status.SUCCEEDED
    before = api_artists(client)
    settings.SPOTIFY_TIMEOUT_SECONDS = 0.2
    fake_spotify.configure(slow_seconds=1.0, fault_paths=["/v1/browse/new-releases"])

    run = sync()

    assert run.status == SyncRun.Status.FAILED
    assert "did not answer GET /browse/new-releases after 3 tries (ReadTimeout)" in run.error
    assert fake_spotify.calls(NEW_RELEASES) == 1 + 3
    assert api_artists(client) == before


def test_malformed_json_fails_the_run_with_a_clear_message_and_the_api_keeps_working(
    fake_spotify: FakeServer, client: Any
):
    assert sync().status == SyncRun.Status.SUCCEEDED
    before = api_artists(client)
    fake_spotify.configure(malformed_json=True)

    run = sync()

    assert run.status == SyncRun.Status.FAILED
    assert "Spotify answered GET /browse/new-releases with malformed JSON" in run.error
    assert api_artists(client) == before


class WrongShapeFake(FakeSpotify):
    """Answers new releases with valid JSON of the wrong shape, as an API change would."""

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        if request.path == "/v1/browse/new-releases" and response.status == 200:
            body = json.loads(response.body)
            body["albums"]["items"][0]["artists"] = "Various"
            response.body = json.dumps(body).encode()
        return response


def test_an_unexpected_shape_fails_the_run_with_a_clear_message(settings: Any, client: Any):
    with serve_in_thread(WrongShapeFake()) as root:
        point_settings_at(settings, root)

        run = sync()

    assert run.status == SyncRun.Status.FAILED
    assert run.error.startswith("Spotify sent a new releases page of an unexpected shape")
    assert Release.objects.count() == 0
    assert not Snapshot.objects.exists()
    body = api_artists(client)
    assert body == {"snapshot": None, "count": 0, "items": []}

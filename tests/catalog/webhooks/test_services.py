import base64
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from standardwebhooks import Webhook, WebhookVerificationError

from catalog.models import SyncRun, WebhookDelivery, WebhookEndpoint, webhook_secret_default
from catalog.schemas import ReleaseSummaryOut
from catalog.services import sync_run_execute
from catalog.webhooks.services import (
    ATTEMPT_TASK,
    webhook_deliveries_create,
    webhook_deliveries_recover_stale,
    webhook_signature,
)
from catalog.webhooks.tasks import webhook_delivery_attempt
from tests.catalog.webhooks.support import deliver, endpoint_create, releases_create, worker_run
from tests.conftest import artists_route, new_release_pages, release_items, token_route
from tests.factories import ArtistFactory

pytestmark = pytest.mark.django_db


def _spotify(spotify_mock: Any, items: list[dict[str, Any]]) -> None:
    token_route(spotify_mock)
    new_release_pages(spotify_mock, items)
    artists_route(spotify_mock, items)
    spotify_mock.route(host="127.0.0.1").pass_through()


def test_a_sync_with_new_releases_posts_them_signed_after_it_commits(
    spotify_mock, receiver, django_capture_on_commit_callbacks
):
    endpoint_create(receiver)
    items = release_items(3)
    _spotify(spotify_mock, items)

    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert receiver.requests == []  # queued, not sent by the sync
    assert worker_run() == 1
    [received] = receiver.requests
    assert received.signature_valid
    delivery = WebhookDelivery.objects.get()
    assert received.headers["webhook-id"] == str(delivery.delivery_id)
    assert received.headers["webhook-timestamp"].isdigit()
    assert received.headers["Content-Type"] == "application/json"
    payload = received.payload
    assert payload["event"] == "releases.new"
    assert payload["sync_run_id"] == run.pk
    assert payload["count"] == 3
    assert {release["id"] for release in payload["releases"]} == {item["id"] for item in items}
    first = next(r for r in payload["releases"] if r["id"] == items[0]["id"])
    assert set(first) == set(ReleaseSummaryOut.model_fields)  # the API's release shape
    assert first["name"] == items[0]["name"]
    assert [artist["id"] for artist in first["artists"]] == [
        artist["id"] for artist in items[0]["artists"]
    ]
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.response_status == 204
    assert delivery.duration_ms is not None
    assert delivery.sync_run == run


def test_a_sync_with_nothing_new_sends_nothing(
    spotify_mock, receiver, django_capture_on_commit_callbacks
):
    endpoint_create(receiver)
    _spotify(spotify_mock, release_items(3))
    with django_capture_on_commit_callbacks(execute=True):
        sync_run_execute(trigger=SyncRun.Trigger.CLI)
    worker_run()
    assert len(receiver.requests) == 1

    with django_capture_on_commit_callbacks(execute=True):
        again = sync_run_execute(trigger=SyncRun.Trigger.CLI)

    assert again.status == SyncRun.Status.SUCCEEDED
    assert again.new_release_count == 0
    assert OrmQ.objects.count() == 0
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.count() == 1


def test_only_the_releases_new_to_this_sync_are_sent(
    spotify_mock, receiver, django_capture_on_commit_callbacks
):
    endpoint_create(receiver)
    items = release_items(5)
    served = items[:3]
    _spotify(spotify_mock, served)
    with django_capture_on_commit_callbacks(execute=True):
        sync_run_execute(trigger=SyncRun.Trigger.CLI)
    worker_run()

    served.extend(items[3:])
    with django_capture_on_commit_callbacks(execute=True):
        second = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    worker_run()

    assert second.new_release_count == 2
    assert len(receiver.requests) == 2
    assert {r["id"] for r in receiver.requests[-1].payload["releases"]} == {
        item["id"] for item in items[3:]
    }


def test_a_slow_receiver_never_delays_the_sync(
    spotify_mock, receiver, django_capture_on_commit_callbacks
):
    endpoint_create(receiver)
    _spotify(spotify_mock, release_items(2))
    receiver.gate.clear()  # the receiver holds every request until released

    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert receiver.requests == []
    assert OrmQ.objects.count() == 1
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.PENDING

    receiver.gate.set()
    worker_run()
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED


def test_a_failed_sync_sends_nothing(spotify_mock, receiver, django_capture_on_commit_callbacks):
    endpoint_create(receiver)
    token_route(spotify_mock)
    spotify_mock.get("https://api.spotify.test/v1/browse/new-releases").respond(400, json={})
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    assert run.status == SyncRun.Status.FAILED
    assert OrmQ.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0


def test_filters_pick_the_releases_each_endpoint_receives(receiver):
    wanted_artist = ArtistFactory.create(spotify_id="4gzpq5DPGxSnKTe4SA8HAU")
    albums = releases_create(2, album_type="album")
    singles = releases_create(2, album_type="single")
    by_artist = releases_create(1, album_type="compilation", artist=wanted_artist)
    only_singles = endpoint_create(receiver, album_types=["single"])
    only_artist = endpoint_create(receiver, artist_ids=["4gzpq5DPGxSnKTe4SA8HAU"])
    both = endpoint_create(receiver, album_types=["album"], artist_ids=["4gzpq5DPGxSnKTe4SA8HAU"])
    everything = endpoint_create(receiver)

    deliveries = deliver(albums + singles + by_artist)

    by_endpoint = {d.endpoint_id: set(d.release_ids) for d in deliveries}
    assert by_endpoint[only_singles.pk] == {r.spotify_id for r in singles}
    assert by_endpoint[only_artist.pk] == {by_artist[0].spotify_id}
    assert both.pk not in by_endpoint  # no album by that artist: no POST at all
    assert by_endpoint[everything.pk] == {r.spotify_id for r in albums + singles + by_artist}
    assert len(receiver.requests) == 3
    assert all(received.signature_valid for received in receiver.requests)
    sent = sorted(len(received.payload["releases"]) for received in receiver.requests)
    assert sent == [1, 2, 5]


def test_inactive_endpoints_receive_nothing(receiver):
    endpoint_create(receiver, active=False)
    assert deliver(releases_create(1)) == []
    assert receiver.requests == []


def test_500s_are_retried_until_the_receiver_accepts(receiver):
    endpoint = endpoint_create(receiver, consecutive_failures=3)
    receiver.statuses = [500, 502, 503]

    [delivery] = deliver(releases_create(1))

    delivery.refresh_from_db()
    assert len(receiver.requests) == 4
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert all(r.signature_valid for r in receiver.requests)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 4
    assert delivery.last_error == ""
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_a_failed_attempt_schedules_the_next_one_instead_of_sleeping(
    receiver, settings, monkeypatch
):
    settings.WEBHOOK_BACKOFF_SECONDS = 1.5
    monkeypatch.setattr("time.sleep", _no_sleep)
    endpoint_create(receiver)
    receiver.statuses = [500] * 10
    [delivery] = webhook_deliveries_create(run=None, releases=releases_create(2))

    for attempt in range(1, 5):
        before = timezone.now()
        webhook_delivery_attempt(delivery.pk, attempt)
        after = timezone.now()
        assert len(receiver.requests) == attempt  # one POST per task, no waiting in between
        [retry] = Schedule.objects.all()
        assert retry.func == ATTEMPT_TASK
        assert retry.schedule_type == Schedule.ONCE
        assert retry.args == str((delivery.pk, attempt + 1))
        delivery.refresh_from_db()
        assert delivery.status == WebhookDelivery.Status.PENDING
        assert delivery.attempt_at == retry.next_run
        assert before <= retry.next_run - timedelta(seconds=1.5 * 2 ** (attempt - 1)) <= after
        retry.delete()
    webhook_delivery_attempt(delivery.pk, 5)

    delivery.refresh_from_db()
    assert not Schedule.objects.exists()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 5
    assert delivery.response_status == 500
    assert "HTTP 500" in delivery.last_error
    assert delivery.endpoint.consecutive_failures == 1


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"time.sleep({seconds}) in the worker")


def test_an_attempt_task_run_twice_posts_once(receiver):
    endpoint_create(receiver)
    receiver.statuses = [500]
    [delivery] = webhook_deliveries_create(run=None, releases=releases_create(1))
    webhook_delivery_attempt(delivery.pk, 1)
    webhook_delivery_attempt(delivery.pk, 1)  # django-q2 delivered the same task again
    assert len(receiver.requests) == 1
    worker_run()
    webhook_delivery_attempt(delivery.pk, 2)  # and a re-run after success
    assert len(receiver.requests) == 2
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


def test_an_unreachable_receiver_is_a_logged_failure(receiver):
    endpoint = endpoint_create(receiver, url="http://127.0.0.1:9/closed")
    [delivery] = deliver(releases_create(1))
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 5
    assert delivery.response_status is None
    assert "ConnectError" in delivery.last_error
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1


def test_ten_failed_deliveries_in_a_row_disable_the_endpoint(receiver, admin_client):
    endpoint = endpoint_create(receiver)
    receiver.statuses = [500] * 5 * 10

    for count in range(1, 10):
        deliver(releases_create(1))
        endpoint.refresh_from_db()
        assert endpoint.consecutive_failures == count
        assert endpoint.active
    deliver(releases_create(1))

    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_at is not None
    assert "10 failed deliveries in a row" in endpoint.disabled_reason
    assert len(receiver.requests) == 50
    assert deliver(releases_create(1)) == []  # disabled: nothing more is queued
    page = admin_client.get("/admin/catalog/webhookendpoint/").content.decode()
    assert "10 failed deliveries in a row" in page


def test_a_success_resets_the_count_of_failures_in_a_row(receiver):
    endpoint = endpoint_create(receiver)
    receiver.statuses = [500] * 5
    deliver(releases_create(1))
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1
    deliver(releases_create(1))
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_a_delivery_queued_before_the_endpoint_was_disabled_is_not_sent(receiver):
    endpoint = endpoint_create(receiver)
    [delivery] = webhook_deliveries_create(run=None, releases=releases_create(1))
    endpoint.active = False
    endpoint.save()
    webhook_delivery_attempt(delivery.pk, 1)
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 0


def test_the_url_is_checked_again_at_send_time(receiver, settings):
    endpoint_create(receiver)
    settings.WEBHOOKS_ALLOW_PRIVATE = False

    [delivery] = deliver(releases_create(1))

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "public hosts" in delivery.last_error


# --- Standard Webhooks signature (item 6) ---------------------------------------------------


def test_deliveries_carry_a_standard_webhooks_signature_over_id_timestamp_and_body(receiver):
    endpoint = endpoint_create(receiver)

    deliver(releases_create(2))

    [received] = receiver.requests
    headers = received.headers
    assert headers["webhook-signature"].startswith("v1,")
    assert "X-Signature-256" not in headers
    # Verified by the standardwebhooks package, as a receiver would.
    assert Webhook(endpoint.secret).verify(received.body, headers)["count"] == 2
    # The timestamp is signed: a replay with a fresh timestamp does not verify.
    replayed = headers | {"webhook-timestamp": str(int(headers["webhook-timestamp"]) + 60)}
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(received.body, replayed)


def test_secrets_are_generated_in_standard_form_and_stored_encrypted(receiver):
    endpoint = endpoint_create(receiver)
    other = endpoint_create(receiver)

    assert endpoint.secret.startswith("whsec_")
    assert len(base64.b64decode(endpoint.secret.removeprefix("whsec_"))) >= 24
    assert endpoint.secret != other.secret
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM catalog_webhookendpoint WHERE id = %s", [endpoint.pk])
        [(stored,)] = cursor.fetchall()
    assert endpoint.secret not in stored
    assert endpoint.secret.removeprefix("whsec_") not in stored


# --- Deliveries a killed worker left pending (item 5) --------------------------------------


def _killed_mid_attempt(delivery: WebhookDelivery, *, attempts: int, ago: timedelta) -> None:
    """What a worker killed during an attempt leaves: the attempt claimed, nothing recorded."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts, attempt_at=timezone.now() - ago
    )


def test_a_delivery_left_pending_by_a_killed_worker_is_retried(receiver):
    endpoint_create(receiver)
    [stale] = webhook_deliveries_create(run=None, releases=releases_create(1))
    _killed_mid_attempt(stale, attempts=1, ago=timedelta(hours=1))

    assert webhook_deliveries_recover_stale() == 1

    assert worker_run() == 1
    stale.refresh_from_db()
    assert stale.status == WebhookDelivery.Status.SUCCEEDED
    assert stale.attempts == 2
    assert len(receiver.requests) == 1
    assert webhook_deliveries_recover_stale() == 0


def test_recent_or_scheduled_pending_deliveries_are_left_alone(receiver):
    endpoint_create(receiver)
    [running] = webhook_deliveries_create(run=None, releases=releases_create(1))
    [later] = webhook_deliveries_create(run=None, releases=releases_create(1))
    _killed_mid_attempt(running, attempts=1, ago=timedelta(minutes=1))  # still in its deadline
    WebhookDelivery.objects.filter(pk=later.pk).update(
        attempts=2, attempt_at=timezone.now() + timedelta(minutes=30)
    )

    assert webhook_deliveries_recover_stale() == 0
    assert OrmQ.objects.count() == 0


def test_a_killed_last_attempt_fails_the_delivery_and_counts_against_the_endpoint(receiver):
    endpoint = endpoint_create(receiver)
    [delivery] = webhook_deliveries_create(run=None, releases=releases_create(1))
    _killed_mid_attempt(delivery, attempts=5, ago=timedelta(hours=1))

    webhook_deliveries_recover_stale()

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "Interrupted" in delivery.last_error
    assert OrmQ.objects.count() == 0
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1


def test_every_sync_picks_up_deliveries_left_pending(
    spotify_mock, receiver, django_capture_on_commit_callbacks
):
    endpoint_create(receiver)
    [delivery] = webhook_deliveries_create(run=None, releases=releases_create(1))
    _killed_mid_attempt(delivery, attempts=1, ago=timedelta(hours=1))
    _spotify(spotify_mock, [])

    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    worker_run()

    assert run.new_release_count == 0
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


@pytest.fixture
def readme_receiver() -> Iterator[tuple[str, str]]:
    """The README's sample receiver, run as written (but on loopback, with a real secret)."""
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    code = readme.split("A receiver that verifies the signature", 1)[1]
    code = code.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("HTTPServer((", "# HTTPServer((")
    secret = webhook_secret_default()
    code = code.replace('SECRET = "whsec_…"', f"SECRET = {secret!r}")
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    server = ThreadingHTTPServer(("127.0.0.1", 0), namespace["Receiver"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", secret
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_the_readme_sample_receiver_accepts_deliveries_and_refuses_replays(readme_receiver):
    url, secret = readme_receiver
    WebhookEndpoint.objects.create(url=url, secret=secret)

    [delivery] = deliver(releases_create(1))

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED, delivery.last_error
    body = b'{"releases": []}'
    old = int(time.time()) - 6 * 60
    replay = {
        "webhook-id": str(delivery.delivery_id),
        "webhook-timestamp": str(old),
        "webhook-signature": webhook_signature(
            secret=secret, message_id=str(delivery.delivery_id), timestamp=old, body=body
        ),
    }
    assert httpx.post(url, content=body, headers=replay).status_code == 401
    fresh = replay | {"webhook-timestamp": str(old + 6 * 60)}
    assert httpx.post(url, content=body, headers=fresh).status_code == 401  # signed the old one

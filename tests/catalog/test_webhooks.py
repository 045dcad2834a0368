import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django_q.models import OrmQ
from django_q.tasks import async_task

from catalog.models import SyncRun, WebhookDelivery, WebhookEndpoint
from catalog.schemas import ReleaseSummaryOut
from catalog.services import sync_run_execute
from catalog.webhook_urls import webhook_url_validate
from catalog.webhooks import webhook_deliveries_create, webhook_delivery_send
from tests.conftest import artists_route, new_release_pages, release_items, token_route
from tests.factories import ArtistFactory, ReleaseFactory, credit

pytestmark = pytest.mark.django_db

SECRET = "s3cret-shared-with-the-receiver"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_valid: bool

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on loopback that checks each signature the way a user's would."""

    url: str
    statuses: list[int] = field(default_factory=list)  # answered in order, then 204s
    requests: list[Received] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOK_BACKOFF_SECONDS = 0
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")
    state.gate.set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            state.requests.append(
                Received(
                    headers=dict(self.headers),
                    body=body,
                    signature_valid=hmac.compare_digest(
                        expected, self.headers.get("X-Signature-256", "")
                    ),
                )
            )
            state.gate.wait(timeout=30)
            status = state.statuses.pop(0) if state.statuses else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        state.gate.set()
        server.shutdown()
        server.server_close()
        thread.join()


def _endpoint(receiver: Receiver, **kwargs: Any) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(url=receiver.url, secret=SECRET, **kwargs)


def _run_queued_tasks() -> int:
    """Plays the django-q2 worker: runs what the sync put on the ORM queue."""
    ran = 0
    for queued in OrmQ.objects.order_by("pk"):
        task = queued.task
        assert task["func"] == "catalog.webhooks.webhook_delivery_send"
        queued.delete()
        webhook_delivery_send(*task["args"], **task["kwargs"])
        ran += 1
    return ran


def _releases(count: int, *, album_type: str = "album", artist: Any = None) -> list[Any]:
    releases = []
    for _ in range(count):
        release = ReleaseFactory.create(album_type=album_type)
        credit(release, artist or ArtistFactory.create())
        releases.append(release)
    return releases


def _deliver(releases: list[Any]) -> list[WebhookDelivery]:
    deliveries = webhook_deliveries_create(run=None, releases=releases)
    for delivery in deliveries:
        webhook_delivery_send(delivery.pk)
    return deliveries


def _spotify(spotify_mock: Any, items: list[dict[str, Any]]) -> None:
    token_route(spotify_mock)
    new_release_pages(spotify_mock, items)
    artists_route(spotify_mock, items)
    spotify_mock.route(host="127.0.0.1").pass_through()


def test_a_sync_with_new_releases_posts_them_signed_after_it_commits(
    spotify_mock, receiver, django_capture_on_commit_callbacks
):
    _endpoint(receiver)
    items = release_items(3)
    _spotify(spotify_mock, items)

    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert receiver.requests == []  # queued, not sent by the sync
    assert _run_queued_tasks() == 1
    [received] = receiver.requests
    assert received.signature_valid
    delivery = WebhookDelivery.objects.get()
    assert received.headers["X-Webhook-Delivery"] == str(delivery.delivery_id)
    assert received.headers["X-Webhook-Timestamp"].isdigit()
    assert received.headers["Content-Type"] == "application/json"
    payload = received.payload
    assert payload["event"] == "releases.new"
    assert payload["sync_run_id"] == run.pk
    assert payload["count"] == 3
    assert {release["id"] for release in payload["releases"]} == {item["id"] for item in items}
    first = next(r for r in payload["releases"] if r["id"] == items[0]["id"])
    assert set(first) == set(ReleaseSummaryOut.model_fields)  # the API's release shape
    assert first["name"] == items[0]["name"]
    assert first["album_type"] == items[0]["album_type"]
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
    _endpoint(receiver)
    _spotify(spotify_mock, release_items(3))
    with django_capture_on_commit_callbacks(execute=True):
        sync_run_execute(trigger=SyncRun.Trigger.CLI)
    _run_queued_tasks()
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
    _endpoint(receiver)
    items = release_items(5)
    served = items[:3]
    _spotify(spotify_mock, served)
    with django_capture_on_commit_callbacks(execute=True):
        sync_run_execute(trigger=SyncRun.Trigger.CLI)
    _run_queued_tasks()

    served.extend(items[3:])
    with django_capture_on_commit_callbacks(execute=True):
        second = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    _run_queued_tasks()

    assert second.new_release_count == 2
    assert len(receiver.requests) == 2
    assert {r["id"] for r in receiver.requests[-1].payload["releases"]} == {
        item["id"] for item in items[3:]
    }


def test_a_slow_receiver_never_delays_the_sync(
    spotify_mock, receiver, django_capture_on_commit_callbacks
):
    _endpoint(receiver)
    _spotify(spotify_mock, release_items(2))
    receiver.gate.clear()  # the receiver holds every request until released

    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)

    # The sync has returned while the receiver would still be blocking: nothing was sent yet.
    assert run.status == SyncRun.Status.SUCCEEDED
    assert receiver.requests == []
    assert OrmQ.objects.count() == 1
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.PENDING

    receiver.gate.set()
    _run_queued_tasks()
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.SUCCEEDED


def test_a_failed_sync_sends_nothing(spotify_mock, receiver, django_capture_on_commit_callbacks):
    _endpoint(receiver)
    token_route(spotify_mock)
    spotify_mock.get("https://api.spotify.test/v1/browse/new-releases").respond(400, json={})
    with django_capture_on_commit_callbacks(execute=True):
        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    assert run.status == SyncRun.Status.FAILED
    assert OrmQ.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0


def test_filters_pick_the_releases_each_endpoint_receives(receiver):
    wanted_artist = ArtistFactory.create(spotify_id="4gzpq5DPGxSnKTe4SA8HAU")
    albums = _releases(2, album_type="album")
    singles = _releases(2, album_type="single")
    by_artist = _releases(1, album_type="compilation", artist=wanted_artist)
    only_singles = _endpoint(receiver, album_types=["single"])
    only_artist = _endpoint(receiver, artist_ids=["4gzpq5DPGxSnKTe4SA8HAU"])
    both = _endpoint(receiver, album_types=["album"], artist_ids=["4gzpq5DPGxSnKTe4SA8HAU"])
    everything = _endpoint(receiver)

    deliveries = _deliver(albums + singles + by_artist)

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
    _endpoint(receiver, active=False)
    assert _deliver(_releases(1)) == []
    assert receiver.requests == []


def test_500s_are_retried_until_the_receiver_accepts(receiver):
    endpoint = _endpoint(receiver, consecutive_failures=3)
    receiver.statuses = [500, 502, 503]

    [delivery] = _deliver(_releases(1))

    delivery.refresh_from_db()
    assert len(receiver.requests) == 4
    assert len({r.headers["X-Webhook-Delivery"] for r in receiver.requests}) == 1
    assert all(r.signature_valid for r in receiver.requests)
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.attempts == 4
    assert delivery.last_error == ""
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_a_delivery_fails_after_five_tries_and_is_logged(receiver, settings, monkeypatch):
    settings.WEBHOOK_BACKOFF_SECONDS = 1.5
    waits: list[float] = []
    monkeypatch.setattr("catalog.webhooks.sleep", waits.append)
    endpoint = _endpoint(receiver)
    receiver.statuses = [500] * 10

    [delivery] = _deliver(_releases(2))

    delivery.refresh_from_db()
    assert len(receiver.requests) == 5
    assert waits == [1.5, 3.0, 6.0, 12.0]
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 5
    assert delivery.response_status == 500
    assert "HTTP 500" in delivery.last_error
    assert delivery.release_count == 2
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1
    assert endpoint.active


def test_an_unreachable_receiver_is_a_logged_failure(receiver):
    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1:9/closed", secret=SECRET)
    [delivery] = _deliver(_releases(1))
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 5
    assert delivery.response_status is None
    assert "ConnectError" in delivery.last_error
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1


def test_ten_failed_deliveries_in_a_row_disable_the_endpoint(receiver, admin_client):
    endpoint = _endpoint(receiver)
    receiver.statuses = [500] * 5 * 10

    for count in range(1, 10):
        _deliver(_releases(1))
        endpoint.refresh_from_db()
        assert endpoint.consecutive_failures == count
        assert endpoint.active
    _deliver(_releases(1))

    endpoint.refresh_from_db()
    assert not endpoint.active
    assert endpoint.disabled_at is not None
    assert "10 failed deliveries in a row" in endpoint.disabled_reason
    assert len(receiver.requests) == 50
    assert _deliver(_releases(1)) == []  # disabled: nothing more is queued
    page = admin_client.get("/admin/catalog/webhookendpoint/").content.decode()
    assert "10 failed deliveries in a row" in page


def test_a_success_resets_the_count_of_failures_in_a_row(receiver):
    endpoint = _endpoint(receiver)
    receiver.statuses = [500] * 5
    _deliver(_releases(1))
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1
    _deliver(_releases(1))
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


def test_a_delivery_queued_before_the_endpoint_was_disabled_is_not_sent(receiver):
    endpoint = _endpoint(receiver)
    [delivery] = webhook_deliveries_create(run=None, releases=_releases(1))
    endpoint.active = False
    endpoint.save()
    webhook_delivery_send(delivery.pk)
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.attempts == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_private_addresses_are_refused(settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError, match="webhooks only go to public hosts"):
        webhook_url_validate(url)


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/hook", "file:///etc/passwd", "https:///x"])
def test_only_http_urls_are_accepted(url):
    with pytest.raises(ValidationError, match="http:// or https://"):
        webhook_url_validate(url)


def test_public_addresses_are_accepted(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    webhook_url_validate("https://93.184.216.34/hook")
    webhook_url_validate("http://[2606:4700:4700::1111]:8080/hook")


def test_the_admin_form_refuses_a_private_url(settings, admin_client):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = admin_client.post(
        "/admin/catalog/webhookendpoint/add/",
        {"url": "http://10.0.0.5/hook", "secret": "x", "album_types": "", "artist_ids": ""},
    )
    assert response.status_code == 200
    assert "webhooks only go to public hosts" in response.content.decode()
    assert WebhookEndpoint.objects.count() == 0


def test_staff_add_an_endpoint_in_the_admin_and_see_its_log(admin_client, receiver):
    response = admin_client.post(
        "/admin/catalog/webhookendpoint/add/",
        {
            "url": receiver.url,
            "secret": SECRET,
            "album_types": "album,single",
            "artist_ids": "",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.album_types == ["album", "single"]
    receiver.statuses = [500]
    _deliver(_releases(1))

    page = admin_client.get(f"/admin/catalog/webhookendpoint/{endpoint.pk}/change/")

    body = page.content.decode()
    assert "Delivery log" in body
    assert "succeeded" in body
    assert "HTTP" in body


def test_re_enabling_in_the_admin_resets_the_failures(admin_client, receiver):
    endpoint = _endpoint(receiver, active=False, consecutive_failures=10)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        disabled_at="2026-11-01T00:00:00Z", disabled_reason="10 failed deliveries in a row"
    )
    admin_client.post(
        "/admin/catalog/webhookendpoint/",
        {"action": "enable", "_selected_action": [endpoint.pk]},
    )
    endpoint.refresh_from_db()
    assert endpoint.active
    assert endpoint.consecutive_failures == 0
    assert endpoint.disabled_at is None


def test_the_url_is_checked_again_at_send_time(receiver, settings):
    _endpoint(receiver)
    settings.WEBHOOKS_ALLOW_PRIVATE = False

    [delivery] = _deliver(_releases(1))

    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "public hosts" in delivery.last_error


def test_the_task_is_queued_with_django_q(receiver):
    _endpoint(receiver)
    [delivery] = webhook_deliveries_create(run=None, releases=_releases(1))
    async_task("catalog.webhooks.webhook_delivery_send", delivery.pk)
    assert _run_queued_tasks() == 1
    assert len(receiver.requests) == 1
    webhook_delivery_send(delivery.pk)  # a task re-run after success must not post again
    assert len(receiver.requests) == 1

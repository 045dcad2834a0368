"""A loopback receiver with misbehaviours on demand, and a stand-in for the django-q2 worker."""

import ast
import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.utils.module_loading import import_string
from django_q.models import OrmQ, Schedule
from django_q.tasks import async_task
from standardwebhooks import Webhook, WebhookVerificationError

from catalog.models import Release, WebhookDelivery, WebhookEndpoint
from catalog.webhooks.services import ATTEMPT_TASK, webhook_deliveries_create
from tests.factories import ArtistFactory, ReleaseFactory, credit


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
    port: int = 0
    statuses: list[int] = field(default_factory=list)  # answered in order, then 204s
    requests: list[Received] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # the endpoints' (the server has no DB)
    gate: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    # "drip-body" / "drip-headers": one byte a second; "huge": a 200 MiB body.
    misbehave: str = ""
    bytes_written: int = 0
    drip_finished: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def receiver_handler(state: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append(
                Received(
                    headers=dict(self.headers),
                    body=body,
                    signature_valid=_verified(state.secrets, self.headers, body),
                )
            )
            state.gate.wait(timeout=30)
            with contextlib.suppress(OSError):  # the sender hung up: what it got is counted
                self._answer()

        def _answer(self) -> None:
            if state.misbehave == "huge":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 209715200\r\n\r\n")
                chunk = b"x" * 65536
                while state.bytes_written < 209715200 and not state.stop.is_set():
                    self.wfile.write(chunk)
                    state.bytes_written += len(chunk)
                return
            if state.misbehave.startswith("drip"):
                head = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
                drip = b"x" * 10
                if state.misbehave == "drip-headers":
                    head, drip = b"HTTP/1.1 200 OK\r\n", b"X-Slow: 12\r\n\r\n"
                else:
                    head += b"\r\n"
                self.wfile.write(head)
                for byte in drip:
                    if state.stop.wait(1):  # Event.wait, not time.sleep: the tests forbid that
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                state.drip_finished = True
                return
            status = state.statuses.pop(0) if state.statuses else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _verified(secrets: list[str], headers: Any, body: bytes) -> bool:
    """Checked with the standardwebhooks package, not with our own code."""
    for secret in secrets:
        try:
            Webhook(secret).verify(body, dict(headers.items()))
        except WebhookVerificationError:
            continue
        return True
    return False


def endpoint_create(receiver: Receiver, **kwargs: Any) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.create(url=kwargs.pop("url", receiver.url), **kwargs)
    receiver.secrets.append(endpoint.secret)
    return endpoint


def releases_create(count: int, *, album_type: str = "album", artist: Any = None) -> list[Any]:
    releases = []
    for _ in range(count):
        release = ReleaseFactory.create(album_type=album_type)
        credit(release, artist or ArtistFactory.create())
        releases.append(release)
    return releases


def worker_run(*, before: Callable[[], None] | None = None) -> int:
    """Plays the django-q2 worker and its scheduler until nothing is left: queued tasks first,
    then the one-off retry schedules (whatever their next_run: the backoff is not waited out)."""
    ran = 0
    while True:
        if before is not None:
            before()
        queued = OrmQ.objects.order_by("pk").first()
        if queued is not None:
            task = queued.task
            queued.delete()
            func, args, kwargs = task["func"], task["args"], task["kwargs"]
        else:
            scheduled = Schedule.objects.order_by("next_run", "pk").first()
            if scheduled is None:
                return ran
            assert scheduled.schedule_type == Schedule.ONCE
            scheduled.delete()
            func, args, kwargs = scheduled.func, ast.literal_eval(scheduled.args or "()"), {}
        assert func == ATTEMPT_TASK
        import_string(func)(*args, **kwargs)
        ran += 1


def deliver(releases: list[Release]) -> list[WebhookDelivery]:
    """Creates the deliveries the way a sync does, queues their first attempts, runs the worker."""
    deliveries = webhook_deliveries_create(run=None, releases=releases)
    for delivery in deliveries:
        async_task(ATTEMPT_TASK, delivery.pk, 1)
    worker_run()
    return deliveries


@contextlib.contextmanager
def receiver_serving() -> Iterator[Receiver]:
    """A real HTTP server on loopback that records each request (and checks each webhook
    signature the way a user's receiver would), until the block ends."""
    state = Receiver()
    state.gate.set()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.port = server.server_address[1]
    try:
        yield state
    finally:
        state.gate.set()  # a test may have held requests back: let them end
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()

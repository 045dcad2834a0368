import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme

from catalog.models import WebhookDelivery
from catalog.webhooks.transport import RESPONSE_BODY_LIMIT, webhook_post
from catalog.webhooks.validators import webhook_target_resolve
from tests.catalog.webhooks.support import Receiver, deliver, endpoint_create, releases_create

pytestmark = pytest.mark.django_db

HOST = "hooks.example.test"
PUBLIC = "93.184.216.34"


def _resolver(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    """Answers HOST with `answers` in turn (the last one from then on), like a rebinding DNS;
    every other name resolves as usual. httpx asks with bytes, our validator with str."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name != HOST:
            return real(host, port, *args, **kwargs)
        address = answers[min(len(asked), len(answers) - 1)]
        asked.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def test_the_post_goes_to_the_address_that_was_checked_not_a_second_lookup(
    receiver, settings, monkeypatch
):
    """DNS rebinding: public for the check, 127.0.0.1 for anyone who asks again."""
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    asked = _resolver(monkeypatch, [PUBLIC, "127.0.0.1"])
    real_connect = socket.create_connection
    connected: list[Any] = []

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        connected.append(address)
        if address[0] == PUBLIC:  # the sandbox has no route out: refuse instead of waiting
            raise ConnectionRefusedError(111, "Connection refused (test)")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    endpoint_create(receiver, url=f"http://{HOST}:{receiver.port}/hook")

    [delivery] = deliver(releases_create(1))

    assert receiver.requests == []  # nothing reached loopback
    assert connected == [(PUBLIC, receiver.port)]
    assert asked == [PUBLIC]  # one lookup per attempt, the checked one
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "ConnectError" in delivery.last_error


def test_the_host_header_names_the_url_host_not_the_pinned_address(receiver, monkeypatch):
    _resolver(monkeypatch, ["127.0.0.1"])
    endpoint_create(receiver, url=f"http://{HOST}:{receiver.port}/hook")

    [delivery] = deliver(releases_create(1))

    [received] = receiver.requests
    assert received.headers["Host"] == f"{HOST}:{receiver.port}"
    assert received.signature_valid
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED


@pytest.fixture
def tls_receiver() -> Iterator[tuple[int, list[str], ssl.SSLContext]]:
    """An https receiver on loopback with a certificate for HOST only, recording the TLS
    server name (SNI) each client asked for."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(HOST).configure_cert(server_context)
    server_names: list[str] = []

    def sni_seen(sock: Any, name: str, context: Any) -> None:
        server_names.append(name)

    server_context.sni_callback = sni_seen

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    try:
        yield server.server_address[1], server_names, client_context
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_https_connects_to_the_pinned_address_with_sni_and_certificate_for_the_host(
    tls_receiver, monkeypatch
):
    port, server_names, client_context = tls_receiver
    _resolver(monkeypatch, ["127.0.0.1"])
    url = f"https://{HOST}:{port}/hook"

    response = webhook_post(
        url=url,
        target=webhook_target_resolve(url),
        headers={},
        body=b"{}",
        timeout=5,
        ssl_context=client_context,
    )

    assert response.status == 204
    assert server_names == [HOST]


@pytest.mark.parametrize("misbehave", ["drip-body", "drip-headers"])
def test_a_dripping_receiver_is_cut_at_the_deadline_and_counts_as_a_failure(
    receiver: Receiver, settings, misbehave
):
    """One byte a second, 10 s in all, each byte well within a per-read timeout of 2 s: the
    whole attempt must still end at 2 s, fail, and count towards disabling the endpoint."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_MAX_ATTEMPTS = 1
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 1
    receiver.misbehave = misbehave
    endpoint = endpoint_create(receiver)

    [delivery] = deliver(releases_create(1))

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert "within 2 s" in delivery.last_error
    assert delivery.duration_ms is not None
    assert delivery.duration_ms < 8_000  # generous: the drip alone takes 10 s
    assert not receiver.drip_finished
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert "1 failed deliveries in a row" in endpoint.disabled_reason


def test_a_huge_answer_is_read_no_further_than_64_kib(receiver: Receiver):
    receiver.misbehave = "huge"
    endpoint_create(receiver)

    [delivery] = deliver(releases_create(1))

    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert delivery.response_status == 200
    receiver.stop.set()
    # The sender hung up after 64 KiB: what the server got out is what fits in socket buffers,
    # nowhere near the 200 MiB it offered.
    assert receiver.bytes_written < 32 * 1024 * 1024


def test_the_answer_kept_is_at_most_64_kib(receiver: Receiver):
    receiver.misbehave = "huge"
    url = receiver.url

    response = webhook_post(
        url=url, target=webhook_target_resolve(url), headers={}, body=b"{}", timeout=5
    )

    assert response.status == 200
    assert len(response.body) == RESPONSE_BODY_LIMIT


def test_a_refused_checked_address_falls_back_to_the_next_checked_one(receiver, monkeypatch):
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != HOST:
            return real(host, port, *args, **kwargs)
        # Nothing listens on 127.0.0.2 (the receiver is bound to 127.0.0.1 only).
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port)))
            for address in ("127.0.0.2", "127.0.0.1")
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    url = f"http://{HOST}:{receiver.port}/hook"

    response = webhook_post(
        url=url, target=webhook_target_resolve(url), headers={}, body=b"{}", timeout=5
    )

    assert response.status == 204
    assert len(receiver.requests) == 1

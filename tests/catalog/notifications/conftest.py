import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from tests.catalog.webhooks.support import Receiver, receiver_handler


@pytest.fixture(autouse=True)
def _notify_settings(settings: Any) -> None:
    settings.NOTIFY_URLS = []
    settings.NOTIFY_ALLOW_PRIVATE = False
    settings.NOTIFY_DIGEST = "sync"
    settings.NOTIFY_BACKOFF_SECONDS = 0
    settings.NOTIFY_TIMEOUT_SECONDS = 5
    settings.SITE_URL = "https://releases.example.com"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on loopback: Apprise's json:// posts each message to it."""
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
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from tests.catalog.webhooks.support import Receiver, receiver_handler


@pytest.fixture(autouse=True)
def _webhook_settings(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    settings.WEBHOOK_BACKOFF_SECONDS = 0
    settings.WEBHOOK_TIMEOUT_SECONDS = 5
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": False}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP server on loopback that checks each signature the way a user's would."""
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
        state.gate.set()
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join()

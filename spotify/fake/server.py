"""Serving FakeSpotify over real HTTP with a threaded stdlib wsgiref server."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from spotify.fake.app import FakeSpotify
from spotify.fake.config import FakeConfig

logger = logging.getLogger(__name__)


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per connection, so a slow fault response does not block other clients."""

    daemon_threads = True
    allow_reuse_address = True


class QuietRequestHandler(WSGIRequestHandler):
    """Request lines go to the `spotify.fake.server` logger at DEBUG instead of stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


def make_fake_server(
    app: FakeSpotify, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True
) -> ThreadingWSGIServer:
    handler = QuietRequestHandler if quiet else WSGIRequestHandler
    server = make_server(host, port, app, server_class=ThreadingWSGIServer, handler_class=handler)
    assert isinstance(server, ThreadingWSGIServer)
    return server


def root_url(server: ThreadingWSGIServer) -> str:
    host, port = server.server_address[:2]
    host = host if isinstance(host, str) else host.decode()
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


@contextmanager
def serve_in_thread(
    config: FakeConfig | FakeSpotify | None = None, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Serve a fake on a daemon thread; yields the root URL (`/v1` is the API base).

    Pass a FakeSpotify instead of a config to keep a handle on it (`configure()`, `stats()`).
    """
    app = config if isinstance(config, FakeSpotify) else FakeSpotify(config)
    server = make_fake_server(app, host, port)
    # A short poll interval makes shutdown() on exit return quickly.
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="fake-spotify",
        daemon=True,
    )
    thread.start()
    try:
        yield root_url(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

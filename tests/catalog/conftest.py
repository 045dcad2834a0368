"""The fake Spotify over loopback, for the tests that count its calls or sync from it."""

from typing import Any

import pytest

from spotify.fake import FakeConfig, FakeSpotify
from spotify.fake.server import serve_in_thread


@pytest.fixture
def fake_spotify(settings):
    def serve(releases: int, **config):
        app = FakeSpotify(FakeConfig(release_count=releases, **config))
        server = serve_in_thread(app)
        root = server.__enter__()
        settings.SPOTIFY_ACCOUNTS_BASE_URL = root
        settings.SPOTIFY_API_BASE_URL = f"{root}/v1"
        settings.SPOTIFY_CLIENT_ID = "demo-client-id"
        settings.SPOTIFY_CLIENT_SECRET = "demo-client-secret"
        servers.append(server)
        return app

    servers: list[Any] = []
    yield serve
    for server in servers:
        server.__exit__(None, None, None)

"""End-to-end: our code against the fake Spotify served over real HTTP, on the real PostgreSQL.
No respx here: faults are switched on in the fake (`configure()`), as `POST /_fake/config` does."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from spotify.fake import FakeConfig, FakeSpotify
from spotify.fake.server import serve_in_thread

RELEASE_COUNT = 40


@dataclass
class FakeServer:
    app: FakeSpotify
    root: str

    def configure(self, **changes: Any) -> FakeConfig:
        return self.app.configure(**changes)

    def calls(self, endpoint: str) -> int:
        """Calls so far to e.g. "GET /v1/browse/new-releases"."""
        return self.app.stats().get(endpoint, 0)


def point_settings_at(settings: Any, root: str) -> None:
    settings.SPOTIFY_API_BASE_URL = f"{root}/v1"
    settings.SPOTIFY_ACCOUNTS_BASE_URL = root
    settings.SPOTIFY_CLIENT_ID = "demo-client-id"
    settings.SPOTIFY_CLIENT_SECRET = "demo-client-secret"


@pytest.fixture
def fake_spotify(settings: Any) -> Iterator[FakeServer]:
    app = FakeSpotify(FakeConfig(release_count=RELEASE_COUNT))
    with serve_in_thread(app) as root:
        point_settings_at(settings, root)
        yield FakeServer(app=app, root=root)

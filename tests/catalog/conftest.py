from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from spotify.fake import FakeConfig, FakeSpotify
from spotify.fake.server import serve_in_thread
from tests.e2e.conftest import FakeServer, point_settings_at


@pytest.fixture(autouse=True)
def _empty_cache():
    """The API caches answers keyed on the data version; tests change data without a sync."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fake(settings: Any) -> Iterator[FakeServer]:
    """The fake Spotify over HTTP, whose accounts follow a few artists each (Your artists)."""
    app = FakeSpotify(FakeConfig(release_count=60, followed_artist_count=6))
    with serve_in_thread(app) as root:
        point_settings_at(settings, root)
        yield FakeServer(app=app, root=root)

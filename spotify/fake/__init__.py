"""A fake Spotify (accounts service + Web API) for demo mode, end-to-end tests and benchmarks.

In process::

    fake = FakeSpotify(FakeConfig(release_count=1000))
    http = httpx.Client(transport=httpx.WSGITransport(app=fake), base_url="http://fake-spotify")
    # SPOTIFY_ACCOUNTS_BASE_URL = "http://fake-spotify", SPOTIFY_API_BASE_URL = ".../v1"

Over HTTP: `spotify.fake.server.serve_in_thread(config)` (tests) or
`manage.py fake_spotify --port 8765` (demo, benchmarks). Faults and the dataset size can be
changed at run time with `POST /_fake/config`; `GET /_fake/stats` counts calls per endpoint.
"""

from spotify.fake.app import FakeSpotify
from spotify.fake.config import ConfigError, FakeConfig

__all__ = ["ConfigError", "FakeConfig", "FakeSpotify"]

"""Demo mode: the bundled fake Spotify, served in process, when no credentials are configured."""

from functools import cache

import httpx

from spotify.fake import FakeConfig, FakeSpotify


@cache
def demo_app() -> FakeSpotify:
    return FakeSpotify(FakeConfig.from_env())


def demo_transport() -> httpx.WSGITransport:
    return httpx.WSGITransport(app=demo_app())

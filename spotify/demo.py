"""Demo mode: the bundled fake Spotify, served in process, when no credentials are configured."""

from functools import cache

import httpx
from django.conf import settings

from spotify.fake import FakeConfig, FakeSpotify


@cache
def _demo_app() -> FakeSpotify:
    return FakeSpotify(FakeConfig.from_env())


def demo_app() -> FakeSpotify:
    """The demo's fake, with SPOTIFY_REDIRECT_URI as the app's only registered redirect URI.

    Its consent page is served on our own site, so any other `redirect_uri` gets Spotify's error
    page instead of a redirect (else it would be an open redirect). Read on every call: tests
    change the setting."""
    app = _demo_app()
    registered = [settings.SPOTIFY_REDIRECT_URI]
    if app.config.redirect_uris != registered:
        app.configure(redirect_uris=registered)
    return app


def demo_transport() -> httpx.WSGITransport:
    return httpx.WSGITransport(app=demo_app())

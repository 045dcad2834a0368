"""Where the Spotify settings are read, so that tests can override them per call."""

import re
from dataclasses import dataclass

from django.conf import settings

# Credentials the bundled fake Spotify accepts; used only in demo mode.
DEMO_CLIENT_ID = "demo-client-id"
DEMO_CLIENT_SECRET = "demo-client-secret"
# In demo mode the fake runs in process; this host never leaves the httpx transport.
DEMO_ROOT_URL = "http://fake-spotify.demo"
# ...except the consent page, which the browser must reach: our own site serves it.
DEMO_AUTHORIZE_PATH = "/demo/spotify"
# The demo's covers: generated artwork among our own static files (scripts/demo_covers.py).
DEMO_COVERS_DIR = "demo/covers/"


@dataclass(frozen=True, slots=True)
class SpotifySettings:
    client_id: str
    client_secret: str
    api_base_url: str
    accounts_base_url: str
    # Where the browser is sent to give consent; differs from accounts_base_url only in demo mode.
    authorize_base_url: str
    redirect_uri: str
    # In SPOTIFY_MARKETS' order; ("",) is Spotify's global list.
    markets: tuple[str, ...]
    demo: bool
    timeout_seconds: float
    max_retry_after_seconds: int
    retry_attempts: int
    backoff_seconds: float

    @property
    def market(self) -> str:
        """The default market (empty: the global list): what reads shared by every market, such
        as album details and followed artists' albums, are asked in."""
        return self.markets[0]


def spotify_settings() -> SpotifySettings:
    demo = is_demo_mode()
    return SpotifySettings(
        client_id=DEMO_CLIENT_ID if demo else settings.SPOTIFY_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET if demo else settings.SPOTIFY_CLIENT_SECRET,
        api_base_url=f"{DEMO_ROOT_URL}/v1" if demo else settings.SPOTIFY_API_BASE_URL.rstrip("/"),
        accounts_base_url=DEMO_ROOT_URL if demo else settings.SPOTIFY_ACCOUNTS_BASE_URL.rstrip("/"),
        authorize_base_url=(
            DEMO_AUTHORIZE_PATH if demo else settings.SPOTIFY_ACCOUNTS_BASE_URL.rstrip("/")
        ),
        redirect_uri=settings.SPOTIFY_REDIRECT_URI,
        markets=configured_markets(),
        demo=demo,
        timeout_seconds=settings.SPOTIFY_TIMEOUT_SECONDS,
        max_retry_after_seconds=settings.SPOTIFY_MAX_RETRY_AFTER_SECONDS,
        retry_attempts=settings.SPOTIFY_RETRY_ATTEMPTS,
        backoff_seconds=settings.SPOTIFY_BACKOFF_SECONDS,
    )


def is_demo_mode() -> bool:
    """Demo mode is the default without credentials, and never used when a client id is set."""
    return not settings.SPOTIFY_CLIENT_ID


def configured_markets() -> tuple[str, ...]:
    """The markets each sync reads, the first being the default one; ("",) when none is set:
    one snapshot of Spotify's global list."""
    return tuple(settings.SPOTIFY_MARKETS) or ("",)


def default_market() -> str:
    """What reads serve when no market is asked for: the first configured one."""
    return configured_markets()[0]


def demo_covers_url() -> str:
    """Where the demo's covers are served: a path on our own site, so that pictures work offline
    and under the CSP (img-src 'self')."""
    return f"{settings.STATIC_URL}{DEMO_COVERS_DIR}"


def is_demo_cover(url: str) -> bool:
    """One of the demo's generated covers, in demo mode only: the one exception to the rule that
    stored images are on Spotify's hosts. A path on our own site cannot leave it."""
    return (
        is_demo_mode()
        and re.fullmatch(rf"{re.escape(demo_covers_url())}\d{{2}}\.svg", url) is not None
    )

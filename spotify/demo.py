"""Demo mode: the bundled fake Spotify, served in process, when no credentials are configured."""

from functools import cache

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from spotify.conf import demo_covers_url
from spotify.fake import FakeConfig, FakeSpotify
from spotify.fake.data import growth_releases
from spotify.models import DemoGrowth

# The requests that start a listing of new releases: one per sync (later pages have an offset).
LISTING_PATHS = ("/v1/browse/new-releases", "/v1/search")


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
    if app.config.redirect_uris != registered or app.config.cover_base_url != demo_covers_url():
        app.configure(redirect_uris=registered, cover_base_url=demo_covers_url())
    return app


def demo_growth_advance() -> int:
    """Counts one more listing and returns the releases to add to the demo's catalogue: none on
    the first listing ever (the base catalogue is all new then), 1 to 5 more on each later one.
    Kept in the database, so every worker process serves the same catalogue."""
    today = timezone.localdate()
    with transaction.atomic():
        growth = DemoGrowth.objects.select_for_update().filter(pk=1).first()
        if growth is None:
            growth = DemoGrowth(pk=1)
        if growth.listings:
            if growth.day != today:
                growth.day, growth.runs_today = today, 0
            growth.runs_today += 1
            growth.extra_releases += growth_releases(today, growth.runs_today)
        growth.listings += 1
        growth.save()
    return growth.extra_releases


def demo_growth_current() -> int:
    growth = DemoGrowth.objects.filter(pk=1).first()
    return growth.extra_releases if growth else 0


class DemoTransport(httpx.WSGITransport):
    """The fake, in process, grown by one step at the start of each listing of new releases."""

    def __init__(self, app: FakeSpotify) -> None:
        super().__init__(app=app)
        self.fake = app
        self.grown = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        starts_listing = (
            request.url.path in LISTING_PATHS
            and request.url.params.get("offset", "0") == "0"
            and (request.url.path != "/v1/search" or "tag:new" in request.url.params.get("q", ""))
        )
        if starts_listing or not self.grown:
            extra = demo_growth_advance() if starts_listing else demo_growth_current()
            demo_app()
            if self.fake.config.extra_releases != extra:
                self.fake.configure(extra_releases=extra)
            self.grown = True
        return super().handle_request(request)


def demo_transport() -> httpx.WSGITransport:
    return DemoTransport(app=demo_app())

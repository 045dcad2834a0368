"""An app in Spotify's 2026 Development Mode, end to end: new-releases and /artists?ids= answer 403,
and artist objects lose followers and popularity."""

from typing import Any

import pytest

from catalog.models import Artist, Snapshot, SyncRun
from catalog.services import sync_run_execute
from spotify.models import ForbiddenEndpoint
from tests.e2e.conftest import FakeServer

pytestmark = pytest.mark.django_db

NEW_RELEASES = "GET /v1/browse/new-releases"
SEVERAL_ARTISTS = "GET /v1/artists"
ONE_ARTIST = "GET /v1/artists/{id}"
SEARCH = "GET /v1/search"


def test_development_mode_falls_back_to_search_and_bounded_per_artist_calls(
    fake_spotify: FakeServer, settings: Any, client: Any
):
    settings.ARTIST_FALLBACK_CALLS_PER_RUN = 5
    fake_spotify.configure(dev_mode=True)

    run = sync_run_execute(trigger=SyncRun.Trigger.SCHEDULE)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.snapshot is not None
    assert run.snapshot.source == Snapshot.Source.SEARCH
    assert run.release_count > 0
    assert fake_spotify.calls(SEARCH) >= 1
    assert fake_spotify.calls(NEW_RELEASES) == 1
    assert fake_spotify.calls(SEVERAL_ARTISTS) == 1
    assert fake_spotify.calls(ONE_ARTIST) == 5
    assert run.warnings[0] == (
        "new-releases is forbidden for this app (Spotify answered 403); used search (tag:new)"
    )
    left = run.artist_count - 5
    assert (
        "artists?ids= is forbidden for this app (Spotify answered 403); enriched 5 artists one "
        f"by one, {left} left for the next runs"
    ) in run.warnings
    enriched = Artist.objects.filter(details_fetched_at__isnull=False)
    assert enriched.count() == 5
    # Spotify no longer sends them: unknown, never 0.
    assert set(enriched.values_list("followers", "popularity")) == {(None, None)}
    body = client.get("/api/artists/?limit=200").json()
    assert body["snapshot"]["source"] == "search"
    assert {(a["followers"], a["popularity"]) for a in body["items"]} == {(None, None)}
    assert set(ForbiddenEndpoint.objects.values_list("endpoint", flat=True)) >= {
        "GET /browse/new-releases",
        "GET /artists",
    }


def test_a_second_run_does_not_ask_the_forbidden_endpoints_again_and_enriches_the_next_artists(
    fake_spotify: FakeServer, settings: Any
):
    settings.ARTIST_FALLBACK_CALLS_PER_RUN = 5
    fake_spotify.configure(dev_mode=True)
    first = sync_run_execute(trigger=SyncRun.Trigger.SCHEDULE)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error

    second = sync_run_execute(trigger=SyncRun.Trigger.SCHEDULE)

    assert second.status == SyncRun.Status.SUCCEEDED, second.error
    assert fake_spotify.calls(NEW_RELEASES) == 1
    assert fake_spotify.calls(SEVERAL_ARTISTS) == 1
    assert fake_spotify.calls(ONE_ARTIST) == 10
    assert Artist.objects.filter(details_fetched_at__isnull=False).count() == 10
    assert "remembered until" in second.warnings[0]

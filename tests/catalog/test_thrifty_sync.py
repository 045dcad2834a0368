"""Spotify calls per sync, counted by the HTTP fake: pages, artist batches, album batches, and no
token request while the token is valid."""

from math import ceil

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Artist, Release, Snapshot, SyncRun, Track
from catalog.services import sync_run_execute

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "POST /api/token client_credentials"


def _sync() -> SyncRun:
    run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return run


def _calls(stats: dict[str, int], endpoint: str) -> int:
    return sum(count for key, count in stats.items() if key.startswith(endpoint))


def test_calls_per_sync_are_pages_plus_batches_and_one_token(fake_spotify):
    fake = fake_spotify(releases=130)

    run = _sync()

    stats = fake.stats()
    releases, artists = Release.objects.count(), Artist.objects.count()
    assert releases == 130
    assert _calls(stats, "GET /v1/browse/new-releases") == ceil(130 / 50)
    assert _calls(stats, "GET /v1/artists") == ceil(artists / 50)
    assert _calls(stats, "GET /v1/albums") == ceil(130 / 20)
    assert _calls(stats, "POST /api/token") == stats.get(TOKEN, 0) == 1
    assert run.spotify_calls == ceil(130 / 50) + ceil(artists / 50) + ceil(130 / 20) + 1
    assert not Release.objects.filter(tracks_fetched_at__isnull=True).exists()
    assert Track.objects.count() >= 2 * releases  # the fake's releases have 2 to 12 tracks


def test_a_resync_costs_only_the_pages(fake_spotify):
    fake = fake_spotify(releases=70)
    _sync()
    fake.reset()

    run = _sync()

    assert fake.stats() == {"GET /v1/browse/new-releases": 2}
    assert run.spotify_calls == 2


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK")


def test_sql_statements_grow_with_spotify_calls_not_with_items(fake_spotify):
    def measure(releases: int) -> tuple[int, int]:
        Track.objects.all().delete()
        Release.objects.all().delete()
        Artist.objects.all().delete()
        fake_spotify(releases=releases)
        with CaptureQueriesContext(connection) as queries:
            run = _sync()
        assert Track.objects.count() > releases
        # Data statements: a batch's own transaction also shows BEGIN and COMMIT here.
        data = [q for q in queries.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)]
        return len(data), run.spotify_calls

    measure(1)  # the app token is obtained and stored once
    small_sql, small_calls = measure(40)
    large_sql, large_calls = measure(100)
    # 2.5 times the releases and their tracks. Each extra /albums call brings one batch of track
    # lists, stored in its own transaction: one INSERT of its tracks and one UPDATE of its releases.
    assert large_calls > small_calls
    assert large_sql - small_sql <= 2 * (large_calls - small_calls)


def test_the_budget_is_per_market_and_shared_rows_are_asked_for_once(fake_spotify, settings):
    fake = fake_spotify(releases=130)
    settings.SPOTIFY_MARKETS = ["US", "FR"]
    dataset = fake.state.dataset
    us, fr = dataset.releases_for("US"), dataset.releases_for("FR")
    us_ids = {release.id for release in us}
    fr_only = [release for release in fr if release.id not in us_ids]
    us_artists = {artist for release in us for artist in release.artist_ids}
    fr_new_artists = {artist for release in fr for artist in release.artist_ids} - us_artists

    us_run = _sync()
    fr_run = SyncRun.objects.get(market="FR")

    # US first: its pages, its artists and albums, and the token; then FR's pages and only what
    # US did not already bring (shared artists and releases are not asked for again).
    assert us_run.market == "US"
    assert (
        us_run.spotify_calls
        == ceil(len(us) / 50) + ceil(len(us_artists) / 50) + ceil(len(us) / 20) + 1
    )
    assert fr_run.spotify_calls == ceil(len(fr) / 50) + ceil(len(fr_new_artists) / 50) + ceil(
        len(fr_only) / 20
    )
    stats = fake.stats()
    assert _calls(stats, "GET /v1/browse/new-releases") == ceil(len(us) / 50) + ceil(len(fr) / 50)
    assert _calls(stats, "POST /api/token") == 1
    assert sum(stats.values()) == us_run.spotify_calls + fr_run.spotify_calls
    assert Release.objects.count() == len(us) + len(fr_only)


def test_in_development_mode_each_market_pays_its_search_pages_once_refused(fake_spotify, settings):
    fake = fake_spotify(releases=40, dev_mode=True)
    settings.SPOTIFY_MARKETS = ["US", "FR"]
    settings.SEARCH_FALLBACK_MAX_ALBUMS = 25
    dataset = fake.state.dataset
    found = {market: min(len(dataset.releases_for(market)), 25) for market in ("US", "FR")}

    _sync()

    stats = fake.stats()
    # Refused once (then remembered for every market), and search pages of 10 per market.
    assert _calls(stats, "GET /v1/browse/new-releases") == 1
    assert _calls(stats, "GET /v1/search") == ceil(found["US"] / 10) + ceil(found["FR"] / 10)
    assert dict(Snapshot.objects.values_list("market", "release_count")) == found

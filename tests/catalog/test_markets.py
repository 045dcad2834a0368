"""Several markets (SPOTIFY_MARKETS): one run and one snapshot per market per sync, shared
artist and release rows, and `market` on every read, synced from the fake Spotify."""

import csv
import io

import feedparser
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from catalog.caching import data_version, response_key
from catalog.models import FollowedArtist, Release, Snapshot, SnapshotEntry, SyncRun
from catalog.selectors import releases_new_in_run, sync_overview
from catalog.services import sync_run_execute
from spotify.fake import FakeConfig, FakeSpotify
from spotify.fake.server import serve_in_thread
from tests.catalog.following_support import connect, signed_in
from tests.e2e.conftest import point_settings_at

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def two_markets(fake_spotify, settings):
    """US and FR synced once; returns the fake's catalogue."""
    fake = fake_spotify(releases=60)
    settings.SPOTIFY_MARKETS = ["US", "FR"]
    run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    return fake.state.dataset


def _ids(dataset, market: str) -> list[str]:
    return [release.id for release in dataset.releases_for(market)]


def _release_ids(client, query: str = "") -> tuple[str | None, list[str]]:
    response = client.get(f"/api/releases/?limit=200{query}")
    assert response.status_code == 200, response.content
    body = response.json()
    return body["snapshot"]["market"], [item["id"] for item in body["items"]]


def test_two_markets_sync_into_two_snapshots_served_by_market(client, two_markets):
    us, fr = _ids(two_markets, "US"), _ids(two_markets, "FR")
    assert set(us) != set(fr)
    assert set(us) & set(fr)

    runs = list(SyncRun.objects.order_by("pk"))
    snapshots = Snapshot.objects.order_by("market")
    assert [(run.market, run.status) for run in runs] == [("US", "succeeded"), ("FR", "succeeded")]
    assert runs[0].started_at == runs[1].started_at  # one sync
    assert [(snapshot.market, snapshot.release_count) for snapshot in snapshots] == [
        ("FR", len(fr)),
        ("US", len(us)),
    ]
    assert _release_ids(client) == ("US", us)  # the first market is the default
    assert _release_ids(client, "&market=FR") == ("FR", fr)
    assert _release_ids(client, "&market=fr") == ("FR", fr)
    artists = client.get("/api/artists/?market=FR").json()
    assert artists["snapshot"]["market"] == "FR"
    assert artists["count"] == snapshots.get(market="FR").artist_count
    listed = client.get("/api/snapshots/?market=FR").json()
    assert listed["count"] == 1
    assert listed["items"][0]["market"] == "FR"
    assert client.get("/api/snapshots/").json()["items"][0]["market"] == "US"


def test_artists_and_releases_are_shared_across_markets(two_markets):
    us, fr = _ids(two_markets, "US"), _ids(two_markets, "FR")
    shared = next(release_id for release_id in us if release_id in fr)

    assert Release.objects.count() == len(set(us) | set(fr))
    assert SnapshotEntry.objects.filter(release__spotify_id=shared).count() == 2


def test_each_release_is_new_in_one_run_only(client, two_markets):
    us, fr = _ids(two_markets, "US"), _ids(two_markets, "FR")
    us_run, fr_run = SyncRun.objects.order_by("pk")
    fr_only = {release_id for release_id in fr if release_id not in us}

    assert {release.spotify_id for release in releases_new_in_run(run=us_run)} == set(us)
    assert {release.spotify_id for release in releases_new_in_run(run=fr_run)} == fr_only
    assert fr_run.new_release_count == len(fr_only)
    # "New since the last sync" counts what any market of that sync saw first.
    assert client.get("/api/releases/?market=FR&new=true").json()["count"] == len(fr)


def test_the_csvs_and_the_feed_take_the_market(client, two_markets):
    fr = _ids(two_markets, "FR")

    releases_csv = client.get("/api/releases.csv?market=FR")
    rows = list(csv.DictReader(io.StringIO(b"".join(releases_csv.streaming_content).decode())))
    artists_csv = client.get("/api/artists.csv?market=FR")
    feed = feedparser.parse(client.get("/feeds/releases.atom?market=FR").content)
    us_feed = feedparser.parse(client.get("/feeds/releases.atom").content)

    assert [row["id"] for row in rows] == fr
    assert "releases-FR-" in releases_csv["Content-Disposition"]
    assert "artists-FR-" in artists_csv["Content-Disposition"]
    assert {entry.id for entry in feed.entries} == {f"spotify:album:{i}" for i in fr}
    assert {entry.id for entry in us_feed.entries} == {
        f"spotify:album:{i}" for i in _ids(two_markets, "US")
    }


def test_a_failing_market_loses_no_other_markets_snapshot(fake_spotify, settings):
    dataset = fake_spotify(releases=30).state.dataset
    # A market Spotify refuses (settings validation would stop it; Spotify may drop one).
    settings.SPOTIFY_MARKETS = ["US", "XX", "FR"]

    run = sync_run_execute(trigger=SyncRun.Trigger.CLI)

    runs = {market_run.market: market_run for market_run in SyncRun.objects.all()}
    assert run == runs["US"]
    assert runs["US"].status == runs["FR"].status == SyncRun.Status.SUCCEEDED
    assert runs["XX"].status == SyncRun.Status.FAILED
    assert "400" in runs["XX"].error
    assert runs["XX"].snapshot is None
    assert {snapshot.market: snapshot.release_count for snapshot in Snapshot.objects.all()} == {
        "US": len(dataset.releases_for("US")),
        "FR": len(dataset.releases_for("FR")),
    }
    assert [market_run.market for market_run in sync_overview().markets] == ["US", "XX", "FR"]


def test_the_command_says_how_each_market_went(fake_spotify, settings, capsys):
    fake_spotify(releases=20)
    settings.SPOTIFY_MARKETS = ["US", "XX", "FR"]

    with pytest.raises(CommandError, match=r"^XX: Sync failed: .*400"):
        call_command("sync_releases")

    lines = capsys.readouterr().out.splitlines()
    assert [line[:11] for line in lines] == ["US: Synced ", "FR: Synced "]


@pytest.mark.parametrize(
    "path",
    ["/api/artists/", "/api/releases/", "/api/snapshots/", "/api/releases.csv", "/api/artists.csv"],
)
def test_an_unknown_market_is_a_422_naming_the_parameter(client, settings, path):
    settings.SPOTIFY_MARKETS = ["US", "FR"]

    response = client.get(f"{path}?market=DE")

    assert response.status_code == 422
    assert "market" in response.content.decode()


@pytest.mark.parametrize("path", ["/feeds/releases.atom", "/"])
def test_an_unknown_market_is_a_400_on_the_feed_and_the_dashboard(client, settings, path):
    settings.SPOTIFY_MARKETS = ["US", "FR"]

    response = client.get(f"{path}?market=DE")

    assert response.status_code == 400
    assert "market" in response.content.decode()


def test_without_markets_a_market_is_unknown_too(client):
    response = client.get("/api/releases/?market=US")

    assert response.status_code == 422
    assert "global list only" in response.content.decode()


def test_the_response_cache_keys_on_the_market(settings):
    settings.SPOTIFY_MARKETS = ["US", "FR"]
    version = data_version()

    def key(query: str) -> str | None:
        return response_key(RequestFactory().get(f"/api/releases/{query}"), version)

    assert key("?market=FR") != key("")
    assert key("?market=US") == key("")


def test_the_dashboard_picks_a_market_keeping_the_other_filters(client, two_markets):
    page = client.get("/?market=FR&type=single").content.decode()
    partial = client.get("/?market=FR", headers={"HX-Request": "true"}).content.decode()

    assert 'data-testid="market-picker"' in page
    assert '<option value="FR" selected>FR</option>' in page
    assert '<option value="single" selected>' in page
    assert "market=FR" in page.split('data-testid="csv-link"')[0].rsplit("<a", 1)[1]
    assert 'id="artist-results"' in partial
    assert 'data-testid="sync-market-US"' in page
    assert 'data-testid="sync-market-FR"' in page


def test_with_one_market_the_dashboard_has_no_picker(client, two_markets, settings):
    settings.SPOTIFY_MARKETS = ["FR"]

    page = client.get("/").content.decode()

    # FR's artists (the default market now), and nothing to pick.
    count = Snapshot.objects.get(market="FR").artist_count
    assert f"{count} artists" in page.split('data-testid="result-count"')[1].split("</p>")[0]
    assert 'data-testid="market-picker"' not in page
    assert 'data-testid="sync-markets"' not in page


def test_followed_artists_are_read_once_per_sync_whatever_the_markets(settings):
    # Followed artists belong to no market: one sync spends their budget once, not per market.
    app = FakeSpotify(FakeConfig(release_count=30, followed_artist_count=6))
    settings.ARTIST_ALBUMS_CALLS_PER_RUN = 2
    with serve_in_thread(app) as root:
        point_settings_at(settings, root)
        settings.SPOTIFY_MARKETS = ["US", "FR", "GB"]
        connect(signed_in("erin"), account="fakeuser5")
        before = app.stats()

        sync_run_execute(trigger=SyncRun.Trigger.CLI)

        spent = {key: count - before.get(key, 0) for key, count in app.stats().items()}
        assert spent["GET /v1/me/following"] == 1
        assert spent["GET /v1/artists/{id}/albums"] == 2
        assert FollowedArtist.objects.count() == 6

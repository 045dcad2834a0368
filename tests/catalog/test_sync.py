from datetime import timedelta
from typing import NoReturn

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import OrmQ

from catalog.models import (
    Artist,
    Release,
    ReleaseArtist,
    Snapshot,
    SnapshotEntry,
    SyncRun,
    WebhookDelivery,
    WebhookEndpoint,
)
from catalog.selectors import best_image
from catalog.services import sync_run_execute
from tests.conftest import (
    ACCOUNTS,
    API,
    artists_route,
    load_fixture,
    new_release_pages,
    release_items,
    token_route,
)

pytestmark = pytest.mark.django_db


def _sync() -> SyncRun:
    return sync_run_execute(trigger=SyncRun.Trigger.CLI)


def test_sync_reads_every_page_and_stores_a_snapshot_in_rank_order(spotify_mock):
    token_route(spotify_mock)
    items = release_items(120)
    pages = new_release_pages(spotify_mock, items)
    artists_route(spotify_mock)

    run = _sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert pages.call_count == 3  # 50 + 50 + 20
    assert [c.request.url.params["limit"] for c in pages.calls] == ["50", "50", "50"]
    snapshot = Snapshot.objects.get()
    assert snapshot.source == Snapshot.Source.NEW_RELEASES
    assert snapshot.release_count == 120
    ranked = list(
        SnapshotEntry.objects.filter(snapshot=snapshot)
        .order_by("rank")
        .values_list("release__spotify_id", flat=True)
    )
    assert ranked == [item["id"] for item in items]
    assert run.new_release_count == 120
    assert run.release_count == 120


def test_sync_stores_credits_in_spotify_order(spotify_mock):
    token_route(spotify_mock)
    items = release_items(20)
    multi = items[2]
    multi["artists"] = [
        {"id": "0LyfQWJT6nXafLPZqxe9Of", "name": "Second"},
        *multi["artists"],
        {"id": "2CIMQHirSU0MQqyYHq0eOx", "name": "Third"},
    ]
    new_release_pages(spotify_mock, items)
    artists_route(spotify_mock)
    _sync()
    credited = list(
        ReleaseArtist.objects.filter(release__spotify_id=multi["id"])
        .order_by("position")
        .values_list("artist__spotify_id", flat=True)
    )
    assert credited == [artist["id"] for artist in multi["artists"]]


def test_enrichment_batches_at_most_50_artists_and_fills_details(spotify_mock):
    token_route(spotify_mock)
    items = release_items(120)
    for index, item in enumerate(items):  # one distinct artist per release
        item["artists"] = [
            {"id": f"artist{index:016d}", "name": f"Artist {index}", "type": "artist"}
        ]
    new_release_pages(spotify_mock, items)
    route = artists_route(spotify_mock)

    _sync()

    assert [len(c.request.url.params["ids"].split(",")) for c in route.calls] == [50, 50, 20]
    artist = Artist.objects.get(spotify_id="artist0000000000000007")
    assert artist.followers == load_fixture("artists.json")["artists"][0]["followers"]["total"]
    assert artist.genres == load_fixture("artists.json")["artists"][0]["genres"]
    assert artist.details_fetched_at is not None


def test_enrichment_skips_fresh_artists_and_refetches_stale_ones(spotify_mock, settings):
    settings.ARTIST_DETAILS_TTL_DAYS = 7
    token_route(spotify_mock)
    items = release_items(20)
    new_release_pages(spotify_mock, items)
    route = artists_route(spotify_mock)
    _sync()
    assert route.call_count == 1
    _sync()
    assert route.call_count == 1  # every artist is fresh
    stale = Artist.objects.order_by("spotify_id")[0]
    Artist.objects.filter(pk=stale.pk).update(details_fetched_at=timezone.now() - timedelta(days=8))
    _sync()
    assert route.call_count == 2
    assert route.calls.last.request.url.params["ids"] == stale.spotify_id


def test_missing_followers_and_popularity_stay_null(spotify_mock):
    token_route(spotify_mock)
    new_release_pages(spotify_mock, release_items(5))
    artists_route(spotify_mock, followers=None, popularity=None, genres=[])
    _sync()
    assert Artist.objects.filter(followers__isnull=False).count() == 0
    assert Artist.objects.filter(popularity__isnull=False).count() == 0


def test_a_resync_that_changes_nothing_writes_nothing_new(spotify_mock):
    token_route(spotify_mock)
    items = release_items(60)
    new_release_pages(spotify_mock, items)
    artists_route(spotify_mock, items)
    first = _sync()
    before = set(Release.objects.values_list("spotify_id", "updated_at"))
    second = _sync()
    assert second.status == SyncRun.Status.SUCCEEDED
    assert (second.new_release_count, second.updated_release_count) == (0, 0)
    assert (second.new_artist_count, second.updated_artist_count) == (0, 0)
    assert set(Release.objects.values_list("spotify_id", "updated_at")) == before
    assert Snapshot.objects.count() == 1
    assert SnapshotEntry.objects.count() == first.release_count == 60


def test_a_changed_release_counts_as_updated(spotify_mock):
    token_route(spotify_mock)
    items = release_items(10)
    route = new_release_pages(spotify_mock, items)
    artists_route(spotify_mock, items)
    _sync()
    items[3] = items[3] | {"name": "Renamed"}
    route.side_effect = new_release_pages(spotify_mock, items).side_effect
    run = _sync()
    assert (run.new_release_count, run.updated_release_count) == (0, 1)
    assert Release.objects.get(spotify_id=items[3]["id"]).name == "Renamed"


def test_failure_rolls_back_and_keeps_the_previous_data(spotify_mock, sleeps):
    token_route(spotify_mock)
    new_release_pages(spotify_mock, release_items(30))
    artists_route(spotify_mock)
    assert _sync().status == SyncRun.Status.SUCCEEDED
    before = list(SnapshotEntry.objects.values_list("release__spotify_id", "rank"))

    newcomers = release_items(60)[30:]
    for index, item in enumerate(newcomers):
        item["artists"] = [{"id": f"newcomer{index:014d}", "name": f"Newcomer {index}"}]
    spotify_mock.get(f"{API}/browse/new-releases").mock(
        side_effect=[httpx.Response(200, json={"albums": {"items": newcomers, "next": None}})]
    )
    spotify_mock.get(f"{API}/artists").mock(side_effect=None).respond(500)
    run = _sync()

    assert run.status == SyncRun.Status.FAILED
    assert "500" in run.error
    assert run.finished_at is not None
    assert list(SnapshotEntry.objects.values_list("release__spotify_id", "rank")) == before
    assert Release.objects.count() == 30


def test_sql_statements_do_not_grow_with_the_number_of_releases(spotify_mock):
    def statements(count: int) -> int:
        Release.objects.all().delete()
        Artist.objects.all().delete()
        Snapshot.objects.all().delete()
        with respx_pages(count), CaptureQueriesContext(connection) as queries:
            _sync()
        return len(queries)

    def respx_pages(count: int):
        import respx

        router = respx.mock(assert_all_called=False)
        token_route(router)
        items = release_items(count)
        for index, item in enumerate(items):
            item["artists"] = [{"id": f"artist{index:016d}", "name": f"A{index}"}]
        new_release_pages(router, items, page_size=50)
        artists_route(router, items)
        return router

    statements(1)  # warm up: the app token is obtained and stored once
    # Same Spotify calls (1 page, 1 artist batch, 2 album batches), twice the items.
    small = statements(21)
    large = statements(40)
    assert small == large


def test_sync_releases_command_prints_one_line(spotify_mock, capsys):
    token_route(spotify_mock)
    new_release_pages(spotify_mock, release_items(20))
    artists_route(spotify_mock)
    call_command("sync_releases")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("Synced 20 releases and ")
    assert "Spotify calls in" in out[0]


def test_sync_releases_command_fails_with_one_clear_line(spotify_mock):
    spotify_mock.post(f"{ACCOUNTS}/api/token").respond(
        400, json=load_fixture("auth-invalid-client.json")
    )
    with pytest.raises(CommandError) as caught:
        call_command("sync_releases")
    assert str(caught.value) == (
        "Sync failed: Spotify rejected the client credentials (invalid_client: Invalid client): "
        "check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET"
    )
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED


def test_two_syncs_make_one_token_request(spotify_mock):
    route = token_route(spotify_mock)
    new_release_pages(spotify_mock, release_items(5))
    artists_route(spotify_mock)
    _sync()
    _sync()
    assert route.call_count == 1


def test_sync_stores_the_image_best_image_picks(spotify_mock):
    token_route(spotify_mock)
    items = release_items(3)
    items[1]["images"] = []
    new_release_pages(spotify_mock, items)
    artists_route(spotify_mock, items)
    _sync()
    for item in items:
        release = Release.objects.get(spotify_id=item["id"])
        assert release.image_url == (best_image(item["images"]) or "")
    assert Release.objects.get(spotify_id=items[0]["id"]).image_url.startswith("https://i.scdn.co/")
    assert Release.objects.get(spotify_id=items[1]["id"]).image_url == ""
    artist = Artist.objects.exclude(details_fetched_at=None).first()
    assert artist is not None
    assert artist.image_url == best_image(artist.images)


# --- no run is ever left `running` ------------------------------------------------------------


def test_an_unexpected_error_while_fetching_fails_the_run_with_a_short_reason(spotify_mock):
    token_route(spotify_mock)
    new_release_pages(spotify_mock, release_items(5))
    artists_route(spotify_mock)
    assert _sync().status == SyncRun.Status.SUCCEEDED
    before = list(SnapshotEntry.objects.values_list("release__spotify_id", "rank"))
    # A bug deep in the client, whose message quotes a token: the run must not repeat it.
    spotify_mock.get(f"{API}/browse/new-releases").mock(
        side_effect=TypeError("can't compare 'Bearer sk-very-secret-token-123456' to int")
    )

    run = _sync()

    run.refresh_from_db()
    assert run.status == SyncRun.Status.FAILED
    assert run.error == "Unexpected error (TypeError); the worker's log has the details"
    assert run.finished_at is not None
    assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()
    assert list(SnapshotEntry.objects.values_list("release__spotify_id", "rank")) == before


def test_the_command_reports_an_unexpected_error_in_one_line(spotify_mock):
    token_route(spotify_mock)
    spotify_mock.get(f"{API}/browse/new-releases").mock(side_effect=TypeError("deep inside"))
    with pytest.raises(CommandError) as caught:
        call_command("sync_releases")
    assert str(caught.value) == (
        "Sync failed: Unexpected error (TypeError); the worker's log has the details"
    )
    assert SyncRun.objects.get().status == SyncRun.Status.FAILED


@pytest.mark.django_db(transaction=True)
def test_a_failed_track_stage_leaves_the_run_succeeded_and_its_webhooks_queued(spotify_mock):
    """The snapshot committed before the track stage: the run stands, with a warning, and the
    receivers hear of its new releases, queued as the snapshot committed (a worker killed in the
    track stage would lose nothing either)."""
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/new")
    token_route(spotify_mock)
    items = release_items(3)
    new_release_pages(spotify_mock, items, with_albums=False)
    artists_route(spotify_mock, items)
    queued_when_tracks_began: list[int] = []

    def albums(request: object) -> NoReturn:
        queued_when_tracks_began.append(WebhookDelivery.objects.count())
        raise TypeError("deep inside the track stage")

    spotify_mock.get(f"{API}/albums").mock(side_effect=albums)

    run = _sync()

    run.refresh_from_db()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.warnings == [
        "Track lists left for the next sync: Unexpected error (TypeError); "
        "the worker's log has the details"
    ]
    assert Snapshot.objects.get().release_count == 3
    assert queued_when_tracks_began == [1]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.endpoint, delivery.sync_run) == (endpoint, run)
    assert sorted(delivery.release_ids) == sorted(item["id"] for item in items)
    (task,) = OrmQ.objects.all()
    assert task.func() == "catalog.webhooks.tasks.webhook_delivery_attempt"
    assert task.task["args"] == (delivery.pk, 1)


def test_unsafe_links_and_images_from_spotify_never_reach_the_api_or_the_feed(spotify_mock, client):
    token_route(spotify_mock)
    items = release_items(2)
    hostile = {
        "javascript:alert(1)",
        "http://i.scdn.co/image/plain-http",
        "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "https://evil.example/cover.jpg",
    }
    items[0] = items[0] | {
        "external_urls": {"spotify": "javascript:alert(1)"},
        "images": [{"url": url, "width": 300, "height": 300} for url in sorted(hostile)],
    }
    items[0]["artists"] = [
        items[0]["artists"][0] | {"external_urls": {"spotify": "https://evil.example/artist"}}
    ]
    new_release_pages(spotify_mock, items)
    artists_route(spotify_mock, items, images=[{"url": "data:image/png;base64,AAAA"}])

    assert _sync().status == SyncRun.Status.SUCCEEDED

    release = Release.objects.get(spotify_id=items[0]["id"])
    assert (release.spotify_url, release.images, release.image_url) == ("", [], "")
    outputs = [
        client.get(path).getvalue().decode()
        for path in (
            "/api/releases/",
            "/api/artists/",
            f"/api/releases/{items[0]['id']}/",
            "/api/releases.csv",
            "/feeds/releases.atom",
            "/",
        )
    ]
    assert all(items[0]["id"] in output for output in outputs[:-1])  # the release is there
    for output in outputs:
        for bad in (*hostile, "evil.example", "data:image"):
            assert bad not in output
    # The other release keeps its recorded link and cover.
    assert Release.objects.get(spotify_id=items[1]["id"]).image_url.startswith("https://i.scdn.co/")

import pytest
import respx

from catalog.models import Release, SyncRun, Track
from catalog.services import sync_run_execute
from tests.conftest import (
    API,
    albums_route,
    artists_route,
    full_album,
    load_fixture,
    new_release_pages,
    release_items,
    token_route,
)

pytestmark = pytest.mark.django_db


def _sync() -> SyncRun:
    return sync_run_execute(trigger=SyncRun.Trigger.CLI)


def _spotify(router: respx.MockRouter, items, *, with_albums: bool = True) -> None:
    token_route(router)
    new_release_pages(router, items, with_albums=with_albums)
    artists_route(router, items)


def test_a_new_release_gets_its_tracks_label_and_popularity(spotify_mock):
    items = release_items(3)
    _spotify(spotify_mock, items)

    run = _sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    release = Release.objects.get(spotify_id=items[0]["id"])
    assert release.label == "Test Label"
    assert release.popularity == 42
    assert release.tracks_fetched_at is not None
    tracks = list(release.tracks.order_by("track_number"))
    assert [(t.track_number, t.name, t.explicit) for t in tracks] == [
        (1, "Track 1", False),
        (2, "Track 2", True),
        (3, "Track 3", False),
    ]
    assert tracks[0].duration_ms == 180_001
    assert tracks[0].artists == [
        {"id": items[0]["artists"][0]["id"], "name": items[0]["artists"][0]["name"]}
    ]
    assert Track.objects.count() == 9


def test_albums_are_asked_in_batches_of_20_and_only_once(spotify_mock):
    items = release_items(45)
    token_route(spotify_mock)
    albums = albums_route(spotify_mock, items)
    new_release_pages(spotify_mock, items, with_albums=False)
    artists_route(spotify_mock, items)

    _sync()
    asked = [c.request.url.params["ids"].split(",") for c in albums.calls]
    assert [len(ids) for ids in asked] == [20, 20, 5]
    assert sorted(i for ids in asked for i in ids) == sorted(item["id"] for item in items)

    _sync()
    assert albums.call_count == 3  # every release already has its tracks: no more calls


def test_a_recorded_album_payload_is_stored(spotify_mock):
    recorded = load_fixture("get_album_post_feb2026.json")
    item = {k: v for k, v in recorded.items() if k not in ("tracks", "label", "popularity")}
    token_route(spotify_mock)
    spotify_mock.get(f"{API}/albums").respond(200, json={"albums": [recorded]})
    new_release_pages(spotify_mock, [item], with_albums=False)
    artists_route(spotify_mock, [item])

    assert _sync().status == SyncRun.Status.SUCCEEDED
    release = Release.objects.get(spotify_id=recorded["id"])
    assert release.label == recorded["label"]
    assert release.popularity == recorded["popularity"]
    stored = list(release.tracks.values_list("spotify_id", flat=True))
    assert stored == [track["id"] for track in recorded["tracks"]["items"]]


def test_missing_label_and_popularity_stay_null(spotify_mock):
    items = release_items(2)
    token_route(spotify_mock)
    spotify_mock.get(f"{API}/albums").respond(
        200,
        json={
            "albums": [
                {k: v for k, v in full_album(item).items() if k not in ("label", "popularity")}
                for item in items
            ]
        },
    )
    new_release_pages(spotify_mock, items, with_albums=False)
    artists_route(spotify_mock, items)
    _sync()
    assert set(Release.objects.values_list("label", "popularity")) == {(None, None)}
    assert Track.objects.count() == 6


def test_forbidden_albums_fall_back_to_album_tracks_bounded_per_run(spotify_mock, settings):
    settings.TRACKS_PER_RUN_FALLBACK_LIMIT = 2
    items = release_items(3)
    token_route(spotify_mock)
    forbidden = spotify_mock.get(f"{API}/albums").respond(
        403, json={"error": {"status": 403, "message": "Forbidden"}}
    )
    per_album = spotify_mock.get(url__regex=rf"{API}/albums/(?P<album_id>\w+)/tracks").mock(
        side_effect=lambda request, album_id: respx.MockResponse(
            200,
            json=full_album(next(i for i in items if i["id"] == album_id), tracks=2)["tracks"],
        )
    )
    new_release_pages(spotify_mock, items, with_albums=False)
    artists_route(spotify_mock, items)

    run = _sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert forbidden.call_count == 1
    assert per_album.call_count == 2
    assert Release.objects.filter(tracks_fetched_at__isnull=False).count() == 2
    assert Track.objects.count() == 4
    assert any("TRACKS_PER_RUN_FALLBACK_LIMIT=2" in warning for warning in run.warnings)
    assert Release.objects.filter(label__isnull=False).count() == 0

    _sync()
    assert per_album.call_count == 3  # only the one still missing
    assert forbidden.call_count == 1  # the refusal is remembered: no second 403
    assert Release.objects.filter(tracks_fetched_at__isnull=True).count() == 0


def test_a_track_fetch_failure_does_not_fail_the_sync(spotify_mock, sleeps):
    items = release_items(3)
    token_route(spotify_mock)
    spotify_mock.get(f"{API}/albums").respond(500)
    new_release_pages(spotify_mock, items, with_albums=False)
    artists_route(spotify_mock, items)

    run = _sync()

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert Release.objects.count() == 3
    assert Release.objects.filter(tracks_fetched_at__isnull=False).count() == 0
    assert any(warning.startswith("Track lists left for the next sync") for warning in run.warnings)


def test_release_detail_shows_the_stored_track_list(spotify_mock, client):
    items = release_items(1)
    _spotify(spotify_mock, items)
    _sync()
    body = client.get(f"/api/releases/{items[0]['id']}/").json()
    assert [track["name"] for track in body["tracks"]] == ["Track 1", "Track 2", "Track 3"]
    assert body["label"] == "Test Label"
    assert body["tracks_fetched_at"] is not None
    assert body["artists"][0]["id"] == items[0]["artists"][0]["id"]

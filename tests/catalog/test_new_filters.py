import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from catalog.models import Release, SyncRun
from catalog.services import sync_run_execute
from tests.conftest import artists_route, new_release_pages, release_items, token_route
from tests.factories import ArtistFactory, ReleaseFactory, SyncRunFactory, credit, snapshot_with

pytestmark = pytest.mark.django_db

VARIOUS_ARTISTS_ID = "0LyfQWJT6nXafLPZqxe9Of"
SYNC_STARTED = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def _run(status: SyncRun.Status, started_at: datetime) -> SyncRun:
    return SyncRunFactory.create(status=status, started_at=started_at)


def _release(first_seen_at: datetime, *artists, **kwargs) -> Release:
    release = ReleaseFactory.create(first_seen_at=first_seen_at, **kwargs)
    credit(release, *(artists or [ArtistFactory.create()]))
    return release


@pytest.fixture
def catalog():
    """Two releases from before the latest successful sync, two it brought, one compilation."""
    _run(SyncRun.Status.SUCCEEDED, SYNC_STARTED - timedelta(days=1))
    _run(SyncRun.Status.SUCCEEDED, SYNC_STARTED)
    _run(SyncRun.Status.FAILED, SYNC_STARTED + timedelta(hours=1))  # not a successful sync
    various = ArtistFactory.create(spotify_id=VARIOUS_ARTISTS_ID, name="Various Artists")
    veteran = ArtistFactory.create(name="Veteran")
    newcomer = ArtistFactory.create(name="Newcomer")
    releases = {
        "old": _release(SYNC_STARTED - timedelta(days=1, seconds=-5), veteran),
        "older": _release(SYNC_STARTED - timedelta(days=3), ArtistFactory.create()),
        "new": _release(SYNC_STARTED + timedelta(seconds=3), newcomer),
        "new_by_veteran": _release(SYNC_STARTED + timedelta(seconds=4), veteran),
        "compilation": _release(
            SYNC_STARTED + timedelta(seconds=5), various, newcomer, album_type="compilation"
        ),
    }
    snapshot_with(list(releases.values()))
    return releases


def _release_ids(client, query: dict[str, str]) -> set[str]:
    response = client.get("/api/releases/", query)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(body["items"])
    return {item["id"] for item in body["items"]}


def _ids(*releases: Release) -> set[str]:
    return {release.spotify_id for release in releases}


def test_new_keeps_the_releases_first_seen_by_the_latest_successful_sync(client, catalog):
    assert _release_ids(client, {"new": "true"}) == _ids(
        catalog["new"], catalog["new_by_veteran"], catalog["compilation"]
    )
    assert len(_release_ids(client, {"new": "false"})) == 5


def test_new_before_any_successful_sync_is_empty(client):
    _run(SyncRun.Status.FAILED, SYNC_STARTED)
    snapshot_with([_release(SYNC_STARTED + timedelta(seconds=1))])
    assert _release_ids(client, {"new": "true"}) == set()
    assert len(_release_ids(client, {})) == 1


def test_first_seen_after_is_a_strict_cursor(client, catalog):
    new = catalog["new"]
    cursor = new.first_seen_at.isoformat()
    assert _release_ids(client, {"first_seen_after": cursor}) == _ids(
        catalog["new_by_veteran"], catalog["compilation"]
    )
    items = client.get("/api/releases/", {"first_seen_after": cursor}).json()["items"]
    latest = max(datetime.fromisoformat(item["first_seen_at"]) for item in items)
    assert _release_ids(client, {"first_seen_after": latest.isoformat()}) == set()


def test_first_seen_after_without_offset_is_utc(client, catalog):
    naive = (SYNC_STARTED + timedelta(seconds=4)).replace(tzinfo=None).isoformat()
    assert _release_ids(client, {"first_seen_after": naive}) == _ids(catalog["compilation"])


def test_a_bad_cursor_is_a_422_naming_it(client, catalog):
    response = client.get("/api/releases/", {"first_seen_after": "yesterday"})
    assert response.status_code == 422
    assert "first_seen_after" in response.json()["detail"]


def test_exclude_various_artists_on_releases(client, catalog):
    kept = _release_ids(client, {"exclude_various_artists": "true"})
    assert catalog["compilation"].spotify_id not in kept
    assert len(kept) == 4
    assert _release_ids(client, {"exclude_various_artists": "true", "new": "true"}) == _ids(
        catalog["new"], catalog["new_by_veteran"]
    )


def test_artists_new_lists_artists_with_new_releases_and_only_those_releases(client, catalog):
    body = client.get("/api/artists/", {"new": "true", "ordering": "name"}).json()
    by_name = {item["name"]: {r["id"] for r in item["releases"]} for item in body["items"]}
    assert by_name == {
        "Newcomer": _ids(catalog["new"], catalog["compilation"]),
        "Various Artists": _ids(catalog["compilation"]),
        "Veteran": _ids(catalog["new_by_veteran"]),
    }
    assert body["count"] == 3


def test_artists_exclude_various_artists_keeps_artists_for_their_other_releases(client, catalog):
    body = client.get(
        "/api/artists/", {"exclude_various_artists": "true", "ordering": "name"}
    ).json()
    by_name = {item["name"]: {r["id"] for r in item["releases"]} for item in body["items"]}
    assert "Various Artists" not in by_name
    assert by_name["Newcomer"] == _ids(catalog["new"])  # the compilation is gone, not the artist
    assert body["count"] == 3


def test_release_items_carry_first_seen_at(client, catalog):
    items = client.get("/api/releases/").json()["items"]
    first_seen = {item["id"]: datetime.fromisoformat(item["first_seen_at"]) for item in items}
    assert first_seen[catalog["new"].spotify_id] == catalog["new"].first_seen_at


def test_csv_exports_take_the_new_filters(client, catalog):
    response = client.get("/api/releases.csv", {"new": "true", "exclude_various_artists": "1"})
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode(), newline="")))
    assert {row["id"] for row in rows} == _ids(catalog["new"], catalog["new_by_veteran"])
    artists = client.get("/api/artists.csv", {"new": "true"}).getvalue().decode()
    names = {row["name"] for row in csv.DictReader(io.StringIO(artists, newline=""))}
    assert names == {"Newcomer", "Various Artists", "Veteran"}


def test_openapi_shows_the_new_parameters(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in ("/api/artists/", "/api/releases/", "/api/artists.csv", "/api/releases.csv"):
        names = {parameter["name"] for parameter in paths[path]["get"]["parameters"]}
        assert {"new", "first_seen_after", "exclude_various_artists"} <= names, path


def test_a_resync_keeps_first_seen_at(spotify_mock):
    token_route(spotify_mock)
    items = release_items(3)
    new_release_pages(spotify_mock, items)
    artists_route(spotify_mock, items)
    sync_run_execute(trigger=SyncRun.Trigger.CLI)
    before = dict(Release.objects.values_list("spotify_id", "first_seen_at"))
    items[0]["name"] = "Renamed"  # an update, so the row is rewritten

    again = sync_run_execute(trigger=SyncRun.Trigger.CLI)

    assert again.updated_release_count == 1
    assert dict(Release.objects.values_list("spotify_id", "first_seen_at")) == before

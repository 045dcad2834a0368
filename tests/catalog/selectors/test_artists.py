"""The artist list writes its JSON from the schemas' fields, and the dashboard grid reads it."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from ninja import Schema

from catalog.labels import release_date_label
from catalog.models import Release
from catalog.schemas import ArtistOut, DashboardArtistOut, ReleaseOut
from catalog.selectors import ArtistFilterSet, artist_grid, artist_list
from catalog.selectors.artists import ArtistUrls, artist_json_sql
from tests.factories import ArtistFactory, ReleaseFactory, SyncRunFactory, credit, snapshot_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def snapshot():
    artist = ArtistFactory.create(name="Nova Static")
    older = ReleaseFactory.create(name="Older", release_date_sort=date(2026, 1, 1))
    newer = ReleaseFactory.create(name="Newer", release_date_sort=date(2026, 11, 1))
    credit(older, artist)
    credit(newer, artist)
    return snapshot_with([older, newer])


def test_the_json_has_exactly_the_schemas_fields_in_their_order(snapshot):
    (item,) = artist_list(snapshot=snapshot, limit=5, offset=0).items
    assert list(item) == list(ArtistOut.model_fields)
    assert list(item["releases"][0]) == list(ReleaseOut.model_fields)


def test_a_field_added_to_a_schema_is_written_by_the_sql(snapshot):
    (item,) = artist_list(snapshot=snapshot, limit=5, offset=0, schema=DashboardArtistOut).items
    assert "new" in item["releases"][0]
    # No sync has succeeded yet: nothing is "New".
    assert DashboardArtistOut.model_validate(item).releases[0].new is False


def test_a_schema_field_the_sql_cannot_write_fails_loudly():
    class Drifted(ArtistOut):
        mood: str

    with pytest.raises(KeyError, match="mood"):
        artist_json_sql(Drifted)


def test_a_release_field_the_sql_cannot_write_fails_loudly():
    class DriftedRelease(ReleaseOut):
        mood: str

    class Drifted(ArtistOut):
        releases: list[DriftedRelease]  # type: ignore[assignment]

    assert issubclass(DriftedRelease, Schema)
    with pytest.raises(KeyError, match="mood"):
        artist_json_sql(Drifted)


def test_the_grid_is_one_statement_with_each_artists_latest_release(snapshot):
    with CaptureQueriesContext(connection) as queries:
        grid = artist_grid(snapshot=snapshot, filters=ArtistFilterSet(), page_number=1, per_page=24)
    assert len(queries) == 1
    (card,) = grid.cards
    assert card.latest is not None
    assert card.latest.name == "Newer"
    assert card.release_count == 2
    assert grid.page.paginator.count == 1


def test_past_the_last_page_the_grid_shows_the_last_page(snapshot):
    grid = artist_grid(snapshot=snapshot, filters=ArtistFilterSet(), page_number=9, per_page=24)
    assert grid.page.number == 1
    assert [card.name for card in grid.cards] == ["Nova Static"]


def test_a_card_carries_its_labels_ready_to_print():
    artist = ArtistFactory.create(name="élan vital", genres=["a", "b", "c", "d"], image_url="")
    releases = [
        ReleaseFactory.create(
            name=f"Release {precision}",
            album_type="single",
            release_date=release_date,
            release_date_precision=precision,
            release_date_sort=date(2026, 11, day),
            image_url=image_url,
        )
        for day, (release_date, precision, image_url) in enumerate(
            [
                ("2026-11", "month", ""),
                ("2026", "year", ""),
                ("2026-11-03", "day", "https://i.scdn.co/image/cover"),
            ],
            start=1,
        )
    ]
    for release in releases:
        credit(release, artist)
    snapshot = snapshot_with(releases)
    (card,) = artist_grid(
        snapshot=snapshot, filters=ArtistFilterSet(), page_number=1, per_page=24
    ).cards
    assert card.url == reverse("artist-detail", args=[artist.spotify_id])
    assert card.initial == "É"
    assert card.genres == ["a", "b", "c"]
    assert card.image == "https://i.scdn.co/image/cover"
    assert card.latest is not None
    assert (card.latest.album_type_label, card.latest.release_date_label) == (
        "Single",
        "3 Nov 2026",
    )
    assert card.release_count == 3
    assert card.more == "and 2 more new releases"
    labels = [
        release_date_label(release_date=release.release_date, precision=precision)
        for release, precision in zip(releases, ["month", "year", "day"], strict=True)
    ]
    assert labels == ["Nov 2026", "2026", "3 Nov 2026"]


def test_a_card_without_cover_or_more_releases(snapshot):
    Release.objects.filter(name="Older").delete()
    (card,) = artist_grid(
        snapshot=snapshot, filters=ArtistFilterSet(), page_number=1, per_page=24
    ).cards
    assert card.more == ""
    # The artist's picture stands in for a release without a cover.
    assert card.image == "https://i.scdn.co/image/a"


def test_only_releases_first_seen_by_the_latest_successful_sync_are_new(snapshot):
    SyncRunFactory.create(started_at=timezone.now() - timedelta(days=1))
    Release.objects.filter(name="Newer").update(first_seen_at=timezone.now())
    Release.objects.filter(name="Older").update(first_seen_at=timezone.now() - timedelta(days=2))
    (item,) = artist_list(snapshot=snapshot, limit=5, offset=0, schema=DashboardArtistOut).items
    assert [(release["name"], release["new"]) for release in item["releases"]] == [
        ("Newer", True),
        ("Older", False),
    ]
    (card,) = artist_grid(
        snapshot=snapshot, filters=ArtistFilterSet(), page_number=1, per_page=24
    ).cards
    assert card.latest is not None
    assert card.latest.new is True


@pytest.mark.parametrize("spotify_id", ["4Z8W4fKeB5YxbusRsdQVPb", "0", "x y", "é"])
def test_card_urls_are_the_artist_pages_reversed(spotify_id):
    assert ArtistUrls()(spotify_id) == reverse("artist-detail", args=[spotify_id])

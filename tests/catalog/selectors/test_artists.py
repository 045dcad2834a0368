"""The artist list writes its JSON from the schemas' fields, and the dashboard grid reads it."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from ninja import Schema

from catalog.schemas import ArtistOut, DashboardArtistOut, ReleaseOut
from catalog.selectors import ArtistFilterSet, artist_grid, artist_list
from catalog.selectors.artists import artist_json_sql
from tests.factories import ArtistFactory, ReleaseFactory, credit, snapshot_with

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
    assert "first_seen_at" in item["releases"][0]
    assert DashboardArtistOut.model_validate(item).releases[0].first_seen_at is not None


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
    assert [card.artist.name for card in grid.cards] == ["Nova Static"]

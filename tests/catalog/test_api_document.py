"""`/api/artists/` is written by PostgreSQL in one statement (selectors.artist_list_json): its
answers must keep the bytes ninja's renderer wrote, and need no transaction."""

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.caching import data_version
from catalog.models import SyncRun
from catalog.selectors import ArtistFilterSet, artist_list, best_image
from tests.factories import ArtistFactory, ReleaseFactory, SyncRunFactory, credit, snapshot_with

pytestmark = pytest.mark.django_db

EVERY_FILTER = (
    "/api/artists/?q=bj&genre=pop&album_type=album&released_after=2026-01-01"
    "&released_before=2026-12-31&new=true&first_seen_after=2000-01-01T00:00:00Z"
    "&exclude_various_artists=true&ordering=-followers&limit=5&offset=0"
)


@pytest.mark.parametrize(
    "artist_name", ["Björk Guðmundsdóttir ✓", "DEL \x7f, tab \t, astral 😀", "\\x41 \\U0001F600"]
)
def test_the_body_is_what_json_dumps_writes_non_ascii_escaped(client, artist_name):
    release = ReleaseFactory.create(name='Vespertine "Live" \\ naïve')
    credit(release, ArtistFactory.create(name=artist_name, genres=["pop", "décor ✓"]))
    snapshot_with([release])

    response = client.get("/api/artists/")

    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response.content == json.dumps(response.json()).encode()
    assert response.json()["items"][0]["name"] == artist_name
    assert response.json()["items"][0]["releases"][0]["name"] == 'Vespertine "Live" \\ naïve'


@pytest.mark.parametrize(
    "fetched_at",
    [
        datetime(2026, 11, 30, 6, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 6, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 11, 30, 6, 0, 0, 999, tzinfo=UTC),
    ],
)
def test_fetched_at_is_written_as_django_writes_datetimes(client, fetched_at):
    release = ReleaseFactory.create()
    credit(release, ArtistFactory.create())
    snapshot_with([release], fetched_at=fetched_at)

    body = client.get("/api/artists/").json()

    assert body["snapshot"]["fetched_at"] == json.loads(
        json.dumps(fetched_at, cls=DjangoJSONEncoder)
    )


@pytest.mark.parametrize(
    "images",
    [
        [],
        [{"url": "a", "width": 640}, {"url": "b", "width": 300}, {"url": "c", "width": 64}],
        [{"url": "a", "width": 200}, {"url": "b", "width": 400}],  # a tie: the first wins
        [{"url": "a", "width": 640}, {"url": "b", "width": None}],  # unknown width: 300
        [{"url": "a", "width": 0}, {"url": "b", "width": 290}],  # zero: 300 too
        [{"url": "a"}, {"url": "b", "width": 300}],
    ],
)
def test_the_image_is_the_one_best_image_picks(client, images: list[dict[str, Any]]):
    release = ReleaseFactory.create(images=images)
    credit(release, ArtistFactory.create(images=images))
    snapshot_with([release])

    item = client.get("/api/artists/").json()["items"][0]

    assert item["image"] == best_image(images)
    assert item["releases"][0]["image"] == best_image(images)


def test_images_that_are_not_a_list_give_no_image(client):
    release = ReleaseFactory.create(images={"url": "odd"})
    credit(release, ArtistFactory.create(images={}))
    snapshot_with([release])

    item = client.get("/api/artists/").json()["items"][0]

    assert item["image"] is None
    assert item["releases"][0]["image"] is None


def test_past_the_last_page_the_count_is_still_given(client):
    releases = [ReleaseFactory.create() for _ in range(3)]
    for release in releases:
        credit(release, ArtistFactory.create())
    snapshot_with(releases)

    body = client.get("/api/artists/?offset=10&album_type=album").json()

    assert body["count"] == 3
    assert body["items"] == []


@pytest.mark.parametrize("path", ["/api/artists/?limit=50", EVERY_FILTER])
def test_an_uncached_artist_list_is_one_statement(client, settings, path):
    settings.API_RESPONSE_CACHE = False
    release = ReleaseFactory.create(album_type="album", release_date_sort=date(2026, 6, 1))
    credit(release, ArtistFactory.create(name="Björk", genres=["pop"]))
    snapshot_with([release])
    SyncRunFactory.create(trigger=SyncRun.Trigger.CLI, status=SyncRun.Status.SUCCEEDED)
    data_version()  # read once every few seconds, not per request

    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)

    assert response.status_code == 200
    assert len(queries) == 1


def test_the_csv_export_reads_the_same_items(client):
    release = ReleaseFactory.create(release_date_sort=date(2026, 11, 28))
    credit(release, ArtistFactory.create(name="Coldplay"))
    snapshot = snapshot_with([release])

    page = artist_list(snapshot=snapshot, limit=10, offset=0, filters=ArtistFilterSet())

    assert page.count == 1
    assert page.items == client.get("/api/artists/").json()["items"]


@pytest.mark.django_db(transaction=True)
def test_only_views_of_several_statements_open_a_transaction(client, settings):
    settings.API_RESPONSE_CACHE = False
    release = ReleaseFactory.create()
    credit(release, ArtistFactory.create())
    snapshot_with([release])
    isolation = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"

    with CaptureQueriesContext(connection) as artists:
        assert client.get("/api/artists/").status_code == 200
    with CaptureQueriesContext(connection) as releases:
        assert client.get("/api/releases/").status_code == 200

    assert not any(isolation in query["sql"] for query in artists)
    assert any(isolation in query["sql"] for query in releases)

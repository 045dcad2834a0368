"""`q` and the other filters mean the same on every read: the API, its CSV twin and the
dashboard compile them in one place."""

from datetime import date

import pytest
from django.db import connection

from catalog.selectors import ArtistFilterSet, ReleaseFilters, artist_list
from catalog.selectors.filters import search_contains_sql
from tests.factories import ArtistFactory, ReleaseFactory, credit, snapshot_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    nova = ArtistFactory.create(name="Nova Static")
    beyonce = ArtistFactory.create(name="Beyoncé")
    harbour = ReleaseFactory.create(name="Glass Harbour", release_date_sort=date(2026, 11, 20))
    other = ReleaseFactory.create(name="Other Days", release_date_sort=date(2026, 11, 25))
    single = ReleaseFactory.create(name="Run Silent", album_type="single")
    credit(harbour, nova)
    credit(other, nova)
    credit(single, beyonce)
    return snapshot_with([harbour, other, single])


def _api_names(client, query: str) -> list[str]:
    return [item["name"] for item in client.get(f"/api/artists/?{query}").json()["items"]]


def _csv_names(client, query: str) -> list[str]:
    response = client.get(f"/api/artists.csv?{query}")
    lines = b"".join(response.streaming_content).decode().splitlines()[1:]
    return [line.split(",")[1] for line in lines]


@pytest.mark.parametrize("q", ["HARBOUR", "harböur", "glass h"])
def test_q_finds_an_artist_by_a_release_name_on_the_api_and_its_csv(client, catalog, q):
    assert _api_names(client, f"q={q}") == ["Nova Static"]
    assert _csv_names(client, f"q={q}") == ["Nova Static"]


def test_a_release_name_match_still_lists_all_the_artists_passing_releases(client, catalog):
    (nova,) = client.get("/api/artists/?q=harbour").json()["items"]
    # The latest release first, as without a search: the search picks artists, not releases.
    assert [release["name"] for release in nova["releases"]] == ["Other Days", "Glass Harbour"]


def test_the_dashboard_and_the_api_find_the_same_artists(client, catalog):
    for q in ["beyonce", "harbour", "silent", "nothing like this", "%"]:
        grid = client.get("/", {"q": q}).context["grid"]
        assert [card.name for card in grid.cards] == _api_names(client, f"q={q}")


def test_q_and_the_release_filters_compose(catalog):
    filters = ArtistFilterSet(q="run", releases=ReleaseFilters(album_type="album"))
    assert artist_list(snapshot=catalog, limit=10, offset=0, filters=filters).items == []


def test_the_openapi_schema_says_what_q_matches(client):
    parameters = client.get("/api/openapi.json").json()["paths"]["/api/artists/"]["get"][
        "parameters"
    ]
    (q,) = [parameter for parameter in parameters if parameter["name"] == "q"]
    assert "release" in q["description"]
    assert "accents ignored" in q["description"]


@pytest.mark.parametrize(
    ("table", "index"),
    [
        ("catalog_artist", "artist_name_search_trgm"),
        ("catalog_release", "release_name_search_trgm"),
    ],
)
def test_a_name_search_over_a_whole_table_uses_its_trigram_index(catalog, table, index):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"EXPLAIN SELECT id FROM {table} WHERE {search_contains_sql('name')}",
            ["harbour"],
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan

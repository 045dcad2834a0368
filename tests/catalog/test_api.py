import json
from datetime import date
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Release, Snapshot
from tests.factories import (
    ArtistFactory,
    ReleaseFactory,
    artist_credited_on,
    credit,
    snapshot_with,
)

pytestmark = pytest.mark.django_db


def _snapshot_with_artists(count: int) -> Snapshot:
    releases = []
    for index in range(count):
        release = ReleaseFactory.create(
            release_date=f"2026-11-{1 + index % 28:02d}",
            release_date_sort=date(2026, 11, 1 + index % 28),
        )
        credit(release, ArtistFactory.create())
        releases.append(release)
    return snapshot_with(releases)


def test_before_any_sync_the_list_is_empty_not_an_error(client):
    response = client.get("/api/artists/")
    assert response.status_code == 200
    assert response.json() == {"snapshot": None, "count": 0, "items": []}


def test_artist_list_contract(client):
    coldplay = ArtistFactory.create(
        spotify_id="4gzpq5DPGxSnKTe4SA8HAU",
        name="Coldplay",
        genres=[],
        popularity=None,
        followers=None,
        images=[
            {"url": "https://i.scdn.co/image/big", "width": 640, "height": 640},
            {"url": "https://i.scdn.co/image/mid", "width": 320, "height": 320},
            {"url": "https://i.scdn.co/image/small", "width": 160, "height": 160},
        ],
    )
    moon = ReleaseFactory.create(
        spotify_id="5SGtrmYbIo0Dsg4kJ4qjM6",
        name="Moon Music",
        release_date="2026-11-28",
        release_date_sort=date(2026, 11, 28),
        images=[{"url": "https://i.scdn.co/image/cover", "width": 300, "height": 300}],
    )
    credit(moon, coldplay)
    snapshot = snapshot_with([moon], market="")

    body = client.get("/api/artists/").json()

    assert body["snapshot"] == {
        "date": snapshot.date.isoformat(),
        "fetched_at": body["snapshot"]["fetched_at"],
        "source": "new-releases",
        "market": None,
    }
    assert body["count"] == 1
    assert body["items"] == [
        {
            "id": "4gzpq5DPGxSnKTe4SA8HAU",
            "name": "Coldplay",
            "spotify_url": "https://open.spotify.com/artist/4gzpq5DPGxSnKTe4SA8HAU",
            "uri": "spotify:artist:4gzpq5DPGxSnKTe4SA8HAU",
            "image": "https://i.scdn.co/image/mid",
            "genres": [],
            "popularity": None,
            "followers": None,
            "latest_release_date": "2026-11-28",
            "releases": [
                {
                    "id": "5SGtrmYbIo0Dsg4kJ4qjM6",
                    "name": "Moon Music",
                    "album_type": "album",
                    "release_date": "2026-11-28",
                    "release_date_precision": "day",
                    "total_tracks": 10,
                    "image": "https://i.scdn.co/image/cover",
                    "spotify_url": "https://open.spotify.com/album/5SGtrmYbIo0Dsg4kJ4qjM6",
                }
            ],
        }
    ]


def test_most_recent_release_first_then_name_and_only_the_latest_snapshot(client):
    old, new_b, new_a = (
        ArtistFactory.create(name="Old"),
        ArtistFactory.create(name="B"),
        ArtistFactory.create(name="A"),
    )
    r_old = ReleaseFactory.create(release_date_sort=date(2026, 11, 1))
    r_new = ReleaseFactory.create(release_date_sort=date(2026, 11, 20))
    r_other = ReleaseFactory.create(release_date_sort=date(2026, 11, 20))
    gone = ReleaseFactory.create()
    credit(r_old, old)
    credit(r_new, new_b)
    credit(r_other, new_a)
    credit(gone, ArtistFactory.create(name="Yesterday only"))
    snapshot_with([gone], date=date(2026, 11, 28))
    snapshot_with([r_old, r_new, r_other], date=date(2026, 11, 29))

    names = [item["name"] for item in client.get("/api/artists/").json()["items"]]
    assert names == ["A", "B", "Old"]


def test_an_artist_lists_only_its_releases_in_the_snapshot(client):
    artist = ArtistFactory.create()
    in_snapshot, elsewhere = ReleaseFactory.create(), ReleaseFactory.create()
    credit(in_snapshot, artist)
    credit(elsewhere, artist)
    snapshot_with([in_snapshot])
    item = client.get("/api/artists/").json()["items"][0]
    assert [r["id"] for r in item["releases"]] == [in_snapshot.spotify_id]


def test_pagination_limit_offset_and_count(client):
    _snapshot_with_artists(7)
    body = client.get("/api/artists/?limit=3&offset=5").json()
    assert body["count"] == 7
    assert len(body["items"]) == 2
    past_the_end = client.get("/api/artists/?limit=3&offset=50").json()
    assert past_the_end["count"] == 7
    assert past_the_end["items"] == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("limit=0", "limit"), ("limit=201", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset")],
)
def test_bad_pagination_is_a_422_naming_the_parameter(client, query, parameter):
    response = client.get(f"/api/artists/?{query}")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert parameter in response.json()["detail"]


def test_query_count_is_constant_whatever_the_page_size(client):
    _snapshot_with_artists(60)
    # The data version costs one query once per API_DATA_VERSION_TTL_SECONDS, not per request.
    client.get("/api/snapshots/")
    counts = []
    for limit in (1, 10, 60):
        with CaptureQueriesContext(connection) as queries:
            assert len(client.get(f"/api/artists/?limit={limit}").json()["items"]) == limit
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2] <= 3


def test_a_page_of_releases_is_one_statement_whatever_its_size(client):
    _snapshot_with_artists(60)
    client.get("/api/snapshots/")  # the data version, read once and cached
    counts = []
    for limit in (1, 10, 60):
        with CaptureQueriesContext(connection) as queries:
            items = client.get(f"/api/releases/?limit={limit}").json()["items"]
        assert [item["rank"] for item in items] == list(range(1, limit + 1))
        assert all(len(item["artists"]) == 1 for item in items)
        counts.append(len(queries))
    # The snapshot, then the page with its artists and count.
    assert counts == [2, 2, 2]


def test_artist_detail_lists_every_release_we_know(client):
    artist = ArtistFactory.create(spotify_id="0TnOYISbd1XYRBk9myaseg")
    newer = ReleaseFactory.create(release_date_sort=date(2026, 11, 20))
    older = ReleaseFactory.create(release_date_sort=date(2025, 1, 1))
    credit(newer, artist)
    credit(older, artist)
    body = client.get("/api/artists/0TnOYISbd1XYRBk9myaseg/").json()
    assert [r["id"] for r in body["releases"]] == [newer.spotify_id, older.spotify_id]
    assert body["latest_release_date"] == "2026-11-20"


def test_artist_detail_pages_the_releases_of_an_artist_credited_on_250(client):
    artist = artist_credited_on(250)
    path = f"/api/artists/{artist.spotify_id}/"

    first = client.get(path).json()
    pages = [client.get(f"{path}?limit=200&offset={offset}").json() for offset in (0, 200)]
    past_the_end = client.get(f"{path}?offset=300").json()

    assert len(first["releases"]) == 50  # the default page
    assert first["release_count"] == 250
    assert first["latest_release_date"] == "2026-11-30"
    assert [len(page["releases"]) for page in pages] == [200, 50]
    dates = [release["release_date_sort"] for release in _every(pages)]
    assert len({release["id"] for release in _every(pages)}) == 250
    assert dates == sorted(dates, reverse=True)
    assert past_the_end["releases"] == []
    assert past_the_end["release_count"] == 250
    assert past_the_end["latest_release_date"] == "2026-11-30"
    assert client.get(f"{path}?limit=201").status_code == 422


def _every(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    releases = [release for page in pages for release in page["releases"]]
    sort_dates = dict(Release.objects.values_list("spotify_id", "release_date_sort"))
    return [release | {"release_date_sort": sort_dates[release["id"]]} for release in releases]


def test_unknown_artist_is_a_json_404(client):
    response = client.get("/api/artists/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No artist with id 'nope'"}


def test_unknown_route_under_api_is_a_json_404(client):
    response = client.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_wrong_method_is_a_json_405(client):
    response = client.post("/api/artists/")
    assert response.status_code == 405
    assert response.json()["detail"].startswith("Method not allowed")


def test_unexpected_error_is_a_json_500_without_traceback(client, monkeypatch):
    def boom(**kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("catalog.selectors.artist_list_json", boom)
    client.raise_request_exception = False
    response = client.get("/api/artists/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert "secret internals" not in response.content.decode()


def test_openapi_docs_are_served_without_a_cdn(client):
    page = client.get("/api/docs").content.decode()
    assert "swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    schema = client.get("/api/openapi.json").json()
    assert "/api/artists/" in schema["paths"]


def _names(client, query: str) -> list[str]:
    response = client.get(f"/api/artists/?{query}")
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["items"]]


def test_q_ignores_case_and_accents(client):
    releases = [ReleaseFactory.create() for _ in range(3)]
    for release, name in zip(releases, ("Beyoncé", "Sigur Rós", "Björk"), strict=True):
        credit(release, ArtistFactory.create(name=name))
    snapshot_with(releases)
    assert _names(client, "q=BEYONCE") == ["Beyoncé"]
    assert _names(client, "q=ros") == ["Sigur Rós"]
    assert _names(client, "q=bjö") == ["Björk"]
    assert _names(client, "q=100%25") == []


def test_genre_album_type_and_release_date_filters(client):
    indie, pop = ArtistFactory.create(genres=["indie"]), ArtistFactory.create(genres=["pop"])
    single = ReleaseFactory.create(album_type="single", release_date_sort=date(2026, 11, 25))
    album = ReleaseFactory.create(album_type="album", release_date_sort=date(2026, 10, 1))
    credit(single, indie)
    credit(album, pop)
    snapshot_with([single, album])
    assert _names(client, "genre=indie") == [indie.name]
    assert _names(client, "album_type=album") == [pop.name]
    assert _names(client, "released_after=2026-11-01") == [indie.name]
    assert _names(client, "released_before=2026-11-01") == [pop.name]
    body = client.get("/api/artists/?album_type=compilation").json()
    assert body["count"] == 0


def test_orderings_put_nulls_last(client):
    a = ArtistFactory.create(name="A", popularity=None, followers=10)
    b = ArtistFactory.create(name="B", popularity=50, followers=None)
    c = ArtistFactory.create(name="C", popularity=90, followers=5)
    releases = []
    for artist in (a, b, c):
        release = ReleaseFactory.create()
        credit(release, artist)
        releases.append(release)
    snapshot_with(releases)
    assert _names(client, "ordering=name") == ["A", "B", "C"]
    assert _names(client, "ordering=-popularity") == ["C", "B", "A"]
    assert _names(client, "ordering=-followers") == ["A", "C", "B"]
    response = client.get("/api/artists/?ordering=shoe-size")
    assert response.status_code == 422
    assert "ordering" in response.json()["detail"]


def test_date_picks_a_snapshot_and_an_unknown_day_is_a_json_404(client):
    old, new = ReleaseFactory.create(), ReleaseFactory.create()
    credit(old, ArtistFactory.create(name="Then"))
    credit(new, ArtistFactory.create(name="Now"))
    snapshot_with([old], date=date(2026, 11, 1))
    snapshot_with([new], date=date(2026, 11, 2))
    assert _names(client, "") == ["Now"]
    assert _names(client, "date=2026-11-01") == ["Then"]
    for path in ("/api/artists/?date=2020-01-01", "/api/releases/?date=2020-01-01"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json() == {"detail": "No snapshot for 2020-01-01"}


def test_release_list_in_rank_order_with_credited_artists(client):
    first, second = ReleaseFactory.create(album_type="single"), ReleaseFactory.create()
    credit(first, ArtistFactory.create(name="Lead"), ArtistFactory.create(name="Feat"))
    credit(second, ArtistFactory.create(name="Solo"))
    snapshot_with([first, second])
    body = client.get("/api/releases/").json()
    assert body["count"] == 2
    assert [item["id"] for item in body["items"]] == [first.spotify_id, second.spotify_id]
    assert [item["rank"] for item in body["items"]] == [1, 2]
    assert [a["name"] for a in body["items"][0]["artists"]] == ["Lead", "Feat"]
    singles = client.get("/api/releases/?album_type=single&limit=1").json()
    assert [item["id"] for item in singles["items"]] == [first.spotify_id]
    assert client.get("/api/releases/?offset=5").json()["count"] == 2


def test_release_detail_and_unknown_release(client):
    release = ReleaseFactory.create(label=None)
    credit(release, ArtistFactory.create(name="Solo"))
    body = client.get(f"/api/releases/{release.spotify_id}/").json()
    assert body["tracks"] == []
    assert body["tracks_fetched_at"] is None
    assert body["label"] is None
    response = client.get("/api/releases/nope/")
    assert response.status_code == 404
    assert response.json() == {"detail": "No release with id 'nope'"}


def test_snapshot_list(client):
    release = ReleaseFactory.create()
    credit(release, ArtistFactory.create())
    snapshot_with([release], date=date(2026, 11, 1))
    snapshot_with([release], date=date(2026, 11, 2), source="search")
    body = client.get("/api/snapshots/").json()
    assert body["count"] == 2
    assert [(s["date"], s["source"], s["release_count"]) for s in body["items"]] == [
        ("2026-11-02", "search", 1),
        ("2026-11-01", "new-releases", 1),
    ]


def test_new_endpoints_are_in_openapi(client):
    schema = client.get("/api/openapi.json").json()
    for path in ("/api/releases/", "/api/releases/{release_id}/", "/api/snapshots/"):
        assert path in schema["paths"]
    parameters = {p["name"]: p for p in schema["paths"]["/api/artists/"]["get"]["parameters"]}
    assert {"q", "genre", "album_type", "released_after", "released_before", "date"} <= set(
        parameters
    )
    assert "-popularity" in json.dumps(parameters["ordering"])


def test_openapi_documents_the_artist_detail_page_and_its_count(client):
    schema = client.get("/api/openapi.json").json()
    operation = schema["paths"]["/api/artists/{artist_id}/"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    detail = schema["components"]["schemas"][body.rsplit("/", 1)[-1]]

    assert parameters["limit"]["maximum"] == 200
    assert parameters["limit"]["default"] == 50
    assert "offset" in parameters
    assert "release_count" in detail["required"]
    assert "releases" in detail["required"]

import csv
import io
import threading
from collections.abc import Iterator
from datetime import date

import pytest
from django.db import connection, connections
from django.http import StreamingHttpResponse

from catalog import exports
from catalog.models import Artist
from catalog.schemas import ArtistOut, RankedReleaseOut, ReleaseSummaryOut
from tests.factories import ArtistFactory, ReleaseFactory, credit, snapshot_with

pytestmark = pytest.mark.django_db

TRICKY_NAMES = [
    'Earth, Wind & Fire "Live", 1979',
    "坂本龍一",
    "Мумий Тролль",
    "محمد عبده",
    "Sigur Rós; 'Ágætis byrjun'\nRemastered",
]


def _rows(response) -> list[dict[str, str]]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.getvalue().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _catalog():
    releases = []
    for index, name in enumerate(TRICKY_NAMES):
        artist = ArtistFactory.create(name=name, genres=["k-pop", "art, pop"])
        release = ReleaseFactory.create(
            name=f"{name} (album)",
            album_type="single" if index % 2 else "album",
            release_date=f"2026-11-{10 + index}",
            release_date_sort=date(2026, 11, 10 + index),
            label='Label, "Quoted"',
        )
        credit(release, artist)
        releases.append(release)
    return releases, snapshot_with(releases)


def test_releases_csv_round_trips_commas_quotes_and_scripts(client):
    releases, snapshot = _catalog()

    response = client.get("/api/releases.csv")

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="releases-{snapshot.date.isoformat()}.csv"'
    )
    rows = _rows(response)
    assert list(rows[0]) == exports.RELEASE_COLUMNS
    assert [row["name"] for row in rows] == [f"{name} (album)" for name in TRICKY_NAMES]
    assert [row["artists"] for row in rows] == TRICKY_NAMES
    assert [row["rank"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["label"] == 'Label, "Quoted"'
    assert rows[0]["id"] == releases[0].spotify_id
    assert rows[0]["popularity"] == ""  # unknown stays empty, not "None"


def test_releases_csv_takes_the_json_filters(client):
    _catalog()
    json_ids = [
        item["id"] for item in client.get("/api/releases/?album_type=single").json()["items"]
    ]
    csv_ids = [row["id"] for row in _rows(client.get("/api/releases.csv?album_type=single"))]
    assert csv_ids == json_ids
    assert len(csv_ids) == 2


def test_artists_csv_round_trips_and_matches_the_json_filters(client):
    _catalog()

    rows = _rows(client.get("/api/artists.csv?ordering=name"))

    assert list(rows[0]) == exports.ARTIST_COLUMNS
    assert sorted(row["name"] for row in rows) == sorted(TRICKY_NAMES)
    assert all(row["genres"] == "k-pop; art, pop" for row in rows)
    query = {"ordering": "name", "q": "тролль"}
    json_names = [item["name"] for item in client.get("/api/artists/", query).json()["items"]]
    csv_names = [row["name"] for row in _rows(client.get("/api/artists.csv", query))]
    assert json_names == ["Мумий Тролль"]
    assert csv_names == json_names


def test_exports_stream_every_row_past_one_page(client, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_PAGE_SIZE", 2)
    _catalog()
    assert len(_rows(client.get("/api/releases.csv"))) == 5
    assert len(_rows(client.get("/api/artists.csv"))) == 5


def test_before_any_sync_the_csv_has_only_its_header(client):
    response = client.get("/api/releases.csv")
    text = response.getvalue().decode()
    assert text == ",".join(exports.RELEASE_COLUMNS) + "\r\n"


def test_errors_stay_json(client):
    missing = client.get("/api/releases.csv?date=2001-01-01")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No snapshot for 2001-01-01"}
    invalid = client.get("/api/artists.csv?ordering=nonsense")
    assert invalid.status_code == 422
    assert invalid.json()["detail"].startswith("Invalid request")


def test_openapi_documents_the_csv_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    operation = paths["/api/artists.csv"]["get"]
    assert "text/csv" in operation["responses"]["200"]["content"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"date", "album_type", "q", "genre", "ordering"} <= names


@pytest.mark.django_db(transaction=True)
def test_a_sync_committing_mid_download_does_not_mix_into_the_file(client, monkeypatch):
    monkeypatch.setattr(exports, "EXPORT_PAGE_SIZE", 2)
    releases = []
    for index in range(6):
        release = ReleaseFactory.create()
        credit(release, ArtistFactory.create(name=f"Before {index}"))
        releases.append(release)
    snapshot_with(releases)

    response = client.get("/api/artists.csv")
    assert isinstance(response, StreamingHttpResponse)
    stream = response.streaming_content
    assert isinstance(stream, Iterator)  # WSGI: a plain iterator, consumed as the client reads
    received = [next(stream), next(stream)]  # the header, then a row of the first page

    def commit_elsewhere() -> None:
        try:
            Artist.objects.update(name="After")  # another connection, committed at once
        finally:
            connections.close_all()

    writer = threading.Thread(target=commit_elsewhere)
    writer.start()
    writer.join(timeout=30)
    received.extend(stream)

    rows = list(csv.reader(io.StringIO(b"".join(received).decode())))[1:]
    assert [row[1] for row in rows] == [f"Before {index}" for index in range(6)]
    # The change did commit: the next download sees it.
    fresh = b"".join(client.get("/api/artists.csv").streaming_content).decode()
    assert "After" in fresh


FORMULAS = ['=HYPERLINK("https://evil.example")', "+1+2", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]


@pytest.mark.parametrize("formula", FORMULAS)
def test_no_text_cell_opens_as_a_formula(client, formula):
    artist = ArtistFactory.create(name=formula, genres=[formula, "pop"])
    release = ReleaseFactory.create(name=formula, label=formula)
    credit(release, artist, ArtistFactory.create(name="Second"))
    snapshot_with([release])

    releases = _rows(client.get("/api/releases.csv"))
    artists = _rows(client.get("/api/artists.csv?ordering=name"))

    cells = [cell for row in releases + artists for cell in row.values()]
    assert not [cell for cell in cells if cell.startswith(exports.FORMULA_TRIGGERS)]
    assert releases[0]["name"] == releases[0]["label"] == f"'{formula}"
    assert releases[0]["artists"] == f"'{formula}; Second"  # a joined list too
    by_name = {row["name"]: row for row in artists}
    assert by_name[f"'{formula}"]["genres"] == f"'{formula}; pop"
    assert by_name[f"'{formula}"]["releases"] == f"'{formula}"
    assert releases[0]["rank"] == "1"


def test_numbers_are_never_prefixed_even_negative_ones():
    assert exports._cell(-5) == -5
    assert exports._cell(0) == 0
    assert exports._cell("-5") == "'-5"  # text that looks like a number is still text
    assert exports._cell(None) == ""


def _transaction_state(pid: int) -> str:
    """`pg_stat_activity`'s state of that backend, read from another connection."""
    states: list[str] = []

    def read() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", [pid])
                states.append(cursor.fetchone()[0])
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    reader.join(timeout=30)
    return states[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/artists.csv", "/api/releases.csv"])
def test_a_paused_reader_holds_no_transaction_open(client, monkeypatch, path):
    monkeypatch.setattr(exports, "EXPORT_PAGE_SIZE", 2)
    releases = []
    for _ in range(6):
        release = ReleaseFactory.create()
        credit(release, ArtistFactory.create())
        releases.append(release)
    snapshot_with(releases)

    response = client.get(path)
    stream = response.streaming_content
    received = [next(stream), next(stream)]  # the reader has started, then pauses
    our_backend = connection.connection.info.backend_pid

    assert _transaction_state(our_backend) != "idle in transaction"
    received.extend(stream)
    assert len(list(csv.reader(io.StringIO(b"".join(received).decode())))) == 7


def test_csv_columns_are_the_schemas_fields():
    assert set(ArtistOut.model_fields) <= set(exports.ARTIST_COLUMNS)
    assert set(RankedReleaseOut.model_fields) <= set(exports.RELEASE_COLUMNS)
    assert {"artist_ids", "release_ids"} <= set(exports.RELEASE_COLUMNS + exports.ARTIST_COLUMNS)
    assert exports.RELEASE_COLUMNS[0] == "rank"


def test_a_field_added_to_a_schema_is_a_csv_column_with_no_other_edit():
    class Extended(ReleaseSummaryOut):
        mood: str

    columns = exports.schema_columns(Extended)
    row = {"mood": "calm", "artists": [{"id": "a1", "name": "Nova"}]}
    values = {column.name: column.value(row) for column in columns if column.name in row}
    assert values == {"mood": "calm", "artists": "Nova"}
    assert [column.value(row) for column in columns if column.name == "artist_ids"] == ["a1"]


def test_a_page_of_the_releases_csv_is_one_statement_whatever_its_rows(
    client, django_assert_num_queries
):
    _catalog()
    client.get("/api/releases.csv").getvalue()  # the data version, read once and cached
    # The snapshot, then the page: one statement writes its rows with their artists.
    with django_assert_num_queries(2):
        rows = _rows(client.get("/api/releases.csv"))
    assert [row["rank"] for row in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["artists"] == TRICKY_NAMES[0]

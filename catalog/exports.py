"""CSV twins of the list endpoints: same filters, every matching row, read first, then streamed."""

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router

from catalog import selectors
from catalog.api import (
    ArtistFilters,
    NoveltyFilters,
    SnapshotChoice,
    artist_release_filters,
    snapshot_for_choice,
)
from catalog.models import Snapshot
from catalog.schemas import ErrorOut
from common.db import repeatable_read

router = Router(tags=["exports"])

# Rows are read a page at a time: each page costs the selector's fixed number of queries.
EXPORT_PAGE_SIZE = 200
LIST_SEPARATOR = "; "

RELEASE_COLUMNS = [
    "rank",
    "id",
    "name",
    "album_type",
    "release_date",
    "release_date_precision",
    "total_tracks",
    "label",
    "popularity",
    "first_seen_at",
    "artists",
    "artist_ids",
    "spotify_url",
    "image",
]
ARTIST_COLUMNS = [
    "id",
    "name",
    "genres",
    "popularity",
    "followers",
    "latest_release_date",
    "release_count",
    "releases",
    "release_ids",
    "spotify_url",
    "image",
]

CSV_RESPONSE = {
    200: {
        "description": "A CSV file (UTF-8, header row, RFC 4180 quoting).",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}


# A cell starting with one of these opens as a formula in a spreadsheet (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# The file is written before the first byte is sent (see `_csv_response`): in memory up to this
# size, then in a temporary file.
EXPORT_SPOOL_MEMORY_BYTES = 1024 * 1024
EXPORT_CHUNK_BYTES = 64 * 1024


class _Line:
    """csv.writer wants a file; this one hands back each line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    """What a spreadsheet reads as data: text that would start a formula gets OWASP's `'`
    prefix. Numbers stay numbers (a negative popularity is no formula)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return f"'{value}"
    return value


def _csv_response(
    *, filename: str, columns: list[str], rows: Iterable[list[Any]]
) -> StreamingHttpResponse:
    """Every row is read and written out BEFORE the answer starts, inside one REPEATABLE READ
    transaction (a sync committing meanwhile cannot mix into the file); then the file is sent at
    the client's pace, with no transaction open and no query left to make."""
    spool = tempfile.SpooledTemporaryFile(max_size=EXPORT_SPOOL_MEMORY_BYTES)  # noqa: SIM115
    writer = csv.writer(_Line())
    header = writer.writerow(columns).encode()
    try:
        with repeatable_read():
            for row in rows:
                spool.write(writer.writerow([_cell(value) for value in row]).encode())
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)
    response = StreamingHttpResponse(_chunks(header, spool), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Content-Length"] = str(len(header) + size)
    return response


def _chunks(header: bytes, spool: IO[bytes]) -> Iterator[bytes]:
    try:
        yield header
        while chunk := spool.read(EXPORT_CHUNK_BYTES):
            yield chunk
    finally:  # run when the response closes, read to the end or not
        spool.close()


def _pages(fetch: Callable[[int, int], selectors.Page]) -> Iterator[dict[str, Any]]:
    """Every page: a fixed number of queries each, whatever the export's size."""
    offset = 0
    while True:
        page = fetch(EXPORT_PAGE_SIZE, offset)
        yield from page.items
        offset += EXPORT_PAGE_SIZE
        if len(page.items) < EXPORT_PAGE_SIZE:
            return


def _filename(kind: str, snapshot: Snapshot | None) -> str:
    return f"{kind}-{snapshot.date.isoformat()}.csv" if snapshot else f"{kind}.csv"


def _joined(values: Iterable[Any]) -> str:
    return LIST_SEPARATOR.join(str(value) for value in values)


@router.get(
    "/releases.csv",
    response={404: ErrorOut},
    summary="A day's new releases as CSV (the filters of /api/releases/)",
    openapi_extra={"responses": CSV_RESPONSE},
)
def release_csv(
    request: HttpRequest, choice: Query[SnapshotChoice], novelty: Query[NoveltyFilters]
) -> StreamingHttpResponse:
    snapshot = snapshot_for_choice(choice)
    rows: Iterable[dict[str, Any]] = ()
    if snapshot is not None:
        rows = _pages(
            lambda limit, offset: selectors.release_list(
                snapshot=snapshot,
                limit=limit,
                offset=offset,
                filters=novelty.release_filters(album_type=choice.album_type),
            )
        )
    return _csv_response(
        filename=_filename("releases", snapshot),
        columns=RELEASE_COLUMNS,
        rows=(
            [
                release["rank"],
                release["id"],
                release["name"],
                release["album_type"],
                release["release_date"],
                release["release_date_precision"],
                release["total_tracks"],
                release["label"],
                release["popularity"],
                release["first_seen_at"].isoformat(),
                _joined(artist["name"] for artist in release["artists"]),
                _joined(artist["id"] for artist in release["artists"]),
                release["spotify_url"],
                release["image"],
            ]
            for release in rows
        ),
    )


@router.get(
    "/artists.csv",
    response={404: ErrorOut},
    summary="Artists of a day's new releases as CSV (the filters of /api/artists/)",
    openapi_extra={"responses": CSV_RESPONSE},
)
def artist_csv(
    request: HttpRequest,
    choice: Query[SnapshotChoice],
    filters: Query[ArtistFilters],
    novelty: Query[NoveltyFilters],
) -> StreamingHttpResponse:
    snapshot = snapshot_for_choice(choice)
    rows: Iterable[dict[str, Any]] = ()
    if snapshot is not None:
        rows = _pages(
            lambda limit, offset: selectors.artist_list(
                snapshot=snapshot,
                limit=limit,
                offset=offset,
                q=filters.q,
                genre=filters.genre,
                releases=artist_release_filters(choice, filters, novelty),
                ordering=filters.ordering,
            )
        )
    return _csv_response(
        filename=_filename("artists", snapshot),
        columns=ARTIST_COLUMNS,
        rows=(
            [
                artist["id"],
                artist["name"],
                _joined(artist["genres"]),
                artist["popularity"],
                artist["followers"],
                artist["latest_release_date"],
                len(artist["releases"]),
                _joined(release["name"] for release in artist["releases"]),
                _joined(release["id"] for release in artist["releases"]),
                artist["spotify_url"],
                artist["image"],
            ]
            for artist in rows
        ),
    )

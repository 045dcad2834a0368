"""CSV twins of the list endpoints: same filters, every matching row, read first, then streamed."""

import csv
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from operator import itemgetter
from typing import IO, Any, get_args, get_origin

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router, Schema

from catalog import selectors
from catalog.api import (
    ArtistFilters,
    NoveltyFilters,
    SnapshotChoice,
    artist_filter_set,
    snapshot_for_choice,
)
from catalog.models import Snapshot
from catalog.schemas import ArtistOut, ErrorOut, RankedReleaseOut
from common.db import repeatable_read

router = Router(tags=["exports"])

# Rows are read a page at a time: each page costs the selector's fixed number of queries.
EXPORT_PAGE_SIZE = 200
LIST_SEPARATOR = "; "


@dataclass(frozen=True)
class Column:
    name: str
    value: Callable[[dict[str, Any]], Any]


def schema_columns(schema: type[Schema], *, first: tuple[str, ...] = ()) -> list[Column]:
    """A CSV column per field of the shape, in its order (`first` ahead): a list of objects
    becomes their names and their ids (`artists`, `artist_ids`), a list of values one joined
    cell. A field added to the schema is a column, with no edit here."""
    names = [*first, *(name for name in schema.model_fields if name not in first)]
    columns: list[Column] = []
    for name in names:
        annotation = schema.model_fields[name].annotation
        (item,) = get_args(annotation) if get_origin(annotation) is list else (None,)
        if isinstance(item, type) and issubclass(item, Schema):
            columns.append(Column(name, partial(_joined_key, field=name, key="name")))
            columns.append(Column(f"{name[:-1]}_ids", partial(_joined_key, field=name, key="id")))
        elif item is not None:
            columns.append(Column(name, partial(_joined_values, field=name)))
        else:
            columns.append(Column(name, itemgetter(name)))
    return columns


def _joined_key(row: dict[str, Any], *, field: str, key: str) -> str:
    return _joined(item[key] for item in row[field])


def _joined_values(row: dict[str, Any], *, field: str) -> str:
    return _joined(row[field])


RELEASE_CSV = schema_columns(RankedReleaseOut, first=("rank",))
ARTIST_CSV = [
    *schema_columns(ArtistOut),
    Column("release_count", lambda artist: len(artist["releases"])),
]
RELEASE_COLUMNS = [column.name for column in RELEASE_CSV]
ARTIST_COLUMNS = [column.name for column in ARTIST_CSV]

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
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return f"'{value}"
    return value


def _csv_response(
    *, filename: str, columns: list[Column], rows: Iterable[dict[str, Any]]
) -> StreamingHttpResponse:
    """Every row is read and written out BEFORE the answer starts, inside one REPEATABLE READ
    transaction (a sync committing meanwhile cannot mix into the file); then the file is sent at
    the client's pace, with no transaction open and no query left to make."""
    spool = tempfile.SpooledTemporaryFile(max_size=EXPORT_SPOOL_MEMORY_BYTES)  # noqa: SIM115
    writer = csv.writer(_Line())
    header = writer.writerow([column.name for column in columns]).encode()
    try:
        with repeatable_read():
            for row in rows:
                cells = [_cell(column.value(row)) for column in columns]
                spool.write(writer.writerow(cells).encode())
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
        columns=RELEASE_CSV,
        # Validated as the API's, so that every cell reads as in the JSON (`first_seen_at`…).
        rows=(RankedReleaseOut.model_validate(row).model_dump() for row in rows),
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
                filters=artist_filter_set(choice, filters, novelty),
            )
        )
    return _csv_response(filename=_filename("artists", snapshot), columns=ARTIST_CSV, rows=rows)

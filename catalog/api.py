import datetime
import json
from collections.abc import Callable
from typing import Annotated, Any, get_args, get_origin, get_type_hints

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from catalog import selectors
from catalog.models import Release, Snapshot
from catalog.parameters import AlbumType, Genre, MarketChoice, Pagination, SearchTerm
from catalog.schemas import (
    ArtistDetailOut,
    ArtistListOut,
    ErrorOut,
    ReleaseDetailOut,
    ReleaseListOut,
    SnapshotListOut,
)

router = Router()


class SnapshotChoice(MarketChoice):
    date: datetime.date | None = Field(
        None, description="A snapshot day (YYYY-MM-DD); the latest when omitted."
    )
    album_type: AlbumType | None = Field(None, description="Only releases of this type.")


class ArtistFilters(Schema):
    q: SearchTerm | None = Field(None, description=selectors.SEARCH_DESCRIPTION)
    genre: Genre | None = Field(None, description="Artists tagged with this genre.")
    released_after: datetime.date | None = Field(None, description="Releases on or after this day.")
    released_before: datetime.date | None = Field(
        None, description="Releases on or before this day."
    )
    ordering: selectors.ArtistOrdering = Field(
        "-latest_release_date", description="Sort order; nulls come last."
    )


class NoveltyFilters(Schema):
    new: bool = Field(False, description="Only releases first seen by the latest successful sync.")
    first_seen_after: datetime.datetime | None = Field(
        None,
        description="Only releases first seen after this moment (ISO 8601; UTC when no offset "
        "is given). A cursor for clients that poll: pass the largest first_seen_at received.",
    )
    exclude_various_artists: bool = Field(
        False, description='Drop compilations credited to "Various Artists".'
    )

    def release_filters(
        self,
        *,
        album_type: str | None = None,
        released_after: datetime.date | None = None,
        released_before: datetime.date | None = None,
    ) -> selectors.ReleaseFilters:
        after = self.first_seen_after
        if after is not None and after.tzinfo is None:
            after = after.replace(tzinfo=datetime.UTC)
        if after is not None:
            # PostgreSQL refuses offsets beyond ±15:59 (a 500); in UTC any valid moment is fine.
            after = _in_utc(after)
        return selectors.ReleaseFilters(
            album_type=album_type,
            released_after=released_after,
            released_before=released_before,
            new_only=self.new,
            first_seen_after=after,
            exclude_various_artists=self.exclude_various_artists,
        )


def _in_utc(moment: datetime.datetime) -> datetime.datetime:
    try:
        return moment.astimezone(datetime.UTC)
    except OverflowError:  # before year 1 or after year 9999 once in UTC
        edge = datetime.datetime.min if moment.year == 1 else datetime.datetime.max
        return edge.replace(tzinfo=datetime.UTC)


def snapshot_for_choice(choice: SnapshotChoice) -> Snapshot | None:
    """The chosen day's snapshot; None only when no day was asked and nothing is synced yet."""
    snapshot = selectors.snapshot_latest(day=choice.date, market=choice.market)
    if snapshot is None and choice.date is not None:
        raise HttpError(404, f"No snapshot for {choice.date.isoformat()}")
    return snapshot


@router.get(
    "/artists/",
    response={200: ArtistListOut, 404: ErrorOut},
    summary="Artists of a day's new releases",
    tags=["artists"],
)
def artist_list(
    request: HttpRequest,
    page: Query[Pagination],
    choice: Query[SnapshotChoice],
    filters: Query[ArtistFilters],
    novelty: Query[NoveltyFilters],
) -> HttpResponse:
    # PostgreSQL writes the answer's bytes (see selectors.artist_list_json); ninja passes them
    # through.
    document = selectors.artist_list_json(
        day=choice.date,
        market=choice.market,
        limit=page.limit,
        offset=page.offset,
        filters=artist_filter_set(choice, filters, novelty),
    )
    if document is None:
        if choice.date is not None:
            raise HttpError(404, f"No snapshot for {choice.date.isoformat()}")
        # What ninja's renderer writes for it (`json.dumps` defaults).
        document = json.dumps({"snapshot": None, "count": 0, "items": []}).encode()
    return HttpResponse(document, content_type="application/json; charset=utf-8")


def artist_filter_set(
    choice: SnapshotChoice, filters: ArtistFilters, novelty: NoveltyFilters
) -> selectors.ArtistFilterSet:
    """The artist list's filters, from /api/artists/'s parameters (its CSV twin too)."""
    return selectors.ArtistFilterSet(
        q=filters.q,
        genre=filters.genre,
        releases=novelty.release_filters(
            album_type=choice.album_type,
            released_after=filters.released_after,
            released_before=filters.released_before,
        ),
        ordering=filters.ordering,
    )


@router.get(
    "/artists/{artist_id}/",
    response={200: ArtistDetailOut, 404: ErrorOut},
    summary="One artist with a page of the releases we know of, newest first",
    tags=["artists"],
)
def artist_detail(
    request: HttpRequest, artist_id: str, page: Query[Pagination]
) -> selectors.ArtistDetail:
    artist = selectors.artist_detail(spotify_id=artist_id, limit=page.limit, offset=page.offset)
    if artist is None:
        raise HttpError(404, f"No artist with id {artist_id!r}")
    return artist


@router.get(
    "/releases/",
    response={200: ReleaseListOut, 404: ErrorOut},
    summary="A day's new releases in Spotify's rank order",
    tags=["releases"],
)
def release_list(
    request: HttpRequest,
    page: Query[Pagination],
    choice: Query[SnapshotChoice],
    novelty: Query[NoveltyFilters],
) -> dict[str, object]:
    snapshot = snapshot_for_choice(choice)
    if snapshot is None:
        return {"snapshot": None, "count": 0, "items": []}
    result = selectors.release_list(
        snapshot=snapshot,
        limit=page.limit,
        offset=page.offset,
        filters=novelty.release_filters(album_type=choice.album_type),
    )
    return {"snapshot": snapshot, "count": result.count, "items": result.items}


@router.get(
    "/releases/{release_id}/",
    response={200: ReleaseDetailOut, 404: ErrorOut},
    summary="One release with its track list",
    tags=["releases"],
)
def release_detail(request: HttpRequest, release_id: str) -> Release:
    release = selectors.release_detail(spotify_id=release_id)
    if release is None:
        raise HttpError(404, f"No release with id {release_id!r}")
    return release


@router.get(
    "/snapshots/",
    response=SnapshotListOut,
    summary="The days we hold for a market, newest first",
    tags=["snapshots"],
)
def snapshot_list(
    request: HttpRequest, page: Query[Pagination], choice: Query[MarketChoice]
) -> dict[str, object]:
    result = selectors.snapshot_list(limit=page.limit, offset=page.offset, market=choice.market)
    return {"count": result.count, "items": result.items}


def _query_schemas(view: Callable[..., Any]) -> tuple[type[Schema], ...]:
    """The `Query[...]` schemas in a view's signature."""
    return tuple(
        schema
        for hint in get_type_hints(view, include_extras=True).values()
        if get_origin(hint) is Annotated
        and isinstance(schema := get_args(hint)[0], type)
        and issubclass(schema, Schema)
    )


# What each catalog read takes from the query string, from the views' own signatures: the
# response cache keys on these values, validated (catalog.caching).
QUERY_SCHEMAS: dict[str, tuple[type[Schema], ...]] = {
    view.__name__: _query_schemas(view)
    for view in (artist_list, artist_detail, release_list, release_detail, snapshot_list)
}

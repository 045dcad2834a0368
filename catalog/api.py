from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from catalog import selectors
from catalog.schemas import ArtistListOut, ArtistOut, ErrorOut

router = Router(tags=["artists"])


class Pagination(Schema):
    limit: int = Field(50, ge=1, le=200, description="Page size, 1 to 200.")
    offset: int = Field(0, ge=0, le=1_000_000, description="Items to skip.")


@router.get("/artists/", response=ArtistListOut, summary="Artists of today's new releases")
def artist_list(request: HttpRequest, page: Query[Pagination]) -> dict[str, object]:
    snapshot = selectors.snapshot_latest()
    if snapshot is None:
        return {"snapshot": None, "count": 0, "items": []}
    result = selectors.artist_list(snapshot=snapshot, limit=page.limit, offset=page.offset)
    return {
        "snapshot": selectors.snapshot_as_dict(snapshot),
        "count": result.count,
        "items": result.items,
    }


@router.get(
    "/artists/{artist_id}/",
    response={200: ArtistOut, 404: ErrorOut},
    summary="One artist with every release we know of",
)
def artist_detail(request: HttpRequest, artist_id: str) -> dict[str, object]:
    artist = selectors.artist_detail(spotify_id=artist_id)
    if artist is None:
        raise HttpError(404, f"No artist with id {artist_id!r}")
    return artist

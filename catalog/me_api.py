"""/api/me/: the signed-in user's own reads ("Your artists"), by session or personal token.

Never cached by the shared response cache (its prefixes leave /api/me/ out): each answer is one
user's."""

from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError
from ninja.security import HttpBearer, SessionAuth

from catalog import following_selectors
from catalog.access_tokens import personal_token_user
from catalog.api import NoveltyFilters
from catalog.parameters import AlbumType, Pagination
from catalog.schemas import ErrorOut, FollowedArtistListOut, FollowedReleaseListOut


class PersonalTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = personal_token_user(token=token)
        if user is not None:
            request.user = user  # type: ignore[assignment]  # AUTH_USER_MODEL: its base class
        return user


router = Router(auth=[SessionAuth(), PersonalTokenAuth()], tags=["me"])


class FollowingWindow(Schema):
    days: int = Field(14, ge=1, le=90, description="Releases of the last this many days, 1 to 90.")
    album_type: AlbumType | None = Field(None, description="Only releases of this type.")


def _refuse_unknown(request: HttpRequest, *schemas: type[Schema]) -> None:
    """A parameter this endpoint does not read is a 422, so that a typo never passes for a filter."""
    known = {name for schema in schemas for name in schema.model_fields}
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise ValidationError(
            [
                {"type": "extra_forbidden", "loc": ["query", name], "msg": "Unknown parameter"}
                for name in unknown
            ]
        )


@router.get(
    "/releases/",
    response={200: FollowedReleaseListOut, 401: ErrorOut},
    summary="Recent releases of the artists you follow on Spotify, newest first",
)
def following_release_list(
    request: HttpRequest,
    page: Query[Pagination],
    window: Query[FollowingWindow],
    novelty: Query[NoveltyFilters],
) -> dict[str, object]:
    _refuse_unknown(request, Pagination, FollowingWindow, NoveltyFilters)
    result = following_selectors.following_release_list(
        user=request.user,
        days=window.days,
        filters=novelty.release_filters(album_type=window.album_type),
        limit=page.limit,
        offset=page.offset,
    )
    return {"count": result.count, "items": result.items}


@router.get(
    "/artists/",
    response={200: FollowedArtistListOut, 401: ErrorOut},
    summary="The artists you follow on Spotify, with when each was last checked",
)
def following_artist_list(request: HttpRequest, page: Query[Pagination]) -> dict[str, object]:
    _refuse_unknown(request, Pagination)
    result = following_selectors.following_artist_list(
        user=request.user, limit=page.limit, offset=page.offset
    )
    return {"count": result.count, "items": result.items}

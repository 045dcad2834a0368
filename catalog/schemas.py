"""Each output shape, defined once. The API answers with these; the dashboard, the feed, the CSV
exports and the webhook payloads are derived from them (`resolve_*` read our models, and the
artist list's SQL writes its JSON from these fields: catalog.selectors.artists)."""

from datetime import date, datetime
from typing import Any

from ninja import Schema


def _model_or_dict(obj: Any, attribute: str, key: str) -> Any:
    """Resolvers read our models; a dict already in the shape (the artist list's JSON) passes."""
    return obj[key] if isinstance(obj, dict) else getattr(obj, attribute)


class SnapshotOut(Schema):
    date: date
    fetched_at: datetime
    source: str
    market: str | None

    @staticmethod
    def resolve_market(obj: Any) -> str | None:
        return _model_or_dict(obj, "market", "market") or None


class SnapshotSummaryOut(SnapshotOut):
    release_count: int
    artist_count: int


class SnapshotListOut(Schema):
    count: int
    items: list[SnapshotSummaryOut]


class ReleaseOut(Schema):
    id: str
    name: str
    album_type: str
    release_date: str
    release_date_precision: str
    total_tracks: int | None
    image: str | None
    spotify_url: str

    @staticmethod
    def resolve_id(obj: Any) -> str:
        return str(_model_or_dict(obj, "spotify_id", "id"))

    @staticmethod
    def resolve_image(obj: Any) -> str | None:
        return _model_or_dict(obj, "image_url", "image") or None


class ArtistOut(Schema):
    id: str
    name: str
    spotify_url: str
    uri: str
    image: str | None
    genres: list[str]
    popularity: int | None
    followers: int | None
    latest_release_date: date | None
    releases: list[ReleaseOut]

    @staticmethod
    def resolve_id(obj: Any) -> str:
        return str(_model_or_dict(obj, "spotify_id", "id"))

    @staticmethod
    def resolve_image(obj: Any) -> str | None:
        return _model_or_dict(obj, "image_url", "image") or None


class DashboardReleaseOut(ReleaseOut):
    # The "New" badge: first seen by the latest successful sync.
    new: bool


class DashboardArtistOut(ArtistOut):
    """The dashboard grid's artist: the API's, its releases with `first_seen_at`."""

    releases: list[DashboardReleaseOut]  # type: ignore[assignment]


class ArtistDetailOut(ArtistOut):
    # Every release we know of; `releases` holds the page that `limit` and `offset` ask for.
    release_count: int


class ArtistListOut(Schema):
    snapshot: SnapshotOut | None
    count: int
    items: list[ArtistOut]


class FollowedArtistOut(ArtistOut):
    """An artist the user follows (/api/me/artists/): its newest releases, and when the sync last
    read them from Spotify (null: not yet)."""

    last_checked_at: datetime | None


class FollowedArtistListOut(Schema):
    count: int
    items: list[FollowedArtistOut]


class CreditedArtistOut(Schema):
    id: str
    name: str
    spotify_url: str

    @staticmethod
    def resolve_id(obj: Any) -> str:
        return str(_model_or_dict(obj, "spotify_id", "id"))


class ReleaseSummaryOut(ReleaseOut):
    label: str | None
    popularity: int | None
    # When our sync first saw it: the value to pass back as `first_seen_after` when polling.
    first_seen_at: datetime
    artists: list[CreditedArtistOut]

    @staticmethod
    def resolve_artists(obj: Any) -> list[Any]:
        # Credits prefetched in Spotify's order, with their artists (see selectors.releases); a
        # dict (SQL's rows: selectors.releases) holds them already.
        if isinstance(obj, dict):
            return list(obj["artists"])
        return [credit.artist for credit in obj.credits.all()]


class RankedReleaseOut(ReleaseSummaryOut):
    rank: int


class FollowedReleaseListOut(Schema):
    count: int
    items: list[ReleaseSummaryOut]


class ReleaseListOut(Schema):
    snapshot: SnapshotOut | None
    count: int
    items: list[RankedReleaseOut]


class TrackArtistOut(Schema):
    id: str
    name: str


class TrackOut(Schema):
    id: str
    name: str
    track_number: int
    disc_number: int
    duration_ms: int
    explicit: bool
    artists: list[TrackArtistOut]

    @staticmethod
    def resolve_id(obj: Any) -> str:
        return str(_model_or_dict(obj, "spotify_id", "id"))


class ReleaseDetailOut(ReleaseSummaryOut):
    tracks_fetched_at: datetime | None
    tracks: list[TrackOut]

    @staticmethod
    def resolve_tracks(obj: Any) -> list[Any]:
        return list(obj.tracks.all())


class ErrorOut(Schema):
    detail: str

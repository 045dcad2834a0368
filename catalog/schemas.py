from datetime import date, datetime

from ninja import Schema


class SnapshotOut(Schema):
    date: date
    fetched_at: datetime
    source: str
    market: str | None


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


class ArtistDetailOut(ArtistOut):
    # Every release we know of; `releases` holds the page that `limit` and `offset` ask for.
    release_count: int


class ArtistListOut(Schema):
    snapshot: SnapshotOut | None
    count: int
    items: list[ArtistOut]


class CreditedArtistOut(Schema):
    id: str
    name: str
    spotify_url: str


class ReleaseSummaryOut(ReleaseOut):
    label: str | None
    popularity: int | None
    # When our sync first saw it: the value to pass back as `first_seen_after` when polling.
    first_seen_at: datetime
    artists: list[CreditedArtistOut]


class RankedReleaseOut(ReleaseSummaryOut):
    rank: int


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


class ReleaseDetailOut(ReleaseSummaryOut):
    tracks_fetched_at: datetime | None
    tracks: list[TrackOut]


class ErrorOut(Schema):
    detail: str

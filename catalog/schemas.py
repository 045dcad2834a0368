from datetime import date, datetime

from ninja import Schema


class SnapshotOut(Schema):
    date: date
    fetched_at: datetime
    source: str
    market: str | None


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


class ArtistListOut(Schema):
    snapshot: SnapshotOut | None
    count: int
    items: list[ArtistOut]


class ErrorOut(Schema):
    detail: str

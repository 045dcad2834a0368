"""Typed views of Spotify's JSON. Every field Spotify dropped or may drop in 2026 is optional."""

import re
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from spotify.conf import is_demo_cover

# Links and images we store and serve (feeds, API, dashboard) must be Spotify's own, on https:
# anything else in an answer (javascript:, data:, http:, a foreign host) is dropped here, at parse
# time, which every stored URL passes through.
LINK_HOST = re.compile(r"open\.spotify\.com")
# i.scdn.co in every recorded answer; mosaic.scdn.co, image-cdn-*.spotifycdn.com and the like for
# other objects: both domains are Spotify's.
IMAGE_HOST = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*\.(scdn\.co|spotifycdn\.com)")
# The database columns' width; a longer "link" is not one of Spotify's.
MAX_URL_LENGTH = 300


class SpotifyObject(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def is_https_on(url: str, host: re.Pattern[str]) -> bool:
    """An https URL on exactly a host `host` matches: no user info, port, backslash or space
    that a browser and a parser could read differently."""
    if len(url) > MAX_URL_LENGTH or not url.isascii() or not url.isprintable():
        return False
    if "\\" in url or " " in url:
        return False
    parts = urlsplit(url)
    return parts.scheme == "https" and host.fullmatch(parts.netloc) is not None


def _spotify_links(urls: dict[str, str]) -> dict[str, str]:
    """An unsafe `spotify` link becomes "" (stored as no link), never a fallback built here."""
    link = urls.get("spotify")
    if link is None or is_https_on(link, LINK_HOST):
        return urls
    return urls | {"spotify": ""}


class Image(SpotifyObject):
    url: str
    height: int | None = None
    width: int | None = None


def _spotify_images(images: list[Image]) -> list[Image]:
    return [
        image for image in images if is_https_on(image.url, IMAGE_HOST) or is_demo_cover(image.url)
    ]


ExternalUrls = Annotated[dict[str, str], AfterValidator(_spotify_links)]
Images = Annotated[list[Image], AfterValidator(_spotify_images)]


class ArtistRef(SpotifyObject):
    id: str
    name: str
    uri: str = ""
    external_urls: ExternalUrls = Field(default_factory=dict)

    @property
    def spotify_url(self) -> str:
        return self.external_urls.get("spotify", f"https://open.spotify.com/artist/{self.id}")


class Artist(ArtistRef):
    genres: list[str] = Field(default_factory=list)
    popularity: int | None = None
    followers: int | None = None
    images: Images = Field(default_factory=list)

    @field_validator("followers", mode="before")
    @classmethod
    def _followers_total(cls, value: Any) -> Any:
        # Spotify nests the number: {"href": null, "total": 123}.
        if isinstance(value, dict):
            return value.get("total")
        return value


DatePrecision = Literal["year", "month", "day"]


class Album(SpotifyObject):
    """A simplified album, as listed by new-releases and search."""

    id: str
    name: str
    album_type: str = "album"
    total_tracks: int | None = None
    release_date: str = ""
    release_date_precision: DatePrecision = "day"
    images: Images = Field(default_factory=list)
    artists: list[ArtistRef] = Field(default_factory=list)
    uri: str = ""
    external_urls: ExternalUrls = Field(default_factory=dict)

    @field_validator("album_type", mode="before")
    @classmethod
    def _lower_album_type(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @property
    def spotify_url(self) -> str:
        return self.external_urls.get("spotify", f"https://open.spotify.com/album/{self.id}")

    @property
    def release_date_sortable(self) -> date | None:
        """The first day of the period the release date names, or None when it is unusable."""
        return parse_release_date(self.release_date)


class Track(SpotifyObject):
    id: str
    name: str
    track_number: int = 0
    disc_number: int = 1
    duration_ms: int = 0
    explicit: bool = False
    artists: list[ArtistRef] = Field(default_factory=list)


class Page[T](SpotifyObject):
    items: list[T] = Field(default_factory=list)
    next: str | None = None
    total: int = 0
    limit: int = 0
    offset: int = 0


class Cursors(SpotifyObject):
    after: str | None = None


class CursorPage[T](SpotifyObject):
    """/me/following's paging: by a cursor (the last item's id), not an offset."""

    items: list[T] = Field(default_factory=list)
    next: str | None = None
    total: int | None = None
    cursors: Cursors = Field(default_factory=Cursors)


class FullAlbum(Album):
    label: str | None = None
    popularity: int | None = None
    tracks: Page[Track] = Field(default_factory=Page[Track])


class TokenGrant(SpotifyObject):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int = 3600
    scope: str = ""
    refresh_token: str | None = None


class User(SpotifyObject):
    id: str
    display_name: str | None = None


class Playlist(SpotifyObject):
    id: str
    name: str | None = None
    external_urls: ExternalUrls = Field(default_factory=dict)

    @property
    def spotify_url(self) -> str:
        return self.external_urls.get("spotify", f"https://open.spotify.com/playlist/{self.id}")


def parse_release_date(raw: str) -> date | None:
    """`2026`, `2026-11` and `2026-11-28` all occur; Spotify also sends `0000` for some old albums."""
    parts = raw.split("-")
    try:
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 1
        day = int(parts[2]) if len(parts) > 2 else 1
        return date(year, month, day)
    except (ValueError, IndexError):
        return None

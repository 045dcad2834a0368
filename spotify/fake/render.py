"""Web API JSON objects, shaped like the recorded payloads.

Every href and paging link is absolute on https://api.spotify.com/v1, as Spotify writes them,
whatever host the fake is served on: a client must rebase them on its own API base URL."""

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from spotify.fake.data import Artist, Dataset, Image, Release, Track, market_list

JSON = dict[str, Any]
OPEN_SPOTIFY = "https://open.spotify.com"
SPOTIFY_API = "https://api.spotify.com/v1"


def images(items: Sequence[Image]) -> list[JSON]:
    return [{"url": i.url, "height": i.height, "width": i.width} for i in items]


def simple_artist(artist: Artist) -> JSON:
    return {
        "external_urls": {"spotify": f"{OPEN_SPOTIFY}/artist/{artist.id}"},
        "href": f"{SPOTIFY_API}/artists/{artist.id}",
        "id": artist.id,
        "name": artist.name,
        "type": "artist",
        "uri": f"spotify:artist:{artist.id}",
    }


def full_artist(artist: Artist, *, dev_mode: bool) -> JSON:
    body: JSON = {
        "external_urls": {"spotify": f"{OPEN_SPOTIFY}/artist/{artist.id}"},
        "followers": {"href": None, "total": artist.followers},
        "genres": [] if dev_mode else list(artist.genres),
        "href": f"{SPOTIFY_API}/artists/{artist.id}",
        "id": artist.id,
        "images": images(artist.images),
        "name": artist.name,
        "popularity": artist.popularity,
        "type": "artist",
        "uri": f"spotify:artist:{artist.id}",
    }
    if dev_mode:
        # Feb 2026 Development Mode: these fields are gone from artist objects.
        del body["followers"], body["popularity"]
    return body


def _markets(release: Release) -> list[str]:
    return list(release.markets) if release.markets is not None else market_list()


def simple_album(release: Release, dataset: Dataset) -> JSON:
    body: JSON = {
        "album_type": release.album_type,
        "artists": [simple_artist(dataset.artists[a]) for a in release.artist_ids],
        "available_markets": _markets(release),
        "external_urls": {"spotify": f"{OPEN_SPOTIFY}/album/{release.id}"},
        "href": f"{SPOTIFY_API}/albums/{release.id}",
        "id": release.id,
        "images": images(release.images),
        "name": release.name,
        "release_date": release.release_date,
        "release_date_precision": release.precision,
        "total_tracks": release.total_tracks,
        "type": "album",
        "uri": f"spotify:album:{release.id}",
    }
    if not release.lists_total_tracks:
        del body["total_tracks"]
    return body


def track(item: Track, release: Release, dataset: Dataset) -> JSON:
    return {
        "artists": [simple_artist(dataset.artists[a]) for a in item.artist_ids],
        "available_markets": _markets(release),
        "disc_number": 1,
        "duration_ms": item.duration_ms,
        "explicit": item.explicit,
        "external_urls": {"spotify": f"{OPEN_SPOTIFY}/track/{item.id}"},
        "href": f"{SPOTIFY_API}/tracks/{item.id}",
        "id": item.id,
        "name": item.name,
        "preview_url": None,
        "track_number": item.track_number,
        "type": "track",
        "uri": f"spotify:track:{item.id}",
        "is_local": False,
    }


def paging(
    url: str,
    items: list[JSON],
    *,
    total: int,
    limit: int,
    offset: int,
    params: Mapping[str, str] | None = None,
) -> JSON:
    """A paging object; `url` is absolute on Spotify's host, `params` are extra query parameters
    to keep."""
    extra = dict(params or {})

    def link(at: int) -> str:
        return f"{url}?{urlencode({'offset': at, 'limit': limit, **extra})}"

    return {
        "href": link(offset),
        "items": items,
        "limit": limit,
        "next": link(offset + limit) if offset + limit < total else None,
        "offset": offset,
        "previous": link(max(0, offset - limit)) if offset > 0 else None,
        "total": total,
    }


def album_tracks_page(release: Release, dataset: Dataset, *, limit: int, offset: int) -> JSON:
    tracks = dataset.tracks(release)
    items = [track(t, release, dataset) for t in tracks[offset : offset + limit]]
    url = f"{SPOTIFY_API}/albums/{release.id}/tracks"
    return paging(url, items, total=len(tracks), limit=limit, offset=offset)


def full_album(release: Release, dataset: Dataset, *, dev_mode: bool) -> JSON:
    body = simple_album(release, dataset)
    body["total_tracks"] = release.total_tracks
    year = release.released.year
    body["tracks"] = album_tracks_page(release, dataset, limit=50, offset=0)
    body["copyrights"] = [
        {"text": f"{year} {release.label}", "type": "C"},
        {"text": f"{year} {release.label}", "type": "P"},
    ]
    body["external_ids"] = {"upc": release.upc}
    body["genres"] = []
    if not dev_mode:
        # Feb 2026 Development Mode drops label and popularity from album objects.
        body["label"] = release.label
        body["popularity"] = release.popularity
    return body

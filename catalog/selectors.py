"""Reads. Each selector makes a fixed number of queries, whatever the page size."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, F, Max, Window

from catalog.models import Artist, ReleaseArtist, Snapshot


@dataclass(frozen=True)
class Page:
    count: int
    items: list[dict[str, Any]]


def snapshot_latest(*, day: date | None = None) -> Snapshot | None:
    snapshots = Snapshot.objects.order_by("-date", "-fetched_at")
    if day is not None:
        snapshots = snapshots.filter(date=day)
    return snapshots.first()


def snapshot_as_dict(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "date": snapshot.date,
        "fetched_at": snapshot.fetched_at,
        "source": snapshot.source,
        "market": snapshot.market or None,
    }


def artist_list(*, snapshot: Snapshot, limit: int, offset: int) -> Page:
    """Artists credited on the snapshot, most recent release first, then by name."""
    artists = list(
        Artist.objects.filter(credits__release__entries__snapshot=snapshot)
        .annotate(
            latest_release_date=Max("credits__release__release_date_sort"),
            total=Window(Count("pk", distinct=False)),
        )
        .order_by(F("latest_release_date").desc(nulls_last=True), "name", "pk")[
            offset : offset + limit
        ]
    )
    count = artists[0].total if artists else _artist_count(snapshot)
    releases = _releases_by_artist(artist_pks=[artist.pk for artist in artists], snapshot=snapshot)
    return Page(
        count=count,
        items=[
            artist_as_dict(
                artist,
                latest_release_date=artist.latest_release_date,
                releases=releases.get(artist.pk, []),
            )
            for artist in artists
        ],
    )


def _artist_count(snapshot: Snapshot) -> int:
    # Reached only for an offset past the end, where the windowed count has no row to ride on.
    return snapshot.artist_count


def artist_detail(*, spotify_id: str) -> dict[str, Any] | None:
    """One artist with every release we know of, newest first."""
    artist = Artist.objects.filter(spotify_id=spotify_id).first()
    if artist is None:
        return None
    releases = _releases_by_artist(artist_pks=[artist.pk], snapshot=None).get(artist.pk, [])
    latest = max((r["_sort"] for r in releases if r["_sort"] is not None), default=None)
    return artist_as_dict(artist, latest_release_date=latest, releases=releases)


def _releases_by_artist(
    *, artist_pks: list[int], snapshot: Snapshot | None
) -> dict[int, list[dict[str, Any]]]:
    if not artist_pks:
        return {}
    credits = ReleaseArtist.objects.filter(artist_id__in=artist_pks).select_related("release")
    if snapshot is not None:
        credits = credits.filter(release__entries__snapshot=snapshot)
    credits = credits.order_by(
        "artist_id", F("release__release_date_sort").desc(nulls_last=True), "release__name"
    )
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for credit in credits:
        release = credit.release
        grouped[credit.artist_id].append(
            {
                "id": release.spotify_id,
                "name": release.name,
                "album_type": release.album_type,
                "release_date": release.release_date,
                "release_date_precision": release.release_date_precision,
                "total_tracks": release.total_tracks,
                "image": best_image(release.images),
                "spotify_url": release.spotify_url,
                "_sort": release.release_date_sort,
            }
        )
    return grouped


def artist_as_dict(
    artist: Artist, *, latest_release_date: date | None, releases: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": artist.spotify_id,
        "name": artist.name,
        "spotify_url": artist.spotify_url,
        "uri": artist.uri,
        "image": best_image(artist.images),
        "genres": artist.genres,
        "popularity": artist.popularity,
        "followers": artist.followers,
        "latest_release_date": latest_release_date,
        "releases": releases,
    }


def best_image(images: list[dict[str, Any]], *, width: int = 300) -> str | None:
    """The image closest to `width` pixels wide: big enough for a card, small enough to be quick."""
    if not images:
        return None
    return str(min(images, key=lambda image: abs((image.get("width") or width) - width))["url"])


def latest_sync_time() -> datetime | None:
    snapshot = snapshot_latest()
    return snapshot.fetched_at if snapshot else None

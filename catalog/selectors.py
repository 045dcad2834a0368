"""Reads. Each selector makes a fixed number of queries, whatever the page size."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from django.db.models import CharField, Count, F, Func, Max, OrderBy, Q, QuerySet, Value, Window

from catalog.models import (
    Artist,
    Release,
    ReleaseArtist,
    Snapshot,
    SnapshotEntry,
    SyncRun,
    Track,
)

VARIOUS_ARTISTS_ID = "0LyfQWJT6nXafLPZqxe9Of"

ArtistOrdering = Literal["name", "-latest_release_date", "-popularity", "-followers"]


@dataclass(frozen=True)
class Page:
    count: int
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class ReleaseFilters:
    """Which of a snapshot's releases count; an artist is listed for the releases that pass."""

    album_type: str | None = None
    released_after: date | None = None
    released_before: date | None = None
    # First seen at or after this moment (`new=true`: the latest successful sync's start).
    first_seen_since: datetime | None = None
    # Strictly after: a polling client's cursor.
    first_seen_after: datetime | None = None
    exclude_various_artists: bool = False

    def as_q(self, prefix: str = "") -> Q:
        q = Q()
        if self.album_type:
            q &= Q(**{f"{prefix}album_type": self.album_type})
        if self.released_after:
            q &= Q(**{f"{prefix}release_date_sort__gte": self.released_after})
        if self.released_before:
            q &= Q(**{f"{prefix}release_date_sort__lte": self.released_before})
        if self.first_seen_since:
            q &= Q(**{f"{prefix}first_seen_at__gte": self.first_seen_since})
        if self.first_seen_after:
            q &= Q(**{f"{prefix}first_seen_at__gt": self.first_seen_after})
        if self.exclude_various_artists:
            # A positive IN, not a negated join: under a prefix that crosses credits, a negation
            # would drop every artist who ever appeared on a compilation, not just the compilation.
            q &= Q(**{f"{prefix}pk__in": releases_not_by_various_artists()})
        return q

    @property
    def active(self) -> bool:
        return bool(
            self.album_type
            or self.released_after
            or self.released_before
            or self.first_seen_since
            or self.first_seen_after
            or self.exclude_various_artists
        )


def releases_not_by_various_artists() -> QuerySet[Release, int]:
    """Pks of the releases not credited to Spotify's "Various Artists" (by id, or by name for
    compilations that credit a look-alike artist)."""
    compilations = ReleaseArtist.objects.filter(
        Q(artist__spotify_id=VARIOUS_ARTISTS_ID) | Q(artist__name__iexact="Various Artists")
    ).values("release_id")
    return Release.objects.exclude(pk__in=compilations).values_list("pk", flat=True)


def sync_latest_succeeded_started_at() -> datetime | None:
    """Releases first seen at or after this moment came with the latest successful sync."""
    started: datetime | None = (
        SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return started


class SearchText(Func):
    """Lower-cased, accent-free text, as the `artist_name_search_trgm` index stores names (the
    SQL function comes from migration 0002)."""

    function = "catalog_search_text"
    output_field = CharField()


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


def snapshot_list(*, limit: int, offset: int) -> Page:
    """The days we hold, newest first, in one query."""
    snapshots = list(
        Snapshot.objects.annotate(total=Window(Count("pk"))).order_by("-date", "market")[
            offset : offset + limit
        ]
    )
    count = snapshots[0].total if snapshots else Snapshot.objects.count()
    return Page(
        count=count,
        items=[
            snapshot_as_dict(snapshot)
            | {"release_count": snapshot.release_count, "artist_count": snapshot.artist_count}
            for snapshot in snapshots
        ],
    )


def artist_list(
    *,
    snapshot: Snapshot,
    limit: int,
    offset: int,
    q: str | None = None,
    genre: str | None = None,
    releases: ReleaseFilters | None = None,
    ordering: ArtistOrdering = "-latest_release_date",
) -> Page:
    """Artists credited on the snapshot, most recent release first (by default), then by name."""
    release_filters = releases or ReleaseFilters()
    matching = Artist.objects.filter(
        Q(credits__release__entries__snapshot=snapshot) & release_filters.as_q("credits__release__")
    )
    if q:
        matching = matching.alias(search_name=SearchText("name")).filter(
            search_name__contains=SearchText(Value(q))
        )
    if genre:
        matching = matching.filter(genres__contains=[genre])
    artists = list(
        matching.annotate(
            latest_release_date=Max("credits__release__release_date_sort"),
            total=Window(Count("pk", distinct=False)),
        ).order_by(*_artist_ordering(ordering))[offset : offset + limit]
    )
    if artists:
        count = artists[0].total
    elif q or genre or release_filters.active:
        count = matching.distinct().count()
    else:
        # Past the end, the windowed count has no row to ride on; the snapshot knows it.
        count = snapshot.artist_count
    by_artist = _releases_by_artist(
        artist_pks=[artist.pk for artist in artists], snapshot=snapshot, filters=release_filters
    )
    return Page(
        count=count,
        items=[
            artist_as_dict(
                artist,
                latest_release_date=artist.latest_release_date,
                releases=by_artist.get(artist.pk, []),
            )
            for artist in artists
        ],
    )


def _artist_ordering(ordering: ArtistOrdering) -> list[OrderBy | str]:
    if ordering == "name":
        return ["name", "pk"]
    field = ordering.removeprefix("-")
    return [F(field).desc(nulls_last=True), "name", "pk"]


def artist_detail(*, spotify_id: str) -> dict[str, Any] | None:
    """One artist with every release we know of, newest first."""
    artist = Artist.objects.filter(spotify_id=spotify_id).first()
    if artist is None:
        return None
    releases = _releases_by_artist(artist_pks=[artist.pk], snapshot=None).get(artist.pk, [])
    latest = max((r["_sort"] for r in releases if r["_sort"] is not None), default=None)
    return artist_as_dict(artist, latest_release_date=latest, releases=releases)


def _releases_by_artist(
    *, artist_pks: list[int], snapshot: Snapshot | None, filters: ReleaseFilters | None = None
) -> dict[int, list[dict[str, Any]]]:
    if not artist_pks:
        return {}
    credits = ReleaseArtist.objects.filter(artist_id__in=artist_pks).select_related("release")
    if snapshot is not None:
        credits = credits.filter(release__entries__snapshot=snapshot)
    if filters is not None:
        credits = credits.filter(filters.as_q("release__"))
    credits = credits.order_by(
        "artist_id", F("release__release_date_sort").desc(nulls_last=True), "release__name"
    )
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for credit in credits:
        grouped[credit.artist_id].append(
            release_as_dict(credit.release) | {"_sort": credit.release.release_date_sort}
        )
    return grouped


def release_as_dict(release: Release) -> dict[str, Any]:
    return {
        "id": release.spotify_id,
        "name": release.name,
        "album_type": release.album_type,
        "release_date": release.release_date,
        "release_date_precision": release.release_date_precision,
        "total_tracks": release.total_tracks,
        "image": best_image(release.images),
        "spotify_url": release.spotify_url,
    }


def release_list(
    *,
    snapshot: Snapshot,
    limit: int,
    offset: int,
    album_type: str | None = None,
    filters: ReleaseFilters | None = None,
) -> Page:
    """The snapshot's releases in Spotify's rank order, each with its credited artists."""
    release_filters = filters or ReleaseFilters()
    entries = SnapshotEntry.objects.filter(release_filters.as_q("release__"), snapshot=snapshot)
    if album_type:
        entries = entries.filter(release__album_type=album_type)
    page = list(
        entries.select_related("release")
        .annotate(total=Window(Count("pk")))
        .order_by("rank")[offset : offset + limit]
    )
    if page:
        count = page[0].total
    elif album_type or release_filters.active:
        count = entries.count()
    else:
        count = snapshot.release_count
    artists = _artists_by_release(release_pks=[entry.release_id for entry in page])
    return Page(
        count=count,
        items=[
            _release_summary(entry.release, artists=artists.get(entry.release_id, []))
            | {"rank": entry.rank}
            for entry in page
        ],
    )


def release_detail(*, spotify_id: str) -> dict[str, Any] | None:
    """One release with its credited artists and its track list (empty until fetched)."""
    release = Release.objects.filter(spotify_id=spotify_id).first()
    if release is None:
        return None
    artists = _artists_by_release(release_pks=[release.pk]).get(release.pk, [])
    return _release_summary(release, artists=artists) | {
        "tracks_fetched_at": release.tracks_fetched_at,
        "tracks": [_track_as_dict(track) for track in Track.objects.filter(release=release)],
    }


def _release_summary(release: Release, *, artists: list[dict[str, Any]]) -> dict[str, Any]:
    return release_as_dict(release) | {
        "label": release.label,
        "popularity": release.popularity,
        "first_seen_at": release.first_seen_at,
        "artists": artists,
    }


def _artists_by_release(*, release_pks: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    pks = list(release_pks)
    if not pks:
        return {}
    credits: QuerySet[ReleaseArtist] = (
        ReleaseArtist.objects.filter(release_id__in=pks)
        .select_related("artist")
        .order_by("release_id", "position")
    )
    grouped: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for credit in credits:
        grouped[credit.release_id].append(
            {
                "id": credit.artist.spotify_id,
                "name": credit.artist.name,
                "spotify_url": credit.artist.spotify_url,
            }
        )
    return grouped


def _track_as_dict(track: Track) -> dict[str, Any]:
    return {
        "id": track.spotify_id,
        "name": track.name,
        "track_number": track.track_number,
        "disc_number": track.disc_number,
        "duration_ms": track.duration_ms,
        "explicit": track.explicit,
        "artists": track.artists,
    }


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


def data_changed_at() -> datetime | None:
    """When a sync last committed: every sync rewrites its snapshot's `fetched_at`."""
    changed: datetime | None = Snapshot.objects.aggregate(changed=Max("fetched_at"))["changed"]
    return changed

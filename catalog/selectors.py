"""Reads. Each selector makes a fixed number of queries, whatever the page size."""

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import psycopg
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import (
    CharField,
    Count,
    F,
    Func,
    Max,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Greatest

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
    # First seen at or after this moment.
    first_seen_since: datetime | None = None
    # `new=true`: first seen by the latest successful sync, read in the same SQL statement.
    new_only: bool = False
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
        if self.new_only:
            since = RawSQL(LATEST_SUCCEEDED_SYNC_START_SQL, ())  # noqa: S611 (a constant)
            q &= Q(**{f"{prefix}first_seen_at__gte": since})
        if self.first_seen_after:
            q &= Q(**{f"{prefix}first_seen_at__gt": self.first_seen_after})
        if self.exclude_various_artists:
            # A positive IN, not a negated join: under a prefix that crosses credits, a negation
            # would drop every artist who ever appeared on a compilation, not just the compilation.
            q &= Q(**{f"{prefix}pk__in": releases_not_by_various_artists()})
        return q

    def as_sql(self, release: str) -> tuple[list[str], list[Any]]:
        """`as_q` for raw SQL: conditions on the release table aliased `release`, to AND."""
        conditions: list[str] = []
        params: list[Any] = []
        if self.album_type:
            conditions.append(f"{release}.album_type = %s")
            params.append(self.album_type)
        if self.released_after:
            conditions.append(f"{release}.release_date_sort >= %s")
            params.append(self.released_after)
        if self.released_before:
            conditions.append(f"{release}.release_date_sort <= %s")
            params.append(self.released_before)
        if self.first_seen_since:
            conditions.append(f"{release}.first_seen_at >= %s")
            params.append(self.first_seen_since)
        if self.new_only:
            conditions.append(f"{release}.first_seen_at >= {LATEST_SUCCEEDED_SYNC_START_SQL}")
        if self.first_seen_after:
            conditions.append(f"{release}.first_seen_at > %s")
            params.append(self.first_seen_after)
        if self.exclude_various_artists:
            conditions.append(f"NOT EXISTS ({CREDITED_TO_VARIOUS_ARTISTS_SQL} = {release}.id)")
        return conditions, params

    @property
    def active(self) -> bool:
        return bool(
            self.album_type
            or self.released_after
            or self.released_before
            or self.first_seen_since
            or self.new_only
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


# The latest successful sync's start (`new=true`: releases first seen since), or, before any, a
# moment no release can be first seen after. In SQL, so that the filter costs no query of its own.
LATEST_SUCCEEDED_SYNC_START_SQL = f"""coalesce(
    (SELECT started_at FROM catalog_syncrun WHERE status = '{SyncRun.Status.SUCCEEDED}'
     ORDER BY started_at DESC LIMIT 1),
    'infinity'::timestamptz)"""  # noqa: S608 (constants only)
# Completed with "= <a release id>": that release credits Various Artists (as
# `releases_not_by_various_artists` tells them).
CREDITED_TO_VARIOUS_ARTISTS_SQL = f"""
    SELECT FROM catalog_releaseartist various_credit
    JOIN catalog_artist various ON various.id = various_credit.artist_id
    WHERE (various.spotify_id = '{VARIOUS_ARTISTS_ID}' OR upper(various.name) = 'VARIOUS ARTISTS')
    AND various_credit.release_id"""


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
    """Artists credited on the snapshot, most recent release first (by default), then by name:
    `artist_list_json`'s items, as dicts."""
    document = artist_list_json(
        snapshot_pk=snapshot.pk,
        limit=limit,
        offset=offset,
        q=q,
        genre=genre,
        releases=releases,
        ordering=ordering,
    )
    if document is None:  # deleted meanwhile
        return Page(count=0, items=[])
    page = json.loads(document)
    return Page(count=page["count"], items=page["items"])


def artist_list_json(
    *,
    day: date | None = None,
    snapshot_pk: int | None = None,
    limit: int,
    offset: int,
    q: str | None = None,
    genre: str | None = None,
    releases: ReleaseFilters | None = None,
    ordering: ArtistOrdering = "-latest_release_date",
) -> str | None:
    """The `/api/artists/` answer as JSON text: the snapshot (`snapshot_pk`'s, else the day's,
    else the latest), the count, and a page of artists with their releases. None when there is no
    such snapshot.

    PostgreSQL writes the whole document in ONE statement. One statement reads one database
    snapshot, so the answer never mixes two syncs without any transaction, and no row reaches
    Python. Written in SQL rather than compiled from querysets: compiling them cost more than the
    statement's run; the filters mirror `ReleaseFilters.as_q` (as_sql) and `SearchText`."""
    snapshot_params: list[Any] = []
    if snapshot_pk is not None:
        snapshot_condition, snapshot_params = "id = %s", [snapshot_pk]
    elif day is not None:
        snapshot_condition, snapshot_params = "date = %s", [day]
    else:
        snapshot_condition = "TRUE"
    conditions, params = (releases or ReleaseFilters()).as_sql("release")
    if q:
        conditions.append(ARTIST_NAME_CONTAINS_SQL)
        params.append(q)
    if genre:
        conditions.append("artist.genres @> ARRAY[%s]::varchar[]")
        params.append(genre)
    sql = ARTIST_LIST_SQL.format(
        snapshot_condition=snapshot_condition,
        conditions=" AND ".join(conditions) or "TRUE",
        order=ARTIST_ORDER_SQL[ordering],
        fetched_at=_utc_timestamp_sql("snapshot.fetched_at"),
        artist_image="nullif(artist.image_url, '')",
        release_image="nullif(release.image_url, '')",
    )
    with _prepared_cursor() as cursor:
        cursor.execute(sql, [*snapshot_params, *params, offset, offset + limit])
        row = cursor.fetchone()
    return None if row is None else str(row[0])


def _prepared_cursor() -> CursorWrapper:
    """What `connection.cursor()` gives, but binding parameters server-side, so that psycopg
    prepares a statement run often (settings: "prepare_threshold") and PostgreSQL stops planning
    it on every request: for the artist list, planning costs about as much as running. Still
    logged, counted by execute wrappers, and failing with Django's errors."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = psycopg.Cursor(connection.connection)
    # django-stubs say these take a CursorWrapper; Django hands them the DB-API cursor.
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)  # type: ignore[arg-type]
    return connection.make_cursor(cursor)  # type: ignore[arg-type]


def _utc_timestamp_sql(moment: str) -> str:
    """A timestamptz as Django's JSON encoder writes it: UTC, milliseconds (if any), then Z."""
    utc = f"({moment} AT TIME ZONE 'UTC')"
    return f"""to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS') || CASE
        WHEN extract(microseconds FROM {utc})::bigint %% 1000000 = 0 THEN 'Z'
        ELSE to_char({utc}, '.MS"Z"') END"""


# `SearchText("name")` contains `SearchText(q)`, as the `artist_name_search_trgm` index reads it.
ARTIST_NAME_CONTAINS_SQL = r"""catalog_search_text(artist.name) LIKE '%%' || replace(replace(replace(
    catalog_search_text(%s), '\', '\\'), '%%', '\%%'), '_', '\_') || '%%'"""
# Ties are broken by name, then id, so that pages never overlap; nulls come last.
ARTIST_ORDER_SQL: dict[str, str] = {
    "name": "artist.name, artist.id",
    "-latest_release_date": "max(release.release_date_sort) DESC NULLS LAST, artist.name, artist.id",
    "-popularity": "artist.popularity DESC NULLS LAST, artist.name, artist.id",
    "-followers": "artist.followers DESC NULLS LAST, artist.name, artist.id",
}
# Parameters: the snapshot's, the conditions', then the page's bounds (offset, offset + limit).
# `numbered` holds every matching artist, numbered in the requested order, with the ids of its
# releases that pass the filters; the count is theirs, the page a range of their numbers.
ARTIST_LIST_SQL = """
WITH snapshot AS (
    SELECT id, date, fetched_at, source, market FROM catalog_snapshot
    WHERE {snapshot_condition}
    ORDER BY date DESC, fetched_at DESC
    LIMIT 1
), numbered AS (
    SELECT
        artist.id, artist.spotify_id, artist.name, artist.spotify_url, artist.uri, artist.image_url,
        artist.genres, artist.popularity, artist.followers,
        max(release.release_date_sort) AS latest_release_date,
        array_agg(release.id) AS release_ids,
        row_number() OVER (ORDER BY {order}) AS position
    FROM snapshot
    JOIN catalog_snapshotentry entry ON entry.snapshot_id = snapshot.id
    JOIN catalog_release release ON release.id = entry.release_id
    JOIN catalog_releaseartist credit ON credit.release_id = release.id
    JOIN catalog_artist artist ON artist.id = credit.artist_id
    WHERE {conditions}
    GROUP BY artist.id
)
SELECT json_build_object(
    'snapshot', json_build_object(
        'date', snapshot.date,
        'fetched_at', {fetched_at},
        'source', snapshot.source,
        'market', nullif(snapshot.market, '')
    ),
    'count', (SELECT count(*) FROM numbered),
    'items', coalesce((
        SELECT json_agg(json_build_object(
            'id', artist.spotify_id,
            'name', artist.name,
            'spotify_url', artist.spotify_url,
            'uri', artist.uri,
            'image', {artist_image},
            'genres', artist.genres,
            'popularity', artist.popularity,
            'followers', artist.followers,
            'latest_release_date', artist.latest_release_date,
            'releases', (
                SELECT json_agg(json_build_object(
                    'id', release.spotify_id,
                    'name', release.name,
                    'album_type', release.album_type,
                    'release_date', release.release_date,
                    'release_date_precision', release.release_date_precision,
                    'total_tracks', release.total_tracks,
                    'image', {release_image},
                    'spotify_url', release.spotify_url
                ) ORDER BY release.release_date_sort DESC NULLS LAST, release.name)
                FROM catalog_release release
                WHERE release.id = ANY(artist.release_ids)
            )
        ) ORDER BY artist.position)
        FROM numbered artist
        WHERE artist.position > %s AND artist.position <= %s
    ), '[]')
)::text
FROM snapshot
"""


def artist_detail(*, spotify_id: str, limit: int, offset: int) -> dict[str, Any] | None:
    """One artist with a page of the releases we know of, newest first, and their count."""
    artist = Artist.objects.filter(spotify_id=spotify_id).first()
    if artist is None:
        return None
    releases = artist_release_page(artist=artist, limit=limit, offset=offset)
    return artist_as_dict(
        artist,
        latest_release_date=releases.latest_release_date,
        releases=[release_as_dict(release) for release in releases.items],
    ) | {"release_count": releases.count}


@dataclass(frozen=True)
class ArtistReleasePage:
    items: list[Release]
    # Of every release crediting the artist, not only the page's.
    count: int
    latest_release_date: date | None


def artist_release_page(*, artist: Artist, limit: int, offset: int) -> ArtistReleasePage:
    """A page of the releases crediting `artist`, newest first (ties by name, then id, so that
    pages never overlap), in one query: "Various Artists" is credited on ever more of them."""
    releases = Release.objects.filter(credits__artist=artist)
    page: list[Any] = list(
        releases.annotate(
            total=Window(Count("pk")), latest=Window(Max("release_date_sort"))
        ).order_by(F("release_date_sort").desc(nulls_last=True), "name", "pk")[
            offset : offset + limit
        ]
    )
    if page:
        first = page[0]
        return ArtistReleasePage(items=page, count=first.total, latest_release_date=first.latest)
    past_the_end = releases.aggregate(total=Count("pk"), latest=Max("release_date_sort"))
    return ArtistReleasePage(
        items=[], count=past_the_end["total"], latest_release_date=past_the_end["latest"]
    )


def release_as_dict(release: Release) -> dict[str, Any]:
    return {
        "id": release.spotify_id,
        "name": release.name,
        "album_type": release.album_type,
        "release_date": release.release_date,
        "release_date_precision": release.release_date_precision,
        "total_tracks": release.total_tracks,
        "image": release.image_url or None,
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
        "image": artist.image_url or None,
        "genres": artist.genres,
        "popularity": artist.popularity,
        "followers": artist.followers,
        "latest_release_date": latest_release_date,
        "releases": releases,
    }


def best_image(images: list[dict[str, Any]], *, width: int = 300) -> str | None:
    """The image closest to `width` pixels wide: big enough for a card, small enough to be quick.
    The first of equally close ones; an unknown or zero width counts as `width`."""
    if not isinstance(images, list) or not images:
        return None
    return str(min(images, key=lambda image: abs((image.get("width") or width) - width))["url"])


def latest_sync_time() -> datetime | None:
    snapshot = snapshot_latest()
    return snapshot.fetched_at if snapshot else None


def data_changed_at() -> datetime | None:
    """When a sync last changed what the API serves: its snapshot's commit (every sync rewrites
    `fetched_at`), or the end of its run, since track lists are stored after the snapshot."""
    last_run_end = (
        SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED)
        .order_by(F("finished_at").desc(nulls_last=True))
        .values("finished_at")[:1]
    )
    changed: datetime | None = Snapshot.objects.aggregate(
        changed=Greatest(Max("fetched_at"), Subquery(last_run_end))
    )["changed"]
    return changed

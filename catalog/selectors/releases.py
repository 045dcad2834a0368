"""Reads of releases, as the shapes of catalog.schemas read them: each release comes with its
credits (in Spotify's order) and their artists prefetched."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from catalog.models import Release, ReleaseArtist, Snapshot, SyncRun
from catalog.schemas import CreditedArtistOut, RankedReleaseOut, ReleaseSummaryOut
from catalog.selectors.artists import ARTIST_FIELDS_SQL, RELEASE_FIELDS_SQL, json_object_sql
from catalog.selectors.filters import NO_RELEASE_FILTERS, ReleaseFilters
from catalog.selectors.snapshots import Page
from common.db import prepared_cursor


def _with_credits(releases: QuerySet[Release]) -> QuerySet[Release]:
    """One more query, whatever the number of releases."""
    return releases.prefetch_related(
        Prefetch(
            "credits",
            queryset=ReleaseArtist.objects.select_related("artist").order_by("position"),
        )
    )


def release_list(
    *, snapshot: Snapshot, limit: int, offset: int, filters: ReleaseFilters = NO_RELEASE_FILTERS
) -> Page:
    """The snapshot's releases that pass `filters` in Spotify's rank order, as dicts of
    `RankedReleaseOut`'s shape, and their count: ONE prepared statement, in which PostgreSQL
    writes each release with its artists (no model instance per row); a second one counts past
    the last page. Starts from the snapshot's entries, so its cost does not grow with the
    history held."""
    conditions, params = filters.as_sql("release")
    with prepared_cursor() as cursor:
        cursor.execute(
            RELEASE_LIST_SQL.format(conditions=" AND ".join(conditions) or "TRUE"),
            [snapshot.pk, *params, limit, offset],
        )
        total, document = cursor.fetchone()
    page: list[dict[str, Any]] = json.loads(document)
    if total is not None:
        count = total
    elif filters.active:
        count = Release.objects.filter(filters.as_expression(), entries__snapshot=snapshot).count()
    else:
        count = snapshot.release_count
    return Page(count=count, items=page)


def release_detail(*, spotify_id: str) -> Release | None:
    """One release with its credits and its track list (empty until fetched): three queries."""
    return (
        _with_credits(Release.objects.filter(spotify_id=spotify_id))
        .prefetch_related("tracks")
        .first()
    )


def releases_by_ids(*, spotify_ids: list[str]) -> list[Release]:
    """These releases with their credits, in the order given (unknown ids left out)."""
    found = {
        release.spotify_id: release
        for release in _with_credits(Release.objects.filter(spotify_id__in=spotify_ids))
    }
    return [found[spotify_id] for spotify_id in spotify_ids if spotify_id in found]


def releases_first_seen_after(*, moment: datetime) -> list[Release]:
    """Releases first seen after `moment` (a notification digest's), newest first."""
    return list(
        _with_credits(Release.objects.filter(first_seen_at__gt=moment)).order_by(
            "-release_date_sort", "name", "pk"
        )
    )


def releases_new_in_run(*, run: SyncRun) -> list[Release]:
    """Releases of the run's snapshot that this run inserted (their first_seen_at is set on
    insert only, never by a later update, and syncs never overlap), newest first."""
    return list(
        _with_credits(
            Release.objects.filter(
                entries__snapshot=run.snapshot, first_seen_at__gte=run.started_at
            )
        ).order_by("-release_date_sort", "name", "pk")
    )


@dataclass(frozen=True)
class FeedFilters:
    releases: ReleaseFilters = field(default_factory=ReleaseFilters)
    genre: str | None = None
    artist_ids: tuple[str, ...] = ()


def releases_first_seen(
    *, since: datetime, filters: FeedFilters, limit: int
) -> list[dict[str, Any]]:
    """Releases first seen at or after `since`, newest first, as dicts of `ReleaseSummaryOut`'s
    shape plus `genres` (their artists', sorted): ONE statement, which picks the releases from the
    `first_seen_at` index (never a scan of the history) and has PostgreSQL write exactly what a
    feed entry needs, so that no model instance is built per release."""
    releases: QuerySet[Release] = Release.objects.filter(
        filters.releases.as_expression(), first_seen_at__gte=since
    )
    if filters.genre:
        releases = releases.filter(
            pk__in=ReleaseArtist.objects.filter(artist__genres__contains=[filters.genre]).values(
                "release_id"
            )
        )
    if filters.artist_ids:
        releases = releases.filter(
            pk__in=ReleaseArtist.objects.filter(artist__spotify_id__in=filters.artist_ids).values(
                "release_id"
            )
        )
    chosen, params = (
        releases.order_by("-first_seen_at", "-pk").values("pk")[:limit].query.sql_with_params()
    )
    with prepared_cursor() as cursor:
        cursor.execute(FIRST_SEEN_SQL.format(chosen=chosen), params)
        (document,) = cursor.fetchone()
    entries: list[dict[str, Any]] = json.loads(document)
    return entries


# `ReleaseSummaryOut`'s fields of the release aliased `release`, its artists in Spotify's order.
SUMMARY_FIELDS_SQL = RELEASE_FIELDS_SQL | {
    "artists": f"""array(
        SELECT {json_object_sql(CreditedArtistOut, ARTIST_FIELDS_SQL)}
        FROM catalog_releaseartist credit
        JOIN catalog_artist artist ON artist.id = credit.artist_id
        WHERE credit.release_id = release.id ORDER BY credit.position
    )"""  # noqa: S608
}

# The entry: `ReleaseSummaryOut`'s fields, then `genres`.
FIRST_SEEN_SQL = f"""
SELECT coalesce(json_agg(json_build_object(
    'release', {json_object_sql(ReleaseSummaryOut, SUMMARY_FIELDS_SQL)},
    'genres', array(
        SELECT DISTINCT genre FROM catalog_releaseartist credit
        JOIN catalog_artist artist ON artist.id = credit.artist_id, unnest(artist.genres) genre
        WHERE credit.release_id = release.id ORDER BY genre
    )
) ORDER BY release.first_seen_at DESC, release.id DESC), '[]')::text
FROM catalog_release release
WHERE release.id IN ({{chosen}})
"""  # noqa: S608 (SQL from the schemas' field map; values as parameters)


# Parameters: the snapshot's, the conditions', then the page's limit and offset.
RELEASE_LIST_SQL = """
SELECT max(entry.total), coalesce(json_agg({ranked} ORDER BY entry.rank), '[]')::text
FROM (
    SELECT entry.rank, entry.release_id, count(*) OVER () AS total
    FROM catalog_snapshotentry entry
    JOIN catalog_release release ON release.id = entry.release_id
    WHERE entry.snapshot_id = %s AND {{conditions}}
    ORDER BY entry.rank
    LIMIT %s OFFSET %s
) entry
JOIN catalog_release release ON release.id = entry.release_id
""".format(  # noqa: S608 (SQL from the schemas' field map; values as parameters)
    ranked=json_object_sql(RankedReleaseOut, SUMMARY_FIELDS_SQL | {"rank": "entry.rank"})
)

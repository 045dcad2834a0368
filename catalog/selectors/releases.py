"""Reads of releases, as the shapes of catalog.schemas read them: each release comes with its
credits (in Spotify's order) and their artists prefetched."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Prefetch, QuerySet, Window

from catalog.models import Release, ReleaseArtist, Snapshot, SnapshotEntry, SyncRun
from catalog.selectors.filters import NO_RELEASE_FILTERS, ReleaseFilters
from catalog.selectors.snapshots import Page


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
    """The snapshot's releases that pass `filters` in Spotify's rank order (`rank` annotated),
    with their credits: two queries."""
    releases = Release.objects.filter(filters.as_expression(), entries__snapshot=snapshot)
    page: list[Any] = list(
        _with_credits(
            releases.annotate(rank=F("entries__rank"), total=Window(Count("pk"))).order_by(
                "entries__rank"
            )[offset : offset + limit]
        )
    )
    if page:
        count = page[0].total
    elif filters.active:
        count = releases.count()
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
    insert only, never by a later update, and syncs never overlap), newest first. The markets
    of one sync share its start: a release an earlier market's run inserted is that run's."""
    earlier_markets = SnapshotEntry.objects.filter(
        snapshot__runs__started_at=run.started_at, snapshot__runs__pk__lt=run.pk
    ).values("release_id")
    return list(
        _with_credits(
            Release.objects.filter(
                entries__snapshot=run.snapshot, first_seen_at__gte=run.started_at
            ).exclude(pk__in=earlier_markets)
        ).order_by("-release_date_sort", "name", "pk")
    )


@dataclass(frozen=True)
class FeedFilters:
    releases: ReleaseFilters = field(default_factory=ReleaseFilters)
    genre: str | None = None
    artist_ids: tuple[str, ...] = ()


def releases_first_seen(*, since: datetime, filters: FeedFilters, limit: int) -> list[Release]:
    """Releases first seen at or after `since`, newest first, with their credits: two queries,
    read from the `first_seen_at` index (never a scan of the history)."""
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
    return list(_with_credits(releases.order_by("-first_seen_at", "-pk")[:limit]))

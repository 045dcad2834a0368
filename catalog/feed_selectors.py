"""Reads for the Atom feed: releases by when we first saw them, across every snapshot."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from catalog.models import Release, ReleaseArtist
from catalog.selectors import ReleaseFilters


@dataclass(frozen=True)
class FeedFilters:
    releases: ReleaseFilters = field(default_factory=ReleaseFilters)
    genre: str | None = None
    artist_ids: tuple[str, ...] = ()


def releases_first_seen(*, since: datetime, filters: FeedFilters, limit: int) -> list[Release]:
    """Releases first seen at or after `since`, newest first, with their ordered credits and
    the credited artists (for names and genres) in two more queries."""
    releases: QuerySet[Release] = Release.objects.filter(
        filters.releases.as_q(), first_seen_at__gte=since
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
    return list(
        releases.prefetch_related(
            Prefetch(
                "credits",
                queryset=ReleaseArtist.objects.select_related("artist").order_by("position"),
            )
        ).order_by("-first_seen_at", "-pk")[:limit]
    )

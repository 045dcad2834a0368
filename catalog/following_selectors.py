"""Reads for "Your artists": a user's followed artists, their releases, and how far the rotation
that checks those artists has got. Every read is scoped to one user: nothing here can return
another user's follows."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, Max, Q, QuerySet, Window
from django.db.models.aggregates import Count
from django.utils import timezone

from catalog.models import Artist, FollowedArtist, Release, ReleaseArtist
from catalog.selectors import Page, ReleaseFilters, releases_by_ids

# The releases an artist of /api/me/artists/ is listed with: its newest few.
ARTIST_RELEASES_SHOWN = 5


@dataclass(frozen=True)
class RotationProgress:
    """How many of the user's followed artists were checked within FOLLOWED_ARTIST_CHECK_HOURS."""

    checked_recently: int
    total: int
    check_hours: float


@dataclass(frozen=True)
class FollowedArtistRow:
    """A followed artist with its newest releases: `FollowedArtistOut`'s source."""

    artist: Artist
    releases: list[Release]
    latest_release_date: date | None
    last_checked_at: datetime | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.artist, name)


def following_artists(*, user: Any) -> QuerySet[Artist]:
    """The artists the user follows (through their connection), by name."""
    return Artist.objects.filter(
        pk__in=FollowedArtist.objects.filter(connection__user=user).values("artist_id")
    ).order_by("name", "pk")


def following_artist_spotify_ids(*, user: Any) -> set[str]:
    """Spotify ids of the artists the user follows, for the "You follow" mark."""
    if not getattr(user, "is_authenticated", False):
        return set()
    return set(following_artists(user=user).values_list("spotify_id", flat=True))


def following_releases(
    *, user: Any, days: int, filters: ReleaseFilters, now: datetime | None = None
) -> QuerySet[Release]:
    """Releases crediting an artist the user follows, released in the last `days` days, newest
    first."""
    since = timezone.localdate(now or timezone.now()) - timedelta(days=days)
    followed = ReleaseArtist.objects.filter(artist__follows__connection__user=user).values(
        "release_id"
    )
    return Release.objects.filter(
        filters.as_expression(), pk__in=followed, release_date_sort__gte=since
    ).order_by(F("release_date_sort").desc(nulls_last=True), "-first_seen_at", "-pk")


def following_release_list(
    *, user: Any, days: int, filters: ReleaseFilters, limit: int, offset: int
) -> Page:
    """A page of following_releases with their credits (`ReleaseSummaryOut`'s source): three
    queries."""
    releases = following_releases(user=user, days=days, filters=filters)
    page = list(
        releases.annotate(total=Window(Count("pk"))).values_list("spotify_id", "total")[
            offset : offset + limit
        ]
    )
    count = page[0][1] if page else releases.count()
    return Page(count=count, items=releases_by_ids(spotify_ids=[row[0] for row in page]))


def following_artist_list(*, user: Any, limit: int, offset: int) -> Page:
    """A page of the user's followed artists (`FollowedArtistOut`'s source), each with when the
    rotation last checked it and its newest few releases: three queries."""
    artists = following_artists(user=user)
    page = list(
        artists.annotate(
            latest_release_date=Max("releases__release_date_sort"), total=Window(Count("pk"))
        )[offset : offset + limit]
    )
    count = page[0].total if page else artists.count()
    newest: dict[int, list[Release]] = {artist.pk: [] for artist in page}
    credits = (
        ReleaseArtist.objects.filter(artist_id__in=list(newest))
        .select_related("release")
        .order_by("artist_id", F("release__release_date_sort").desc(nulls_last=True), "-pk")
    )
    for credit in credits:
        shown = newest[credit.artist_id]
        if len(shown) < ARTIST_RELEASES_SHOWN:
            shown.append(credit.release)
    return Page(
        count=count,
        items=[
            FollowedArtistRow(
                artist=artist,
                releases=newest[artist.pk],
                latest_release_date=artist.latest_release_date,
                last_checked_at=artist.albums_checked_at,
            )
            for artist in page
        ],
    )


def following_rotation_progress(*, user: Any, now: datetime | None = None) -> RotationProgress:
    """For the user's page: followed artists checked in the last FOLLOWED_ARTIST_CHECK_HOURS,
    out of all they follow."""
    hours = settings.FOLLOWED_ARTIST_CHECK_HOURS
    since = (now or timezone.now()) - timedelta(hours=hours)
    counts = following_artists(user=user).aggregate(
        total=Count("pk"), checked=Count("pk", filter=Q(albums_checked_at__gt=since))
    )
    return RotationProgress(
        checked_recently=counts["checked"], total=counts["total"], check_hours=hours
    )

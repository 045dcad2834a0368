"""Reads for the dashboard pages. Each makes a fixed number of queries, whatever the page size."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from django_q.tasks import fetch

from catalog.following_selectors import following_artists
from catalog.models import Artist, Release, ReleaseArtist, Snapshot, SyncRun
from catalog.parameters import album_types
from catalog.selectors import ArtistReleasePage, ReleaseFilters, SearchText, artist_release_page
from catalog.sync_lock import sync_lock_held_by_another_session

RELEASE_TYPES = album_types()
SYNC_SCHEDULE_NAME = "sync-new-releases"


@dataclass(frozen=True)
class ArtistCard:
    artist: Artist
    latest: Release | None
    # Releases of this artist in the snapshot (after the filters), the latest one included.
    release_count: int


@dataclass(frozen=True)
class ArtistGrid:
    page: Page[Any]
    cards: list[ArtistCard]


@dataclass(frozen=True)
class SyncOverview:
    # The run holding the sync lock right now, if any.
    in_progress: SyncRun | None
    # The latest run that ran to its end (succeeded or failed); skipped runs are not news.
    last: SyncRun | None
    # When `last` failed, the run whose data is still shown.
    last_success: SyncRun | None
    next_run_at: datetime | None
    scheduled: bool


def dashboard_artists(
    *,
    snapshot: Snapshot,
    search: str = "",
    releases: ReleaseFilters | None = None,
    page_number: int | str | None = 1,
    per_page: int = 24,
) -> ArtistGrid:
    """Artists credited on the snapshot, newest release first; `search` matches artist or release
    names, `releases` keeps artists with a release that passes (and shows that release)."""
    return _artist_grid(
        artists=Artist.objects.all(),
        in_scope=Q(release__entries__snapshot=snapshot),
        search=search,
        releases=releases,
        page_number=page_number,
        per_page=per_page,
    )


def following_artist_grid(
    *,
    user: Any,
    days: int,
    search: str = "",
    releases: ReleaseFilters | None = None,
    page_number: int | str | None = 1,
    per_page: int = 24,
    now: datetime | None = None,
) -> ArtistGrid:
    """The "Following" view: the artists the user follows with releases of the last `days` days
    (the window of /api/me/releases/), as the dashboard's cards."""
    since = timezone.localdate(now or timezone.now()) - timedelta(days=days)
    return _artist_grid(
        artists=following_artists(user=user),
        in_scope=Q(release__release_date_sort__gte=since),
        search=search,
        releases=releases,
        page_number=page_number,
        per_page=per_page,
    )


def _artist_grid(
    *,
    artists: QuerySet[Artist],
    in_scope: Q,
    search: str,
    releases: ReleaseFilters | None,
    page_number: int | str | None,
    per_page: int,
) -> ArtistGrid:
    credits = ReleaseArtist.objects.filter(
        Q(artist=OuterRef("pk")) & in_scope & (releases or ReleaseFilters()).as_q("release__")
    )
    artists = artists.filter(Exists(credits))
    if search:
        # Case- and accent-insensitive, as the API's search: "beyonce" finds "Beyoncé".
        wanted = SearchText(Value(search))
        release_matches = credits.alias(release_text=SearchText("release__name")).filter(
            release_text__contains=wanted
        )
        artists = artists.alias(name_text=SearchText("name")).filter(
            Q(name_text__contains=wanted) | Exists(release_matches)
        )
    newest_first = credits.order_by(
        F("release__release_date_sort").desc(nulls_last=True), "release__name", "release_id"
    )
    artists = artists.annotate(
        latest_release_id=Subquery(newest_first.values("release_id")[:1]),
        latest_release_date=Subquery(newest_first.values("release__release_date_sort")[:1]),
        release_count=Subquery(
            credits.order_by().values("artist").annotate(count=Count("pk")).values("count")
        ),
    ).order_by(F("latest_release_date").desc(nulls_last=True), "name", "pk")
    page = Paginator(artists, per_page).get_page(page_number)
    artist_rows: list[Any] = list(page.object_list)
    latest_releases = Release.objects.in_bulk([row.latest_release_id for row in artist_rows])
    cards = [
        ArtistCard(
            artist=row,
            latest=latest_releases.get(row.latest_release_id),
            release_count=row.release_count or 0,
        )
        for row in artist_rows
    ]
    return ArtistGrid(page=page, cards=cards)


def artist_releases(
    *, spotify_id: str, limit: int, offset: int
) -> tuple[Artist, ArtistReleasePage] | None:
    """One artist and a page of the releases we know of, newest first."""
    artist = Artist.objects.filter(spotify_id=spotify_id).first()
    if artist is None:
        return None
    return artist, artist_release_page(artist=artist, limit=limit, offset=offset)


def sync_overview() -> SyncOverview:
    newest_running = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).order_by("-pk").first()
    # A `running` row without the lock was left by a worker that died: it is not in progress.
    in_progress = newest_running if newest_running and sync_lock_held_by_another_session() else None
    ended = SyncRun.objects.filter(status__in=[SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED])
    last = ended.order_by("-started_at", "-pk").first()
    last_success = None
    if last is not None and last.status == SyncRun.Status.FAILED:
        last_success = (
            ended.filter(status=SyncRun.Status.SUCCEEDED).order_by("-started_at", "-pk").first()
        )
    schedule = Schedule.objects.filter(name=SYNC_SCHEDULE_NAME).order_by("pk").first()
    return SyncOverview(
        in_progress=in_progress,
        last=last,
        last_success=last_success,
        next_run_at=schedule.next_run if schedule else None,
        scheduled=schedule is not None,
    )


def sync_task_finished(*, task_id: str) -> bool:
    """Whether the django-q2 worker has finished the task (its result is stored then)."""
    return fetch(task_id) is not None


def sync_task_queued(*, func: str) -> str | None:
    """The id of a task for `func` waiting in django-q2's queue (or taken by a worker that has
    not finished it), if any. The queue holds a few rows; their payloads are signed, so each is
    decoded to read its function."""
    for queued in OrmQ.objects.order_by("pk"):
        if queued.func() == func:
            return str(queued.task_id())
    return None

"""Writes: housekeeping, the daily pruning of what the app no longer needs.

Every rule is a set-based DELETE (releases, tracks, credits and entries go by the database's own
ON DELETE CASCADE), so a year of history goes in a few statements, not a row at a time."""

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django_q.models import Failure

from catalog.caching import data_version_refresh
from catalog.models import (
    Artist,
    CatalogChange,
    FollowedArtist,
    NotificationDelivery,
    Release,
    ReleaseArtist,
    Snapshot,
    SnapshotEntry,
    SyncRun,
    Track,
    WebhookDelivery,
)
from catalog.sync_lock import SYNC_LOCK_KEY

logger = logging.getLogger(__name__)

SYNC_RUNS_KEPT_DAYS = 90
# The latest runs stay whatever their age, so a site that syncs rarely keeps its history.
SYNC_RUNS_KEPT_LATEST = 100
SKIPPED_RUNS_KEPT_DAYS = 7
WEBHOOK_DELIVERIES_KEPT_DAYS = 30
NOTIFICATION_DELIVERIES_KEPT_DAYS = 30
TASK_FAILURES_KEPT_DAYS = 30
# The rules that remove what the catalog's reads show.
CATALOG_RULES = ("snapshots", "releases", "tracks", "artists")


@dataclass(frozen=True)
class HousekeepingCounts:
    sync_runs: int = 0
    webhook_deliveries: int = 0
    notification_deliveries: int = 0
    task_failures: int = 0
    sessions: int = 0
    snapshots: int = 0
    releases: int = 0
    tracks: int = 0
    artists: int = 0

    def __str__(self) -> str:
        return ", ".join(
            f"{name.replace('_', ' ')} {count}" for name, count in asdict(self).items()
        )


def housekeeping_run(*, now: datetime, dry_run: bool = False) -> HousekeepingCounts:
    """Prunes (or, on a dry run, only counts) what the rules below say is no longer needed."""
    doomed = _doomed(now=now)
    if dry_run:
        counts = HousekeepingCounts(**{name: rows.count() for name, rows in doomed.items()})
        logger.info("Housekeeping (dry run) would remove: %s", counts)
        return counts
    with transaction.atomic():
        # A sync writing meanwhile could put a doomed release back in today's snapshot: wait for
        # it to end, and make the syncs that start meanwhile skip (they hold this key's lock too).
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SYNC_LOCK_KEY])
        # The order matters: each rule reads only what the rules before it leave in place (tracks
        # and artists are found through the doomed releases, the releases through the snapshots).
        deleted = {name: _delete(rows) for name, rows in doomed.items()}
        if any(deleted[name] for name in CATALOG_RULES):
            # What the API and pages serve changed: a new data version, so that no cached answer
            # or ETag of the pruned catalog is served again.
            CatalogChange.objects.bulk_create(  # one upsert of the one row
                [CatalogChange(pk=1, changed_at=timezone.now())],
                update_conflicts=True,
                unique_fields=["id"],
                update_fields=["changed_at"],
            )
            transaction.on_commit(data_version_refresh)
    counts = HousekeepingCounts(**deleted)
    logger.info("Housekeeping removed: %s", counts)
    return counts


def _doomed(*, now: datetime) -> dict[str, QuerySet[Any]]:
    """Each rule's rows, in the order they can be deleted."""
    releases = _releases_doomed(snapshots=_snapshots_doomed(now=now))
    return {
        "sync_runs": _sync_runs_doomed(now=now),
        "webhook_deliveries": WebhookDelivery.objects.filter(
            created_at__lt=now - timedelta(days=WEBHOOK_DELIVERIES_KEPT_DAYS)
        ),
        # With their attempts' log. What was sent to whom stays: it is what
        # keeps a release from being announced twice, and goes with the release.
        "notification_deliveries": NotificationDelivery.objects.filter(
            created_at__lt=now - timedelta(days=NOTIFICATION_DELIVERIES_KEPT_DAYS)
        ),
        "task_failures": Failure.objects.filter(
            stopped__lt=now - timedelta(days=TASK_FAILURES_KEPT_DAYS)
        ),
        "sessions": Session.objects.filter(expire_date__lt=now),
        "tracks": Track.objects.filter(release__in=releases),
        "artists": _artists_doomed(releases=releases),
        "releases": releases,
        "snapshots": _snapshots_doomed(now=now),
    }


def _sync_runs_doomed(*, now: datetime) -> QuerySet[SyncRun]:
    latest = SyncRun.objects.order_by("-started_at", "-pk").values("pk")[:SYNC_RUNS_KEPT_LATEST]
    old = Q(started_at__lt=now - timedelta(days=SYNC_RUNS_KEPT_DAYS)) & ~Q(pk__in=latest)
    skipped = Q(
        status=SyncRun.Status.SKIPPED,
        started_at__lt=now - timedelta(days=SKIPPED_RUNS_KEPT_DAYS),
    )
    return SyncRun.objects.filter(old | skipped)


def _snapshots_doomed(*, now: datetime) -> QuerySet[Snapshot]:
    days = settings.SNAPSHOT_RETENTION_DAYS
    if days == 0:
        return Snapshot.objects.none()
    cutoff = timezone.localdate(now) - timedelta(days=days)
    # The newest snapshot is what the site shows: it stays even after a long run of failed syncs.
    newest = Snapshot.objects.order_by("-date", "-fetched_at").values("pk")[:1]
    return Snapshot.objects.filter(date__lt=cutoff).exclude(pk__in=newest)


def _releases_doomed(*, snapshots: QuerySet[Snapshot]) -> QuerySet[Release]:
    """Releases of the pruned snapshots that no kept snapshot lists. A release that was never in
    a snapshot (stored some other way) is not housekeeping's to remove."""
    entries = SnapshotEntry.objects.filter(release=OuterRef("pk"))
    return Release.objects.filter(
        Exists(entries.filter(snapshot__in=snapshots)),
        ~Exists(entries.exclude(snapshot__in=snapshots)),
    )


def _artists_doomed(*, releases: QuerySet[Release]) -> QuerySet[Artist]:
    """Artists credited on a pruned release and on no release that stays, and followed by no
    user (deleting them would drop the follow until the user's list is read again)."""
    credits = ReleaseArtist.objects.filter(artist=OuterRef("pk"))
    return Artist.objects.filter(
        Exists(credits.filter(release__in=releases)),
        ~Exists(credits.exclude(release__in=releases)),
        ~Exists(FollowedArtist.objects.filter(artist=OuterRef("pk"))),
    )


def _delete(rows: QuerySet[Any]) -> int:
    """The rows themselves, not what the database cascades to (those are counted on their own)."""
    _, per_model = rows.delete()
    return per_model.get(rows.model._meta.label, 0)

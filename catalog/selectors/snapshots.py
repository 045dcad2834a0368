"""Reads of snapshots: the days we hold, and when the served data last changed."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Count, F, Max, Subquery, Window
from django.db.models.functions import Greatest

from catalog.models import Snapshot, SyncRun


@dataclass(frozen=True)
class Page:
    count: int
    items: list[Any]


def snapshot_latest(*, day: date | None = None) -> Snapshot | None:
    snapshots = Snapshot.objects.order_by("-date", "-fetched_at")
    if day is not None:
        snapshots = snapshots.filter(date=day)
    return snapshots.first()


def snapshot_list(*, limit: int, offset: int) -> Page:
    """The days we hold, newest first, in one query."""
    snapshots = list(
        Snapshot.objects.annotate(total=Window(Count("pk"))).order_by("-date", "market")[
            offset : offset + limit
        ]
    )
    count = snapshots[0].total if snapshots else Snapshot.objects.count()
    return Page(count=count, items=snapshots)


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

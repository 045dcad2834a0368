"""Reads of snapshots: the days we hold, and when the served data last changed."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import BooleanField, Count, F, Max, Subquery, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import Greatest

from catalog.models import CatalogChange, Snapshot, SyncRun
from common.db import model_columns_sql, model_from_row, prepared_cursor
from spotify.conf import default_market


@dataclass(frozen=True)
class Page:
    count: int
    items: list[Any]


def snapshot_choice_sql(*, day: date | None, market: str | None) -> tuple[str, list[Any]]:
    """Which snapshots a read may serve, as a condition on catalog_snapshot's columns and its
    parameters: the market's (the default one when None), that day's if one is given. Of
    these, reads serve the newest (by date, then fetched_at)."""
    condition = "market = %s"
    params: list[Any] = [default_market() if market is None else market]
    if day is not None:
        condition += " AND date = %s"
        params.append(day)
    return condition, params


def snapshot_latest(*, day: date | None = None, market: str | None = None) -> Snapshot | None:
    """The snapshot reads serve (see `snapshot_choice_sql`): prepared, as every page reads it."""
    condition, params = snapshot_choice_sql(day=day, market=market)
    with prepared_cursor() as cursor:
        cursor.execute(
            f"SELECT {model_columns_sql(Snapshot, 'snapshot')} FROM {Snapshot._meta.db_table} "  # noqa: S608 (names from the model, values as parameters)
            f"snapshot WHERE {condition} ORDER BY date DESC, fetched_at DESC LIMIT 1",
            params,
        )
        row = cursor.fetchone()
    return None if row is None else model_from_row(Snapshot, row)


def snapshot_list(*, limit: int, offset: int, market: str | None = None) -> Page:
    """The market's days (the default market's when None), newest first, in one query."""
    condition, params = snapshot_choice_sql(day=None, market=market)
    chosen = Snapshot.objects.filter(RawSQL(condition, params, output_field=BooleanField()))  # noqa: S611 (fixed SQL, values as parameters)
    snapshots = list(
        chosen.annotate(total=Window(Count("pk"))).order_by("-date")[offset : offset + limit]
    )
    count = snapshots[0].total if snapshots else chosen.count()
    return Page(count=count, items=snapshots)


def data_changed_at() -> datetime | None:
    """When what the API serves last changed: a sync's snapshot commit (every sync rewrites
    `fetched_at`), the end of its run (track lists are stored after the snapshot), or
    housekeeping's pruning (`CatalogChange`)."""
    last_run_end = (
        SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED)
        .order_by(F("finished_at").desc(nulls_last=True))
        .values("finished_at")[:1]
    )
    pruned = CatalogChange.objects.values("changed_at")[:1]
    changed: datetime | None = Snapshot.objects.aggregate(
        changed=Greatest(Max("fetched_at"), Subquery(last_run_end), Subquery(pruned))
    )["changed"]
    return changed

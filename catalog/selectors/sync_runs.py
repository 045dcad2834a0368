"""Reads of sync runs and the sync's schedule and queue."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ, Schedule
from django_q.signing import SignedPackage
from django_q.tasks import fetch

from catalog.models import SyncRun
from catalog.sync_lock import sync_lock_held_by_another_session
from catalog.task_queue import SYNC_HANDOFF_KEY
from common.db import model_columns_sql, model_from_row, prepared_cursor
from spotify.conf import configured_markets

SYNC_SCHEDULE_NAME = "sync-new-releases"


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
    # With several markets, each one's latest run that ran to its end, in SPOTIFY_MARKETS' order.
    markets: list[SyncRun] = field(default_factory=list)


def sync_overview() -> SyncOverview:
    """The sync card's state in one statement (prepared: read on every page): the newest
    `running` run, the latest run that ran to its end, the latest success (kept only when that
    run failed) and the schedule."""
    with prepared_cursor() as cursor:
        cursor.execute(
            SYNC_OVERVIEW_SQL,
            [
                SYNC_SCHEDULE_NAME,
                SyncRun.Status.RUNNING,
                SyncRun.Status.SUCCEEDED,
                SyncRun.Status.FAILED,
                SyncRun.Status.SUCCEEDED,
            ],
        )
        rows = cursor.fetchall()
    # Every row carries the schedule: there is one row even when no run matched.
    scheduled, next_run_at = rows[0][:2]
    picked = {row[2]: model_from_row(SyncRun, row[3:]) for row in rows if row[2] is not None}
    newest_running = picked.get("running")
    # A `running` row without the lock was left by a worker that died: it is not in progress.
    in_progress = newest_running if newest_running and sync_lock_held_by_another_session() else None
    last = picked.get("last")
    last_success = (
        picked.get("last_success")
        if last is not None and last.status == SyncRun.Status.FAILED
        else None
    )
    return SyncOverview(
        in_progress=in_progress,
        last=last,
        last_success=last_success,
        next_run_at=next_run_at,
        scheduled=scheduled,
        markets=_last_run_per_market(
            SyncRun.objects.filter(status__in=[SyncRun.Status.SUCCEEDED, SyncRun.Status.FAILED])
        )
        if len(configured_markets()) > 1
        else [],
    )


# Parameters: the schedule's name, then the statuses (running; succeeded and failed; succeeded).
# `picked` names each run the card shows by its role; the one-row start keeps the schedule when
# no run matches. Ties of `started_at` go to the newer row.
SYNC_OVERVIEW_SQL = f"""
SELECT schedule.id IS NOT NULL, schedule.next_run, picked.role,
    {model_columns_sql(SyncRun, "run")}
FROM (SELECT) one
LEFT JOIN LATERAL (
    SELECT id, next_run FROM {Schedule._meta.db_table} WHERE name = %s ORDER BY id LIMIT 1
) schedule ON TRUE
LEFT JOIN LATERAL (
    (SELECT id, 'running' AS role FROM {SyncRun._meta.db_table}
        WHERE status = %s ORDER BY id DESC LIMIT 1)
    UNION ALL
    (SELECT id, 'last' FROM {SyncRun._meta.db_table}
        WHERE status IN (%s, %s) ORDER BY started_at DESC, id DESC LIMIT 1)
    UNION ALL
    (SELECT id, 'last_success' FROM {SyncRun._meta.db_table}
        WHERE status = %s ORDER BY started_at DESC, id DESC LIMIT 1)
) picked ON TRUE
LEFT JOIN {SyncRun._meta.db_table} run ON run.id = picked.id
"""  # noqa: S608 (table and column names from the models, values as parameters)


def _last_run_per_market(ended: QuerySet[SyncRun]) -> list[SyncRun]:
    markets = configured_markets()
    latest = {
        run.market: run
        for run in ended.filter(market__in=markets)
        .order_by("market", "-started_at", "-pk")
        .distinct("market")
    }
    return [latest[market] for market in markets if market in latest]


def sync_runs_of_sync(*, run: SyncRun) -> list[SyncRun]:
    """Every market's run of the sync `run` belongs to (they share its start), in market order."""
    return list(
        SyncRun.objects.filter(started_at=run.started_at, trigger=run.trigger)
        .exclude(status=SyncRun.Status.SKIPPED)
        .order_by("pk")
    ) or [run]


def sync_task_finished(*, task_id: str) -> bool:
    """Whether the django-q2 worker has finished the task (its result is stored then)."""
    return fetch(task_id) is not None


def sync_task_queued(*, func: str) -> str | None:
    """The id of a task for `func` waiting in django-q2's queue, whichever broker holds it (with
    the ORM broker, also one taken by a worker that has not finished it; with Redis, "Refresh
    now"'s task while a worker takes it over), if any. The queue holds a few tasks; their
    payloads are signed, so each is decoded to read its function."""
    if Conf.ORM:
        for queued in OrmQ.objects.order_by("pk"):
            if queued.func() == func:
                return str(queued.task_id())
        return None
    broker = get_broker()
    for payload in broker.connection.lrange(broker.list_key, 0, -1):
        task = _task(payload)
        if task.get("func") == func:
            return str(task.get("id"))
    handed_over: str | None = cache.get(SYNC_HANDOFF_KEY)
    return handed_over


def task_queue_length() -> int:
    """Tasks waiting for a worker, whichever broker holds them."""
    return int(get_broker().queue_size() or 0)


def _task(payload: bytes | str) -> dict[str, Any]:
    try:
        task: dict[str, Any] = SignedPackage.loads(
            payload.decode() if isinstance(payload, bytes) else payload
        )
    except Exception:  # a payload signed with another key, or not ours: not our task
        return {}
    return task

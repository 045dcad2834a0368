"""Writes around the sync's scheduling: the recurring django-q2 schedules (the sync and the
daily housekeeping), "Refresh now", and closing runs that a killed worker left `running`."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from catalog.models import SyncRun
from catalog.selectors import SYNC_SCHEDULE_NAME, sync_task_queued
from catalog.services import sync_runs_fail_interrupted
from catalog.sync_lock import sync_lock_held_by_another_session
from catalog.task_queue import sync_handoff_mark

SYNC_TASK = "catalog.tasks.sync_new_releases"
HOUSEKEEPING_SCHEDULE_NAME = "housekeeping"
HOUSEKEEPING_TASK = "catalog.tasks.housekeeping"
FOLLOWING_TASK = "catalog.tasks.following_refresh"
PLAYLIST_TASK = "catalog.tasks.playlist_refresh"
NOTIFICATION_DIGESTS_SCHEDULE_NAME = "notification-digests"
NOTIFICATION_DIGESTS_TASK = "catalog.notifications.tasks.notification_digests"
# Serialises concurrent `ensure_sync_schedule` runs (say, web and worker starting together).
SCHEDULE_LOCK_KEY = 0x5EC7_5C4E
# Serialises "Refresh now" presses, so that two at once cannot both find the queue empty.
REFRESH_LOCK_KEY = 0x5EC7_5EF5


class ScheduleChange(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class RefreshState(StrEnum):
    QUEUED = "queued"
    ALREADY_QUEUED = "already queued"
    ALREADY_RUNNING = "already running"


@dataclass(frozen=True)
class RefreshOutcome:
    state: RefreshState
    # The sync task waiting in the queue: the one this press enqueued, or the one already there.
    task_id: str | None = None


def sync_schedule_ensure(*, minutes: int | None = None) -> tuple[Schedule, ScheduleChange]:
    """Makes the one `sync-new-releases` schedule match the settings; safe to run any number of
    times, concurrently too. A shorter interval brings the next run forward."""
    minutes = minutes if minutes is not None else settings.SYNC_INTERVAL_MINUTES
    if not 1 <= minutes <= 32767:
        raise ValueError(f"The sync interval must be 1 to 32767 minutes, not {minutes}")
    now = timezone.now()
    return _schedule_ensure(
        name=SYNC_SCHEDULE_NAME,
        wanted={"func": SYNC_TASK, "schedule_type": Schedule.MINUTES, "minutes": minutes},
        # The first run is due at once, so a fresh deploy has data without waiting an hour.
        first_run=now,
        latest_next_run=now + timedelta(minutes=minutes),
    )


def housekeeping_schedule_ensure() -> tuple[Schedule, ScheduleChange]:
    """Makes the one daily `housekeeping` schedule exist, like sync_schedule_ensure."""
    tomorrow = timezone.now() + timedelta(days=1)
    return _schedule_ensure(
        name=HOUSEKEEPING_SCHEDULE_NAME,
        wanted={"func": HOUSEKEEPING_TASK, "schedule_type": Schedule.DAILY, "minutes": None},
        # Not at once: on a fresh deploy the first sync goes first, undisturbed.
        first_run=tomorrow,
        latest_next_run=tomorrow,
    )


def notification_digests_schedule_ensure() -> tuple[Schedule, ScheduleChange]:
    """Makes the one daily `notification-digests` schedule run at NOTIFY_DIGEST_TIME in
    TIME_ZONE; a changed time moves the next run to it."""
    hour, minute = (int(part) for part in settings.NOTIFY_DIGEST_TIME.split(":"))
    now = timezone.localtime()
    due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if due <= now:
        due += timedelta(days=1)
    schedule, change = _schedule_ensure(
        name=NOTIFICATION_DIGESTS_SCHEDULE_NAME,
        wanted={
            "func": NOTIFICATION_DIGESTS_TASK,
            "schedule_type": Schedule.DAILY,
            "minutes": None,
        },
        first_run=due,
        latest_next_run=due,
    )
    # django-q2 adds whole days in UTC: after a change of time (or of daylight saving time) the
    # next run is put back on the wanted local time.
    current = timezone.localtime(schedule.next_run) if schedule.next_run else None
    if current is None or (current.hour, current.minute) != (hour, minute):
        schedule.next_run = due
        schedule.save(update_fields=["next_run"])
        change = ScheduleChange.UPDATED if change == ScheduleChange.UNCHANGED else change
    return schedule, change


def _schedule_ensure(
    *, name: str, wanted: dict[str, Any], first_run: datetime, latest_next_run: datetime
) -> tuple[Schedule, ScheduleChange]:
    """Creates the one schedule called `name`, or puts back what was edited (duplicates
    included); a next run later than `latest_next_run` is brought forward to it."""
    wanted = {**wanted, "repeats": -1, "args": None, "kwargs": None}
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEDULE_LOCK_KEY])
        schedules = list(Schedule.objects.filter(name=name).order_by("pk"))
        if not schedules:
            created = Schedule.objects.create(name=name, next_run=first_run, **wanted)
            return created, ScheduleChange.CREATED
        schedule, *duplicates = schedules
        for duplicate in duplicates:
            duplicate.delete()
        if not duplicates and all(getattr(schedule, k) == v for k, v in wanted.items()):
            return schedule, ScheduleChange.UNCHANGED
        for field, value in wanted.items():
            setattr(schedule, field, value)
        if schedule.next_run is None or schedule.next_run > latest_next_run:
            schedule.next_run = latest_next_run
        schedule.save()
        return schedule, ScheduleChange.UPDATED


def sync_refresh_request() -> RefreshOutcome:
    """ "Refresh now": enqueues a sync unless one is already queued or running, so that impatient
    presses queue one sync, not one each."""
    sync_runs_fail_interrupted()
    # The check and the enqueue are one transaction under a lock: the next press, waiting on the
    # lock, sees the task committed (the ORM broker's queue is a table in this database) or pushed
    # (Redis's list is written at once).
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK_KEY])
        # Queued before running: a worker takes the sync lock before it clears the queued mark,
        # so read in this order a sync moving from one to the other is always seen as one of them.
        queued = sync_task_queued(func=SYNC_TASK)
        if queued is not None:
            return RefreshOutcome(state=RefreshState.ALREADY_QUEUED, task_id=queued)
        if (
            SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()
            or sync_lock_held_by_another_session()
        ):
            return RefreshOutcome(state=RefreshState.ALREADY_RUNNING)
        task_id = str(
            async_task(SYNC_TASK, trigger=SyncRun.Trigger.MANUAL.value, task_name="Refresh now")
        )
        sync_handoff_mark(task_id=task_id)
        return RefreshOutcome(state=RefreshState.QUEUED, task_id=task_id)


def following_refresh_enqueue(*, user_pk: int) -> str:
    """Queues the reading of one user's followed artists (asked from their page); the task's
    id."""
    return str(async_task(FOLLOWING_TASK, user_pk, task_name=f"following-refresh-{user_pk}"))


def playlist_refresh_enqueue(*, user_pk: int) -> str:
    """Queues an update of one user's playlist ("Update now" on their page: a request never
    calls Spotify itself); the task's id."""
    return str(async_task(PLAYLIST_TASK, user_pk, task_name=f"playlist-refresh-{user_pk}"))

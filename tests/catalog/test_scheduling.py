"""The recurring schedule (idempotent, catch-up off) and closing runs left by a dead worker."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from catalog.models import SyncRun
from catalog.scheduling import (
    NOTIFICATION_DIGESTS_SCHEDULE_NAME,
    SYNC_TASK,
    RefreshOutcome,
    RefreshState,
    ScheduleChange,
    notification_digests_schedule_ensure,
    sync_refresh_request,
    sync_schedule_ensure,
)
from catalog.selectors import SYNC_SCHEDULE_NAME
from catalog.services import INTERRUPTED_ERROR, sync_runs_fail_interrupted
from tests.catalog.sync_support import sync_lock_held_elsewhere
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db


def test_no_schedule_exists_until_the_command_runs():
    # Apps are loaded and migrations ran: nothing may create it on start-up.
    assert not Schedule.objects.exists()


def test_the_command_creates_the_schedule_once_however_often_it_runs(settings, capsys):
    settings.SYNC_INTERVAL_MINUTES = 60
    call_command("ensure_sync_schedule")
    call_command("ensure_sync_schedule")
    schedule = Schedule.objects.get(name=SYNC_SCHEDULE_NAME)
    assert schedule.name == SYNC_SCHEDULE_NAME
    assert schedule.func == "catalog.tasks.sync_new_releases"
    assert schedule.schedule_type == Schedule.MINUTES
    assert schedule.minutes == 60
    assert schedule.repeats == -1
    output = capsys.readouterr().out
    assert "'sync-new-releases' created: every 60 minutes" in output
    assert "'sync-new-releases' unchanged: every 60 minutes" in output


def test_a_new_schedule_is_due_at_once():
    schedule, change = sync_schedule_ensure(minutes=60)
    assert change == ScheduleChange.CREATED
    assert schedule.next_run <= timezone.now()


def test_a_changed_interval_updates_the_one_schedule(settings):
    settings.SYNC_INTERVAL_MINUTES = 60
    sync_schedule_ensure()
    Schedule.objects.update(next_run=timezone.now() + timedelta(minutes=55))
    settings.SYNC_INTERVAL_MINUTES = 15
    schedule, change = sync_schedule_ensure()
    assert change == ScheduleChange.UPDATED
    assert Schedule.objects.get().minutes == 15
    # A shorter interval brings the next run forward: no waiting 55 minutes for a 15 minute job.
    assert schedule.next_run <= timezone.now() + timedelta(minutes=15)


def test_a_longer_interval_keeps_the_sooner_next_run():
    sync_schedule_ensure(minutes=15)
    soon = timezone.now() + timedelta(minutes=10)
    Schedule.objects.update(next_run=soon)
    schedule, change = sync_schedule_ensure(minutes=120)
    assert change == ScheduleChange.UPDATED
    assert schedule.minutes == 120
    assert schedule.next_run == soon


def test_edits_to_the_schedule_are_put_back():
    sync_schedule_ensure(minutes=60)
    Schedule.objects.update(func="somewhere.else", repeats=3, schedule_type=Schedule.DAILY)
    sync_schedule_ensure(minutes=60)
    schedule = Schedule.objects.get()
    assert (schedule.func, schedule.repeats, schedule.schedule_type) == (
        "catalog.tasks.sync_new_releases",
        -1,
        Schedule.MINUTES,
    )


def test_duplicates_are_removed_keeping_the_oldest():
    first = Schedule.objects.create(name=SYNC_SCHEDULE_NAME, func="catalog.tasks.sync_new_releases")
    Schedule.objects.create(name=SYNC_SCHEDULE_NAME, func="catalog.tasks.sync_new_releases")
    schedule, _ = sync_schedule_ensure(minutes=60)
    assert list(Schedule.objects.values_list("pk", flat=True)) == [first.pk] == [schedule.pk]


def test_other_schedules_are_left_alone():
    other = Schedule.objects.create(
        name="something-else", func="catalog.tasks.housekeeping", minutes=5
    )
    sync_schedule_ensure(minutes=60)
    assert Schedule.objects.filter(pk=other.pk, minutes=5).exists()
    assert Schedule.objects.count() == 2


@pytest.mark.parametrize("minutes", [0, -5, 40000])
def test_an_impossible_interval_is_refused(minutes):
    with pytest.raises(CommandError, match="1 to 32767 minutes"):
        call_command("ensure_sync_schedule", minutes=minutes)
    assert not Schedule.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_still_make_one_schedule():
    """Web and worker containers may both run the command on deploy."""
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def ensure() -> None:
        try:
            start.wait()
            sync_schedule_ensure(minutes=30)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=ensure) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Schedule.objects.filter(name=SYNC_SCHEDULE_NAME).count() == 1


# --- runs a dead worker left `running` --------------------------------------------------------


def test_running_rows_without_the_lock_are_closed_as_interrupted():
    stale = SyncRunFactory.create(status=SyncRun.Status.RUNNING)
    done = SyncRunFactory.create(
        trigger=SyncRun.Trigger.CLI, status=SyncRun.Status.SUCCEEDED, finished_at=timezone.now()
    )
    assert sync_runs_fail_interrupted() == 1
    stale.refresh_from_db()
    done.refresh_from_db()
    assert stale.status == SyncRun.Status.FAILED
    assert stale.error == INTERRUPTED_ERROR
    assert stale.finished_at is not None
    assert done.status == SyncRun.Status.SUCCEEDED


def test_the_run_holding_the_lock_is_left_running():
    older = SyncRunFactory.create(status=SyncRun.Status.RUNNING)
    current = SyncRunFactory.create(trigger=SyncRun.Trigger.MANUAL, status=SyncRun.Status.RUNNING)
    with sync_lock_held_elsewhere():
        assert sync_runs_fail_interrupted() == 1
    older.refresh_from_db()
    current.refresh_from_db()
    assert older.status == SyncRun.Status.FAILED
    assert current.status == SyncRun.Status.RUNNING


# --- "Refresh now" ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_presses_queue_one_sync():
    start = threading.Barrier(4)
    outcomes: list[RefreshOutcome] = []
    errors: list[BaseException] = []

    def press() -> None:
        try:
            start.wait()
            outcomes.append(sync_refresh_request())
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=press) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    (queued,) = OrmQ.objects.all()
    assert queued.func() == SYNC_TASK
    assert sorted(outcome.state for outcome in outcomes) == sorted(
        [RefreshState.QUEUED, *[RefreshState.ALREADY_QUEUED] * 3]
    )
    assert {outcome.task_id for outcome in outcomes} == {queued.task_id()}


def test_the_command_ensures_the_daily_digest_schedule_at_notify_digest_time(settings, capsys):
    settings.TIME_ZONE = "America/New_York"
    settings.NOTIFY_DIGEST_TIME = "07:30"
    with time_machine.travel(datetime(2026, 12, 1, 15, 0, tzinfo=UTC), tick=False):
        call_command("ensure_sync_schedule")
        call_command("ensure_sync_schedule")
        [schedule] = Schedule.objects.filter(name=NOTIFICATION_DIGESTS_SCHEDULE_NAME)
        assert schedule.func == "catalog.notifications.tasks.notification_digests"
        assert schedule.schedule_type == Schedule.DAILY
        # 10:00 in New York has passed 07:30: tomorrow's.
        assert schedule.next_run == datetime(2026, 12, 2, 12, 30, tzinfo=UTC)

        settings.NOTIFY_DIGEST_TIME = "18:00"
        _, change = notification_digests_schedule_ensure()

    schedule.refresh_from_db()
    assert change == ScheduleChange.UPDATED
    assert schedule.next_run == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # today, 18:00 there
    output = capsys.readouterr().out
    assert "Schedule 'notification-digests' created: daily" in output
    assert "Schedule 'notification-digests' unchanged: daily" in output

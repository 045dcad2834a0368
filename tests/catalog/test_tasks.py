"""The worker's task: every trigger recorded, single-flight, and the schedule driving it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule
from django_q.scheduler import scheduler
from django_q.tasks import async_task, fetch

from catalog.models import Snapshot, SyncRun
from catalog.scheduling import sync_schedule_ensure
from catalog.tasks import sync_new_releases
from tests.catalog.sync_support import sync_lock_held_elsewhere
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo_tasks_inline(demo_mode, monkeypatch):
    """The real sync against the bundled fake Spotify, and django-q2 running tasks inline."""
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)


def test_the_task_syncs_and_records_the_schedule_trigger_by_default():
    run = SyncRun.objects.get(pk=sync_new_releases())
    assert run.trigger == SyncRun.Trigger.SCHEDULE
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.release_count > 0
    assert Snapshot.objects.get().source == Snapshot.Source.DEMO


@pytest.mark.parametrize("trigger", ["manual", "cli"])
def test_the_task_records_the_trigger_it_is_given(trigger):
    task_id = async_task("catalog.tasks.sync_new_releases", trigger=trigger)
    task = fetch(task_id)
    assert task.success, task.result
    assert SyncRun.objects.get(pk=task.result).trigger == trigger


def test_while_another_sync_holds_the_lock_the_task_records_a_skip():
    with sync_lock_held_elsewhere():
        run = SyncRun.objects.get(pk=sync_new_releases(trigger="manual"))
    assert run.status == SyncRun.Status.SKIPPED
    assert run.trigger == SyncRun.Trigger.MANUAL
    assert not Snapshot.objects.exists()


def test_the_task_first_closes_a_run_a_dead_worker_left_running():
    stale = SyncRunFactory.create(status=SyncRun.Status.RUNNING)
    run = SyncRun.objects.get(pk=sync_new_releases())
    stale.refresh_from_db()
    assert stale.status == SyncRun.Status.FAILED
    assert run.status == SyncRun.Status.SUCCEEDED


def test_the_scheduler_runs_a_due_schedule_once_without_catching_up():
    sync_schedule_ensure(minutes=60)
    # Down for three intervals: catch-up off means one run now, not three.
    Schedule.objects.update(next_run=timezone.now() - timedelta(hours=3, minutes=1))
    scheduler()
    (run,) = SyncRun.objects.all()
    assert run.trigger == SyncRun.Trigger.SCHEDULE
    assert run.status == SyncRun.Status.SUCCEEDED
    next_run = Schedule.objects.get().next_run
    assert timezone.now() < next_run <= timezone.now() + timedelta(minutes=60)
    scheduler()  # not due again yet
    assert SyncRun.objects.count() == 1

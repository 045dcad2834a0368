"""The sync card's overview: every run it shows and the schedule, in one statement."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule

from catalog.models import SyncRun
from catalog.scheduling import SYNC_TASK
from catalog.selectors import SYNC_SCHEDULE_NAME, sync_overview
from tests.catalog.sync_support import sync_lock_held_elsewhere
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db


def _overview_in_one_statement():
    with CaptureQueriesContext(connection) as queries:
        overview = sync_overview()
    assert len(queries) == 1
    return overview


def test_before_any_run_or_schedule():
    overview = _overview_in_one_statement()
    assert (overview.in_progress, overview.last, overview.last_success) == (None, None, None)
    assert (overview.scheduled, overview.next_run_at) == (False, None)


def test_the_schedule_is_read_even_when_no_run_matches():
    due = timezone.now() + timedelta(minutes=5)
    Schedule.objects.create(name=SYNC_SCHEDULE_NAME, func=SYNC_TASK, next_run=due)
    Schedule.objects.create(
        name=SYNC_SCHEDULE_NAME, func=SYNC_TASK, next_run=due + timedelta(hours=1)
    )
    Schedule.objects.create(name="another", func=SYNC_TASK, next_run=due - timedelta(hours=1))
    overview = _overview_in_one_statement()
    assert overview.last is None
    # The first of its name, as before.
    assert (overview.scheduled, overview.next_run_at) == (True, due)


def test_a_schedule_without_a_next_run_is_still_scheduled():
    Schedule.objects.create(name=SYNC_SCHEDULE_NAME, func=SYNC_TASK, next_run=None)
    overview = _overview_in_one_statement()
    assert (overview.scheduled, overview.next_run_at) == (True, None)


def test_the_last_ended_run_and_the_success_whose_data_is_shown_when_it_failed():
    now = timezone.now()
    success = SyncRunFactory.create(started_at=now - timedelta(hours=3), warnings=["slow"])
    SyncRunFactory.create(started_at=now - timedelta(hours=4))
    failed = SyncRunFactory.create(
        status=SyncRun.Status.FAILED, started_at=now - timedelta(hours=2), error="boom"
    )
    SyncRunFactory.create(status=SyncRun.Status.SKIPPED, started_at=now - timedelta(hours=1))
    overview = _overview_in_one_statement()
    assert overview.last == failed
    assert overview.last is not None
    assert (overview.last.status, overview.last.error) == (SyncRun.Status.FAILED, "boom")
    assert overview.last_success == success
    assert overview.last_success is not None
    # Columns are converted as the ORM converts them.
    assert overview.last_success.warnings == ["slow"]
    assert overview.last_success.started_at == now - timedelta(hours=3)


def test_no_last_success_when_the_last_run_succeeded():
    now = timezone.now()
    SyncRunFactory.create(status=SyncRun.Status.FAILED, started_at=now - timedelta(hours=2))
    latest = SyncRunFactory.create(started_at=now - timedelta(hours=1))
    overview = _overview_in_one_statement()
    assert (overview.last, overview.last_success) == (latest, None)


def test_a_tie_on_the_start_goes_to_the_newer_row():
    started = timezone.now()
    SyncRunFactory.create(started_at=started)
    newer = SyncRunFactory.create(status=SyncRun.Status.FAILED, started_at=started)
    assert _overview_in_one_statement().last == newer


def test_a_running_row_is_in_progress_only_while_a_sync_holds_the_lock():
    ended = SyncRunFactory.create(started_at=timezone.now() - timedelta(hours=1))
    SyncRunFactory.create(status=SyncRun.Status.RUNNING, started_at=timezone.now())
    running = SyncRunFactory.create(status=SyncRun.Status.RUNNING, started_at=timezone.now())
    overview = sync_overview()
    assert (overview.in_progress, overview.last) == (None, ended)
    with sync_lock_held_elsewhere():
        assert sync_overview().in_progress == running

"""Only the project's own task functions run in the django-q2 worker: a schedule naming anything
else is refused when saved, and a task naming anything else is refused before the worker runs it,
even when its schedule was written behind the ORM's back."""

import os
from datetime import timedelta
from importlib import import_module
from multiprocessing import Queue, Value
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Failure, OrmQ, Schedule, Success
from django_q.monitor import monitor
from django_q.scheduler import scheduler
from django_q.signing import SignedPackage
from django_q.tasks import async_task
from django_q.worker import worker

from catalog.scheduling import SYNC_TASK
from catalog.task_guard import REFUSED_TASK, TaskRefusedError
from catalog.tasks import TASK_ALLOWLIST

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster_in_this_transaction(monkeypatch):
    """The scheduler, worker and monitor as a cluster runs them (tasks queued, not inline), but
    keeping the test's database connection: they close it between tasks."""
    for module in ("scheduler", "worker", "monitor"):
        monkeypatch.setattr(f"django_q.{module}.close_old_django_connections", lambda: None)


def run_queued_tasks() -> None:
    """What a running cluster does with the queue: the worker runs each task, the monitor
    records how it ended."""
    broker = get_broker()
    tasks: Queue[object] = Queue()
    results: Queue[object] = Queue()
    for _ in range(OrmQ.objects.count()):
        for ack_id, payload in broker.dequeue() or []:
            task = SignedPackage.loads(payload)
            task["ack_id"] = ack_id
            tasks.put(task)
    tasks.put("STOP")
    worker(tasks, results, Value("f", -1))
    results.put("STOP")
    monitor(results, broker)


def queued_functions() -> list[str]:
    return sorted(SignedPackage.loads(row.payload)["func"] for row in OrmQ.objects.all())


def test_the_sync_task_is_allowed():
    assert SYNC_TASK in TASK_ALLOWLIST


@pytest.mark.parametrize("path", sorted(TASK_ALLOWLIST))
def test_every_allowed_task_is_a_function_of_this_project(path):
    module, _, name = path.rpartition(".")
    assert module.startswith("catalog.")
    assert callable(getattr(import_module(module), name))


@pytest.mark.parametrize(
    "fields",
    [
        {"func": "os.system", "args": "'id'"},
        {"func": "subprocess.run"},
        {"func": SYNC_TASK, "hook": "os.system"},
    ],
)
def test_the_orm_refuses_to_save_a_schedule_that_names_another_function(fields):
    with pytest.raises(ValidationError):
        Schedule.objects.create(name="evil", **fields)

    assert not Schedule.objects.filter(name="evil").exists()


def test_the_orm_refuses_to_change_a_schedule_to_another_function():
    schedule = Schedule.objects.create(name="sync", func=SYNC_TASK)
    schedule.func = "os.system"

    with pytest.raises(ValidationError):
        schedule.save()

    assert Schedule.objects.get(pk=schedule.pk).func == SYNC_TASK


def test_a_schedule_inserted_behind_the_orms_back_is_not_run_by_the_worker(
    tmp_path: Path, caplog, cluster_in_this_transaction
):
    marker = tmp_path / "pwned"
    due = timezone.now() - timedelta(minutes=1)
    # bulk_create sends no pre_save: as a row written with SQL.
    Schedule.objects.bulk_create(
        [
            Schedule(
                name="evil",
                func="os.system",
                args=repr(f"touch {marker}"),
                schedule_type=Schedule.MINUTES,
                minutes=1,
                next_run=due,
            ),
            Schedule(name="sync", func=SYNC_TASK, schedule_type=Schedule.HOURLY, next_run=due),
        ]
    )

    scheduler()

    # The scheduler went on with the other schedule; the refused one is queued as a stand-in
    # without its arguments.
    assert queued_functions() == sorted([REFUSED_TASK, SYNC_TASK])
    assert "Refused to queue the task" in caplog.text
    # The sync is not this test's business: only the refused task goes on to the worker.
    OrmQ.objects.exclude(
        pk__in=[
            row.pk
            for row in OrmQ.objects.all()
            if SignedPackage.loads(row.payload)["func"] == REFUSED_TASK
        ]
    ).delete()

    run_queued_tasks()

    assert not marker.exists()
    failure = Failure.objects.get()
    assert failure.func == REFUSED_TASK
    assert "Refused to run 'os.system'" in failure.result
    assert failure.args in ((), None)
    assert not Success.objects.exists()
    # Its next run was still planned: a bad row does not stop the scheduler.
    assert Schedule.objects.get(name="evil").next_run > timezone.now()


def test_a_task_queued_with_another_function_is_refused_before_it_runs(tmp_path: Path, monkeypatch):
    monkeypatch.setattr("django_q.conf.Conf.SYNC", True)
    marker = tmp_path / "pwned"

    with pytest.raises(TaskRefusedError):
        async_task("os.system", f"touch {marker}")
    with pytest.raises(TaskRefusedError):
        async_task(os.system, f"touch {marker}")
    with pytest.raises(TaskRefusedError):
        async_task(SYNC_TASK, hook="os.system")

    assert not marker.exists()

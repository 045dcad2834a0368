"""The queue read the same way whichever broker holds it: PostgreSQL or Redis (REDIS_URL)."""

import threading
from typing import Any

import pytest
from django.db import connection
from django.db.models.signals import post_save
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from catalog.models import SyncRun
from catalog.scheduling import SYNC_TASK, RefreshOutcome, RefreshState, sync_refresh_request
from catalog.selectors import sync_task_queued, task_queue_length
from catalog.services import sync_run_execute
from catalog.task_queue import sync_handoff_clear
from tests.catalog.sync_support import sync_lock_held_elsewhere

pytestmark = pytest.mark.django_db(transaction=True)


def press_concurrently(times: int) -> list[RefreshOutcome]:
    start = threading.Barrier(times)
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

    threads = [threading.Thread(target=press) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return outcomes


def redis_queue() -> list[dict[str, Any]]:
    broker = get_broker()
    return [
        SignedPackage.loads(payload.decode())
        for payload in broker.connection.lrange(broker.list_key, 0, -1)
    ]


def test_five_presses_queue_one_sync_with_the_redis_broker(redis_broker):
    outcomes = press_concurrently(5)

    (queued,) = redis_queue()
    assert queued["func"] == SYNC_TASK
    assert sorted(outcome.state for outcome in outcomes) == sorted(
        [RefreshState.QUEUED, *[RefreshState.ALREADY_QUEUED] * 4]
    )
    assert {outcome.task_id for outcome in outcomes} == {queued["id"]}
    assert task_queue_length() == 1


def test_a_sync_taken_from_redis_but_not_yet_running_still_counts_as_queued(redis_broker):
    """Redis hands the task over before the worker holds the sync lock: a press in between
    must not queue a second sync."""
    first = sync_refresh_request()
    get_broker().dequeue()  # a worker took it
    assert redis_queue() == []

    assert sync_refresh_request() == RefreshOutcome(
        state=RefreshState.ALREADY_QUEUED, task_id=first.task_id
    )
    with sync_lock_held_elsewhere():
        sync_handoff_clear()  # the sync holds the lock: from now on it shows as running
        assert sync_refresh_request().state == RefreshState.ALREADY_RUNNING
    # It finished: the next press queues the next sync.
    assert sync_refresh_request().state == RefreshState.QUEUED
    assert len(redis_queue()) == 1


def test_a_press_while_the_worker_takes_the_lock_never_queues_a_second_sync(
    redis_broker, monkeypatch
):
    """The worker takes the sync lock, then clears the queued mark. A press reading its two
    checks while that happens must see the sync as queued or as running, whichever check comes
    first: this moves the worker on right after the first check the press makes."""
    first = sync_refresh_request()
    get_broker().dequeue()  # a worker took it and is about to take the lock
    lock_held = False

    def worker_takes_the_lock() -> None:
        nonlocal lock_held
        if not lock_held:
            lock_held = True
            sync_handoff_clear()

    def task_queued(*, func: str) -> str | None:
        queued = sync_task_queued(func=func)
        worker_takes_the_lock()
        return queued

    def held() -> bool:
        was_held = lock_held
        worker_takes_the_lock()
        return was_held

    monkeypatch.setattr("catalog.scheduling.sync_task_queued", task_queued)
    monkeypatch.setattr("catalog.scheduling.sync_lock_held_by_another_session", held)

    assert sync_refresh_request() == RefreshOutcome(
        state=RefreshState.ALREADY_QUEUED, task_id=first.task_id
    )
    assert redis_queue() == []


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing the worker would do next happens."""


def test_a_worker_killed_once_its_run_shows_running_leaves_no_queued_mark(redis_broker):
    """Killed right after its run shows `running` (as the scale-out test does), the worker must
    not leave "queued" behind: the next press queues the next sync instead of doing nothing until
    the mark expires."""
    sync_refresh_request()
    get_broker().dequeue()  # a worker took it

    def killed(**kwargs: Any) -> None:
        raise WorkerKilled

    post_save.connect(killed, sender=SyncRun)
    try:
        with pytest.raises(WorkerKilled):
            sync_run_execute(trigger=SyncRun.Trigger.MANUAL)
    finally:
        post_save.disconnect(killed, sender=SyncRun)
    assert SyncRun.objects.get().status == SyncRun.Status.RUNNING

    assert sync_refresh_request().state == RefreshState.QUEUED
    assert len(redis_queue()) == 1


def test_the_orm_broker_keeps_the_queue_in_the_database():
    press_concurrently(3)

    assert task_queue_length() == 1

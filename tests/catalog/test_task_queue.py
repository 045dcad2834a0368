"""The queue read the same way whichever broker holds it: PostgreSQL or Redis (REDIS_URL)."""

import threading
from typing import Any

import pytest
from django.db import connection
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from catalog.scheduling import SYNC_TASK, RefreshOutcome, RefreshState, sync_refresh_request
from catalog.selectors import task_queue_length
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


def test_the_orm_broker_keeps_the_queue_in_the_database():
    press_concurrently(3)

    assert task_queue_length() == 1

"""What waits in django-q2's queue, whichever broker holds it: PostgreSQL (the ORM broker) or
Redis (with REDIS_URL)."""

from typing import Any

from django.core.cache import cache
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

# Redis hands a task over (BLPOP) before the worker takes the sync lock: in between, the task is
# neither in the queue nor visibly running. "Refresh now" marks its task until a sync holds the
# lock; the mark expires by itself should the worker die in between.
SYNC_HANDOFF_KEY = "catalog:sync-queued"
SYNC_HANDOFF_SECONDS = 30


def task_queue_length() -> int:
    """Tasks waiting for a worker."""
    return int(get_broker().queue_size() or 0)


def queued_task_id(*, func: str) -> str | None:
    """The id of a task for `func` waiting in the queue (with the ORM broker, also one taken by a
    worker that has not finished it), if any. The queue holds a few tasks; their payloads are
    signed, so each is decoded to read its function."""
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


def sync_handoff_mark(*, task_id: str) -> None:
    """Called as "Refresh now" enqueues its sync (a no-op where the queue is in the database)."""
    if not Conf.ORM:
        cache.set(SYNC_HANDOFF_KEY, task_id, timeout=SYNC_HANDOFF_SECONDS)


def sync_handoff_clear() -> None:
    """Called by a sync once it holds the lock, which says "running" from then on."""
    if not Conf.ORM:
        cache.delete(SYNC_HANDOFF_KEY)


def _task(payload: bytes | str) -> dict[str, Any]:
    try:
        task: dict[str, Any] = SignedPackage.loads(
            payload.decode() if isinstance(payload, bytes) else payload
        )
    except Exception:  # a payload signed with another key, or not ours: not our task
        return {}
    return task

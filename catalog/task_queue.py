"""Marks "Refresh now"'s sync as queued while Redis hands it to a worker (the queue itself is
read by catalog.selectors.sync_task_queued, whichever broker holds it)."""

from django.core.cache import cache
from django_q.conf import Conf

# Redis hands a task over (BLPOP) before the worker takes the sync lock: in between, the task is
# neither in the queue nor visibly running. "Refresh now" marks its task until a sync holds the
# lock; the mark expires by itself should the worker die in between.
SYNC_HANDOFF_KEY = "catalog:sync-queued"
SYNC_HANDOFF_SECONDS = 30


def sync_handoff_mark(*, task_id: str) -> None:
    """Called as "Refresh now" enqueues its sync (a no-op where the queue is in the database)."""
    if not Conf.ORM:
        cache.set(SYNC_HANDOFF_KEY, task_id, timeout=SYNC_HANDOFF_SECONDS)


def sync_handoff_clear() -> None:
    """Called by a sync once it holds the lock, which says "running" from then on."""
    if not Conf.ORM:
        cache.delete(SYNC_HANDOFF_KEY)

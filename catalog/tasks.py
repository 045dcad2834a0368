"""Functions the django-q2 worker runs; the schedule and "Refresh now" name them by path."""

from django.utils import timezone

from catalog.following import following_sync
from catalog.housekeeping import housekeeping_run
from catalog.models import SyncRun
from catalog.notifications.services import ATTEMPT_TASK as NOTIFICATION_ATTEMPT_TASK
from catalog.playlists import playlists_update
from catalog.scheduling import (
    FOLLOWING_TASK,
    HOUSEKEEPING_TASK,
    NOTIFICATION_DIGESTS_TASK,
    PLAYLIST_TASK,
    SYNC_TASK,
)
from catalog.services import sync_run_execute, sync_runs_fail_interrupted
from catalog.sync_lock import sync_lock
from catalog.webhooks.services import ATTEMPT_TASK as WEBHOOK_ATTEMPT_TASK
from spotify.client import site_client


def sync_new_releases(trigger: str = SyncRun.Trigger.SCHEDULE) -> int:
    """Runs one sync and returns its SyncRun's id (kept small: django-q2 stores the result)."""
    sync_runs_fail_interrupted()
    return sync_run_execute(trigger=SyncRun.Trigger(trigger)).pk


def housekeeping() -> str:
    """The daily prune; returns what it removed, as one line (django-q2 stores the result)."""
    return str(housekeeping_run(now=timezone.now()))


def following_refresh(user_pk: int) -> str:
    """Rereads one user's followed artists and checks those never checked, within the budget;
    returns what it did, as one line. While a sync runs, the sync does it instead."""
    with sync_lock() as acquired:
        if not acquired:
            return "A sync is running: it reads the followed artists"
        result = following_sync(client=site_client(), user_pks=[user_pk])
    return (
        f"{result.users_refreshed} list(s) read, {result.artists_checked} artists checked, "
        f"{result.releases_found} releases found, {result.calls} calls"
    )


def playlist_refresh(user_pk: int) -> str:
    """Updates one user's playlist now (asked from their page); returns its warning, if any."""
    return "; ".join(playlists_update(user_pks=[user_pk])) or "up to date"


# The only functions the django-q2 worker may run: every schedule and queued task must name one
# (catalog/task_guard.py checks it when a schedule is saved and when a task is queued). Add a
# task here when you write one.
TASK_ALLOWLIST = frozenset(
    {
        SYNC_TASK,
        HOUSEKEEPING_TASK,
        WEBHOOK_ATTEMPT_TASK,
        NOTIFICATION_ATTEMPT_TASK,
        NOTIFICATION_DIGESTS_TASK,
        FOLLOWING_TASK,
        PLAYLIST_TASK,
    }
)

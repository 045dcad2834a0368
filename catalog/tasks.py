"""Functions the django-q2 worker runs; the schedule and "Refresh now" name them by path."""

from catalog.models import SyncRun
from catalog.services import sync_run_execute, sync_runs_fail_interrupted


def sync_new_releases(trigger: str = SyncRun.Trigger.SCHEDULE) -> int:
    """Runs one sync and returns its SyncRun's id (kept small: django-q2 stores the result)."""
    sync_runs_fail_interrupted()
    return sync_run_execute(trigger=SyncRun.Trigger(trigger)).pk


# The only functions the django-q2 worker may run: every schedule and queued task must name one
# (catalog/task_guard.py checks it when a schedule is saved and when a task is queued). Add a
# task here when you write one.
TASK_ALLOWLIST = frozenset(
    {
        "catalog.tasks.sync_new_releases",
        "catalog.tasks.housekeeping",
        "catalog.webhooks.webhook_delivery_send",
    }
)

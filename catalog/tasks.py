"""Functions the django-q2 worker runs; the schedule and "Refresh now" name them by path."""

from catalog.models import SyncRun
from catalog.scheduling import sync_runs_interrupted_close
from catalog.services import sync_run_execute


def sync_new_releases(trigger: str = SyncRun.Trigger.SCHEDULE) -> int:
    """Runs one sync and returns its SyncRun's id (kept small: django-q2 stores the result)."""
    sync_runs_interrupted_close()
    return sync_run_execute(trigger=SyncRun.Trigger(trigger)).pk

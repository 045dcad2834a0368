"""The Apprise URL of the loopback receiver, and a stand-in for the django-q2 worker."""

import ast

from django.utils.module_loading import import_string
from django_q.models import OrmQ, Schedule

from catalog.notifications.services import ATTEMPT_TASK
from catalog.scheduling import NOTIFICATION_DIGESTS_TASK as DIGEST_TASK
from tests.catalog.webhooks.support import Receiver


def apprise_url(receiver: Receiver) -> str:
    return f"json://127.0.0.1:{receiver.port}/hook"


def messages(receiver: Receiver) -> list[dict[str, str]]:
    return [received.payload for received in receiver.requests]


def worker_run() -> int:
    """Plays the worker and its scheduler until nothing is left: queued tasks first, then the
    one-off retry schedules (whatever their next_run: the backoff is not waited out)."""
    ran = 0
    while True:
        queued = OrmQ.objects.order_by("pk").first()
        if queued is not None:
            task = queued.task
            queued.delete()
            func, args = task["func"], task["args"]
        else:
            scheduled = Schedule.objects.filter(schedule_type=Schedule.ONCE).order_by("pk").first()
            if scheduled is None:
                return ran
            scheduled.delete()
            func, args = scheduled.func, ast.literal_eval(scheduled.args or "()")
        assert func in (ATTEMPT_TASK, DIGEST_TASK)
        import_string(func)(*args)
        ran += 1

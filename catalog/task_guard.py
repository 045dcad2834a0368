"""Only the project's own task functions run in the django-q2 worker.

A schedule or a queued task names any importable function by its dotted path, and the worker
runs it with the worker's rights: `os.system` included. So a schedule must name a function of
TASK_ALLOWLIST when it is saved (admin form and every ORM save), and every task is checked again
when it is queued, which is how the scheduler hands a schedule to the worker: a row written
behind the ORM's back is caught there. A refused task is queued as `task_refused`, so the worker
records it as a failure instead of running it.

(django-q2's `pre_execute` signal comes too late to refuse: the worker has already resolved the
function and calls it whatever a receiver does, and an exception there kills the worker process
while the broker delivers the task again. `pre_enqueue` runs before the task is signed, so what
it writes is what the worker runs.)
"""

import logging
from collections.abc import Callable
from typing import Any, NoReturn

from django.core.exceptions import ValidationError
from django.db.models.signals import pre_save
from django.dispatch import receiver
from django_q.models import Schedule
from django_q.signals import pre_enqueue

from catalog.tasks import TASK_ALLOWLIST

logger = logging.getLogger(__name__)

REFUSED_TASK = "catalog.task_guard.task_refused"


class TaskRefusedError(Exception):
    """A task named a function that is not one of the project's tasks."""


def task_path(func: str | Callable[..., Any]) -> str:
    """The dotted path of a task's function (django-q2 takes a path or the function itself)."""
    if callable(func):
        return f"{func.__module__}.{func.__qualname__}"
    return func


def task_allowed(func: str | Callable[..., Any] | None) -> bool:
    return func is not None and task_path(func) in TASK_ALLOWLIST


def task_functions_validate(*, func: str | None, hook: str | None) -> None:
    """Raises a ValidationError on `func` and `hook` (optional) unless both are our tasks."""
    allowed = ", ".join(sorted(TASK_ALLOWLIST))
    errors = {
        field: f"{value!r} is not one of this project's tasks. Allowed: {allowed}."
        for field, value in (("func", func), ("hook", hook))
        if (value or field == "func") and not task_allowed(value)
    }
    if errors:
        raise ValidationError(errors)


def task_refused(*, func: str, hook: str) -> NoReturn:
    """Stands in, in the worker, for a task that was refused when it was queued."""
    raise TaskRefusedError(
        f"Refused to run {func!r}{f' with the hook {hook!r}' if hook else ''}: "
        "not one of this project's tasks (catalog.tasks.TASK_ALLOWLIST)"
    )


@receiver(pre_save, sender=Schedule, dispatch_uid="catalog.task_guard.schedule_validate")
def schedule_validate(sender: type[Schedule], instance: Schedule, **kwargs: Any) -> None:
    # The scheduler saves each schedule it runs (next_run): a row already stored as it is was
    # written behind the ORM's back, and is refused when queued; refusing its save would stop
    # every other schedule with it.
    if (
        instance.pk is not None
        and Schedule.objects.filter(pk=instance.pk, func=instance.func, hook=instance.hook).exists()
    ):
        return
    task_functions_validate(func=instance.func, hook=instance.hook)


@receiver(pre_enqueue, dispatch_uid="catalog.task_guard.task_refuse_unless_allowed")
def task_refuse_unless_allowed(sender: object, task: dict[str, Any], **kwargs: Any) -> None:
    func, hook = task["func"], task.get("hook")
    if task_allowed(func) and (not hook or task_allowed(hook)):
        return
    names = {"func": task_path(func), "hook": task_path(hook) if hook else ""}
    logger.error(
        "Refused to queue the task %s (function %r, hook %r): not one of this project's tasks",
        task.get("name"),
        names["func"],
        names["hook"],
    )
    # Its arguments are dropped with it: they were meant for the refused function.
    task.update(func=REFUSED_TASK, args=(), kwargs=names)
    task.pop("hook", None)

"""Ids that every log line written while they are set carries (context variables, so each
thread and each task has its own): the request's id, and the sync run's."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
sync_run_id: ContextVar[int | None] = ContextVar("sync_run_id", default=None)


def log_context() -> dict[str, str | int]:
    """The ids set now, by the name log lines give them."""
    context: dict[str, str | int] = {}
    if (request := request_id.get()) is not None:
        context["request_id"] = request
    if (run := sync_run_id.get()) is not None:
        context["sync_run_id"] = run
    return context


@contextmanager
def sync_run_logged(*, run_id: int) -> Iterator[None]:
    """Every line logged inside, by any module (the Spotify client's included), names the run."""
    token = sync_run_id.set(run_id)
    try:
        yield
    finally:
        sync_run_id.reset(token)

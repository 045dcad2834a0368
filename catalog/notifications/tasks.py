"""Functions the django-q2 worker runs; queued tasks and schedules name them by path."""

from django.utils import timezone

from catalog.notifications.services import (
    notification_attempt_run,
    notification_deliveries_recover_stale,
    notification_digests_send,
)
from catalog.scheduling import notification_digests_schedule_ensure


def notification_delivery_attempt(delivery_pk: int, attempt: int) -> None:
    """One attempt of one delivery; first picks up deliveries a killed worker left pending."""
    notification_deliveries_recover_stale()
    notification_attempt_run(delivery_pk=delivery_pk, attempt=attempt)


def notification_digests() -> int:
    """The daily schedule at NOTIFY_DIGEST_TIME; returns how many digests were queued. Then puts
    the schedule's next run back on NOTIFY_DIGEST_TIME: django-q2 adds 24 hours, which a change
    of daylight saving time turns into 08:00 or 10:00."""
    queued = len(notification_digests_send(now=timezone.now()))
    notification_digests_schedule_ensure()
    return queued

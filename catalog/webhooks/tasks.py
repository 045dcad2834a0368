"""Functions the django-q2 worker runs; queued tasks and retry schedules name them by path."""

from catalog.webhooks.services import webhook_attempt_run, webhook_deliveries_recover_stale


def webhook_delivery_attempt(delivery_pk: int, attempt: int) -> None:
    """One attempt of one delivery; first picks up deliveries a killed worker left pending."""
    webhook_deliveries_recover_stale()
    webhook_attempt_run(delivery_pk=delivery_pk, attempt=attempt)

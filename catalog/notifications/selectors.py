"""Reads around notifications: the targets a page shows."""

from django.db.models import QuerySet

from catalog.models import NotificationTarget


def notification_targets_visible(*, user_pk: int | None) -> QuerySet[NotificationTarget]:
    """The user's own targets, then the site-wide ones (NOTIFY_URLS) still configured."""
    return NotificationTarget.objects.filter(owner_id=user_pk) | NotificationTarget.objects.filter(
        owner__isnull=True
    ).exclude(active=False, paused_at__isnull=True)


def notification_targets_paused_count() -> int:
    return NotificationTarget.objects.filter(active=False, paused_at__isnull=False).count()

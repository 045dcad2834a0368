"""Reads around notifications: the targets a page shows."""

from typing import Any

from django.db.models import QuerySet

from catalog.models import NotificationTarget


def notification_targets_visible(*, user: Any) -> QuerySet[NotificationTarget]:
    """The user's own targets and, for staff only, the site-wide ones still in NOTIFY_URLS (a
    removed one is switched off without being paused)."""
    own = NotificationTarget.objects.filter(owner_id=user.pk)
    if not user.is_staff:
        return own
    site_wide = NotificationTarget.objects.filter(owner__isnull=True).exclude(
        active=False, paused_at__isnull=True
    )
    return own | site_wide


def notification_targets_paused_count() -> int:
    return NotificationTarget.objects.filter(active=False, paused_at__isnull=False).count()

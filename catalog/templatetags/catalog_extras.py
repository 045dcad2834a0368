from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

from catalog.labels import release_date_label

register = template.Library()


@register.filter
def release_date(release: Any) -> str:
    """Spotify's date at the precision Spotify gives: "20 Nov 2026", "Nov 2026" or "2026" (from
    a model or the API's release shape alike)."""
    return release_date_label(
        release_date=release.release_date, precision=release.release_date_precision
    )


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now" under a minute (timesince would say "0 minutes"), else "5 minutes ago"."""
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment)} ago"


@register.filter
def from_now(moment: datetime | None) -> str:
    if moment is None:
        return ""
    if (moment - timezone.now()).total_seconds() < 60:
        return "due now"
    return f"in {timeuntil(moment)}"

from datetime import date, datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.timesince import timesince, timeuntil

from catalog.models import Release

register = template.Library()

_PRECISION_FORMATS: dict[str, str] = {
    Release.Precision.DAY: "j M Y",
    Release.Precision.MONTH: "M Y",
    Release.Precision.YEAR: "Y",
}


@register.filter
def release_date(release: Any) -> str:
    """Spotify's date at the precision Spotify gives: "20 Nov 2026", "Nov 2026" or "2026" (from
    a model or the API's release shape alike)."""
    precision = release.release_date_precision
    parts = release.release_date.split("-")
    try:
        day = date(*(int(part) for part in parts), *([1] * (3 - len(parts))))
    except (TypeError, ValueError):
        return str(release.release_date)
    return date_format(day, _PRECISION_FORMATS.get(precision, "j M Y"))


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

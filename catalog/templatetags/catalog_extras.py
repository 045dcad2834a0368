from datetime import datetime

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
def release_date(release: Release) -> str:
    """Spotify's date at the precision Spotify gives: "20 Nov 2026", "Nov 2026" or "2026"."""
    if release.release_date_sort is None:
        return release.release_date
    return date_format(
        release.release_date_sort, _PRECISION_FORMATS.get(release.release_date_precision, "j M Y")
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

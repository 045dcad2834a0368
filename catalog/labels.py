"""Presentation labels shared by templates (as filters) and the selectors that precompute them."""

from datetime import date

from django.utils.dateformat import format as date_format

from catalog.models import Release

_PRECISION_FORMATS: dict[str, str] = {
    Release.Precision.DAY: "j M Y",
    Release.Precision.MONTH: "M Y",
    Release.Precision.YEAR: "Y",
}


def release_date_label(*, release_date: str, precision: str) -> str:
    """Spotify's date at the precision Spotify gives: "20 Nov 2026", "Nov 2026" or "2026"."""
    parts = release_date.split("-")
    try:
        day = date(*(int(part) for part in parts), *([1] * (3 - len(parts))))
    except (TypeError, ValueError):
        return str(release_date)
    return date_format(day, _PRECISION_FORMATS.get(precision, "j M Y"))

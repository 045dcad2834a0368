"""Presentation labels shared by templates (as filters) and the selectors that precompute them."""

from datetime import date

from django.utils.dates import MONTHS_3

from catalog.models import Release


def release_date_label(*, release_date: str, precision: str) -> str:
    """Spotify's date at the precision Spotify gives: "20 Nov 2026", "Nov 2026" or "2026" (the
    date filter's "j M Y", "M Y" and "Y", written directly: the grid labels 24 dates a page)."""
    parts = release_date.split("-")
    try:
        day = date(*(int(part) for part in parts), *([1] * (3 - len(parts))))
    except (TypeError, ValueError):
        return str(release_date)
    year = f"{day.year:04d}"
    if precision == Release.Precision.YEAR:
        return year
    month = f"{MONTHS_3[day.month].title()} {year}"
    if precision == Release.Precision.MONTH:
        return month
    return f"{day.day} {month}"

"""What a message says: a title ("12 new releases") and one line per release, cut to the
service's limits with "and N more" linking to the dashboard, in Markdown where the service takes
it and plain text otherwise."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode

import apprise

from catalog.models import Release

# Between artists and release, as in "Artist \N{EN DASH} Release".
EN_DASH = "\u2013"
# What would break the link text: backslashes, emphasis, code and brackets.
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]])")


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    body_format: apprise.NotifyFormat


def notification_message(
    *,
    releases: Sequence[Release],
    plugin: apprise.plugins.NotifyBase,
    site_url: str,
    first_seen_after: datetime | None,
) -> Message:
    """`releases` with their credits prefetched, in the order they are listed."""
    markdown = plugin.resolve_format(apprise.NotifyFormat.MARKDOWN) in (
        apprise.NotifyFormat.MARKDOWN,
        apprise.NotifyFormat.HTML,  # Apprise renders our Markdown as HTML for these
    )
    count = len(releases)
    title = f"{count} new release{'' if count == 1 else 's'}"
    limit = int(plugin.body_maxlen)
    if int(plugin.title_maxlen) <= 0:
        limit -= len(title) + 2  # a service without titles gets the title in the body
    else:
        title = title[: int(plugin.title_maxlen)]
    query = {"first_seen_after": first_seen_after.isoformat()} if first_seen_after else {}
    more_url = f"{site_url}/?{urlencode(query)}" if query else f"{site_url}/"
    lines = [release_line(release, markdown=markdown) for release in releases]
    body = _fit(lines, limit=limit, more_url=more_url, markdown=markdown)
    return Message(
        title=title,
        body=body,
        body_format=apprise.NotifyFormat.MARKDOWN if markdown else apprise.NotifyFormat.TEXT,
    )


def release_line(release: Release, *, markdown: bool) -> str:
    """ "Artist, en dash, Release (single, 28 Nov)" and its Spotify link."""
    artists = ", ".join(credit.artist.name for credit in release.credits.all())
    name = f"{artists} {EN_DASH} {release.name}" if artists else release.name
    details = ", ".join(part for part in (release.album_type, _release_day(release)) if part)
    suffix = f" ({details})" if details else ""
    if markdown:
        text = MARKDOWN_SPECIAL.sub(r"\\\1", name)
        linked = f"[{text}]({release.spotify_url})" if release.spotify_url else text
        return f"- {linked}{suffix}"
    return f"{name}{suffix}" + (f" {release.spotify_url}" if release.spotify_url else "")


def _release_day(release: Release) -> str:
    day: date | None = release.release_date_sort
    if day is None:
        return ""
    if release.release_date_precision == Release.Precision.YEAR:
        return str(day.year)
    if release.release_date_precision == Release.Precision.MONTH:
        return day.strftime("%b %Y")
    return f"{day.day} {day:%b}"


def _more(count: int, *, more_url: str, markdown: bool) -> str:
    if markdown:
        return f"…and [{count} more]({more_url})"
    return f"…and {count} more: {more_url}"


def _fit(lines: list[str], *, limit: int, more_url: str, markdown: bool) -> str:
    """As many whole lines as fit with, when some are left out, the "and N more" line."""
    if len("\n".join(lines)) <= limit:
        return "\n".join(lines)
    kept: list[str] = []
    for line in lines:
        candidate = [
            *kept,
            line,
            _more(len(lines) - len(kept) - 1, more_url=more_url, markdown=markdown),
        ]
        if len("\n".join(candidate)) > limit:
            break
        kept.append(line)
    body = "\n".join([*kept, _more(len(lines) - len(kept), more_url=more_url, markdown=markdown)])
    return body[:limit]

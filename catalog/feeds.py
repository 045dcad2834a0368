"""The Atom feed of releases we saw for the first time, for feed readers."""

import io
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.contrib.sites.shortcuts import get_current_site
from django.contrib.syndication.views import add_domain
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.utils.html import format_html
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from pydantic import BaseModel, ConfigDict, Field

from catalog.access_tokens import feed_token_user
from catalog.following_selectors import following_artist_spotify_ids
from catalog.parameters import AlbumType, Genre, SpotifyId, query_checked
from catalog.selectors import FeedFilters, ReleaseFilters, releases_first_seen

# Readers poll often; a long window of a busy market must not make every poll a large answer.
# A day brings about 100 new releases, so a reader polling at least daily misses nothing with the
# default; `limit` asks for more, up to the maximum.
FEED_DEFAULT_ENTRIES = 100
FEED_MAX_ENTRIES = 500


class FeedQuery(BaseModel):
    """The query string, checked: a wrong value is a 400 that says which and why."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    days: int = Field(14, ge=1, le=90)
    album_type: AlbumType | None = None
    genre: Genre | None = None
    artist: tuple[SpotifyId, ...] = Field((), max_length=50)
    exclude_various_artists: bool = False
    limit: int = Field(FEED_DEFAULT_ENTRIES, ge=1, le=FEED_MAX_ENTRIES)

    def filters(self) -> FeedFilters:
        return FeedFilters(
            releases=ReleaseFilters(
                album_type=self.album_type, exclude_various_artists=self.exclude_various_artists
            ),
            genre=self.genre,
            artist_ids=self.artist,
        )


class _BufferedAtom1Feed(feedgenerator.Atom1Feed):
    """Atom written as text into a buffer, then into the response at once: written straight into
    the response, each of the XML writer's many small writes costs an encoding and a copy."""

    def write(self, outfile: Any, encoding: str) -> None:
        buffer = io.StringIO()
        super().write(buffer, encoding)
        outfile.write(buffer.getvalue().encode(encoding))


def _feed_build(
    *,
    request: HttpRequest,
    entries: list[dict[str, Any]],
    title: str,
    subtitle: str,
    feed_guid: str,
) -> feedgenerator.Atom1Feed:
    """The feed, built directly with Django's Atom writer: django.contrib.syndication's `Feed`
    looks up a dozen attributes per entry by introspection, which cost more than the entries
    themselves."""
    domain = get_current_site(request).domain
    feed = _BufferedAtom1Feed(
        title=title,
        subtitle=subtitle,
        link=add_domain(domain, reverse("dashboard"), request.is_secure()),
        description=None,
        language=get_language(),
        feed_url=add_domain(domain, request.get_full_path(), request.is_secure()),
        author_name="Spotify New Releases",
        feed_guid=feed_guid,
    )
    for entry in entries:
        # `ReleaseSummaryOut`'s fields, as the API writes them (see `releases_first_seen`).
        release = entry["release"]
        artist_names = ", ".join(artist["name"] for artist in release["artists"])
        artist_names = artist_names or "Unknown artist"
        first_seen_at = datetime.fromisoformat(release["first_seen_at"])
        cover = release["image"]
        feed.add_item(
            title=f"{artist_names} \N{EN DASH} {release['name']}",
            link=release["spotify_url"] or f"https://open.spotify.com/album/{release['id']}",
            description=_entry_description(release, artist_names=artist_names),
            # Spotify's URI: the same release keeps the same id in every reader, whatever our host.
            unique_id=f"spotify:album:{release['id']}",
            # Spotify's covers are JPEGs; their size in bytes is unknown without fetching them.
            enclosures=[feedgenerator.Enclosure(cover, "0", "image/jpeg")] if cover else [],
            pubdate=first_seen_at,
            updateddate=first_seen_at,
            author_name=artist_names,
            categories=[release["album_type"], *entry["genres"]],
        )
    return feed


def _entry_description(release: dict[str, Any], *, artist_names: str) -> str:
    return str(
        format_html(
            '{}<p>{} by {}, released {}{}.</p><p><a href="{}">Listen on Spotify</a></p>',
            format_html(
                '<p><img src="{}" alt="Cover of {}"></p>', release["image"], release["name"]
            )
            if release["image"]
            else "",
            release["album_type"].capitalize(),
            artist_names,
            release["release_date"] or "on an unknown date",
            f", {release['total_tracks']} tracks" if release["total_tracks"] else "",
            release["spotify_url"],
        )
    )


def _invalid_feed_query(request: HttpRequest, problems: str) -> HttpResponse:
    return HttpResponseBadRequest(
        f"Invalid feed parameters: {problems}", content_type="text/plain; charset=utf-8"
    )


@require_GET
@query_checked(FeedQuery, invalid=_invalid_feed_query)
def release_feed(request: HttpRequest, query: FeedQuery) -> HttpResponse:
    # ETag, Last-Modified (the data version's, not the newest entry's), Cache-Control and the
    # cached bytes: catalog.caching, as for the API.
    feed = _feed_build(
        request=request,
        entries=_entries(query=query, filters=query.filters()),
        title="New releases on Spotify",
        subtitle="Releases this site saw for the first time, newest first.",
        feed_guid=f"tag:spotify-new-releases,2026:feed{request.get_full_path()}",
    )
    return _feed_response(feed)


@require_GET
@never_cache  # one user's, and its URL is a secret: no shared cache may keep it
@query_checked(FeedQuery, invalid=_invalid_feed_query)
def following_feed(request: HttpRequest, query: FeedQuery, token: str) -> HttpResponse:
    """A user's private feed: the public feed's filters, only the artists they follow."""
    user = feed_token_user(token=token)
    if user is None:
        # Unknown, revoked or another's: the same 404 whichever, so a URL reveals nothing.
        raise Http404("No such feed")
    artist_ids = tuple(sorted(following_artist_spotify_ids(user=user)))
    feed = _feed_build(
        request=request,
        # No followed artist, no entry: no artist filter would mean every release.
        entries=_entries(query=query, filters=replace(query.filters(), artist_ids=artist_ids))
        if artist_ids
        else [],
        title="New from artists I follow",
        subtitle="Releases of the artists you follow on Spotify, as this site found them.",
        # Not the URL: it holds the secret, and a reader may show the id.
        feed_guid="tag:spotify-new-releases,2026:following-feed",
    )
    return _feed_response(feed)


def _entries(*, query: FeedQuery, filters: FeedFilters) -> list[dict[str, Any]]:
    return releases_first_seen(
        since=timezone.now() - timedelta(days=query.days), filters=filters, limit=query.limit
    )


def _feed_response(feed: feedgenerator.Atom1Feed) -> HttpResponse:
    response = HttpResponse(content_type=feed.content_type)
    feed.write(response, "utf-8")
    return response

"""The Atom feed of releases we saw for the first time, for feed readers."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.utils.html import format_html
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import condition, require_GET
from pydantic import BaseModel, ConfigDict, Field

from catalog import feed_selectors
from catalog.access_tokens import feed_token_user
from catalog.caching import data_version, query_key
from catalog.following_selectors import following_artist_spotify_ids
from catalog.models import Release
from catalog.parameters import AlbumType, Genre, SpotifyId, query_checked, query_parse
from catalog.selectors import ReleaseFilters

# Readers poll often; a long window of a busy market must not make every poll a large answer.
FEED_MAX_ENTRIES = 500


class FeedQuery(BaseModel):
    """The query string, checked: a wrong value is a 400 that says which and why."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    days: int = Field(14, ge=1, le=90)
    album_type: AlbumType | None = None
    genre: Genre | None = None
    artist: tuple[SpotifyId, ...] = Field((), max_length=50)
    exclude_various_artists: bool = False

    def filters(self) -> feed_selectors.FeedFilters:
        return feed_selectors.FeedFilters(
            releases=ReleaseFilters(
                album_type=self.album_type, exclude_various_artists=self.exclude_various_artists
            ),
            genre=self.genre,
            artist_ids=self.artist,
        )


class FeedRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    query: FeedQuery
    full_path: str


class ReleaseFeed(Feed[Release, FeedRequest]):
    feed_type = feedgenerator.Atom1Feed
    title = "New releases on Spotify"
    subtitle = "Releases this site saw for the first time, newest first."
    author_name = "Spotify New Releases"

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> FeedRequest:
        return FeedRequest(query=query_parse(request, FeedQuery), full_path=request.get_full_path())

    def link(self) -> str:
        return reverse("dashboard")

    def feed_url(self, obj: FeedRequest) -> str:
        return obj.full_path

    def feed_guid(self, obj: FeedRequest) -> str:
        return f"tag:spotify-new-releases,2026:feed{obj.full_path}"

    def items(self, obj: FeedRequest) -> list[Release]:
        return feed_selectors.releases_first_seen(
            since=timezone.now() - timedelta(days=obj.query.days),
            filters=obj.query.filters(),
            limit=FEED_MAX_ENTRIES,
        )

    def item_title(self, item: Release) -> str:
        return f"{_artist_names(item)} \N{EN DASH} {item.name}"

    def item_description(self, item: Release) -> str:
        cover = item.image_url
        return str(
            format_html(
                '{}<p>{} by {}, released {}{}.</p><p><a href="{}">Listen on Spotify</a></p>',
                format_html('<p><img src="{}" alt="Cover of {}"></p>', cover, item.name)
                if cover
                else "",
                item.album_type.capitalize(),
                _artist_names(item),
                item.release_date or "on an unknown date",
                f", {item.total_tracks} tracks" if item.total_tracks else "",
                item.spotify_url,
            )
        )

    def item_link(self, item: Release) -> str:
        return item.spotify_url or f"https://open.spotify.com/album/{item.spotify_id}"

    def item_guid(self, item: Release) -> str:
        # Spotify's URI: the same release keeps the same id in every reader, whatever our host.
        return f"spotify:album:{item.spotify_id}"

    def item_pubdate(self, item: Release) -> Any:
        return item.first_seen_at

    def item_updateddate(self, item: Release) -> Any:
        return item.first_seen_at

    def item_author_name(self, item: Release) -> str:
        return _artist_names(item)

    def item_categories(self, item: Release) -> list[str]:
        genres = {genre for credit in item.credits.all() for genre in credit.artist.genres}
        return [item.album_type, *sorted(genres)]

    def item_enclosures(self, item: Release) -> list[feedgenerator.Enclosure]:
        cover = item.image_url
        if not cover:
            return []
        # Spotify's covers are JPEGs; their size in bytes is unknown without fetching them.
        return [feedgenerator.Enclosure(cover, "0", "image/jpeg")]


def _artist_names(release: Release) -> str:
    return ", ".join(credit.artist.name for credit in release.credits.all()) or "Unknown artist"


def _etag(request: HttpRequest) -> str:
    # The window slides even when no sync runs: the hour keeps a cached feed from going stale.
    version = data_version()
    key = query_key(path=request.path, query=query_parse(request, FeedQuery), version=version)
    return f"{key}-{timezone.now():%Y%m%d%H}"


def _last_modified(request: HttpRequest) -> Any:
    return data_version().changed_at


def _invalid_feed_query(request: HttpRequest, problems: str) -> HttpResponse:
    return HttpResponseBadRequest(
        f"Invalid feed parameters: {problems}", content_type="text/plain; charset=utf-8"
    )


@require_GET
@query_checked(FeedQuery, invalid=_invalid_feed_query)
def release_feed(request: HttpRequest, query: FeedQuery) -> HttpResponse:
    return _release_feed(request)


@cache_control(public=True, max_age=settings.API_CACHE_MAX_AGE)
@condition(etag_func=_etag, last_modified_func=_last_modified)
def _release_feed(request: HttpRequest) -> HttpResponse:
    response = ReleaseFeed()(request)
    # The syndication view dates the feed by its newest entry; the data version (when a sync
    # last committed) is what If-Modified-Since must be compared with, as on the API.
    del response["Last-Modified"]
    return response


class FollowingFeedRequest(FeedRequest):
    artist_ids: tuple[str, ...]


class FollowingFeed(ReleaseFeed):
    """A user's private feed: the public feed's filters, only the artists they follow."""

    title = "New from artists I follow"
    subtitle = "Releases of the artists you follow on Spotify, as this site found them."

    def get_object(self, request: HttpRequest, *args: Any, **kwargs: Any) -> FeedRequest:
        user = feed_token_user(token=kwargs["token"])
        if user is None:
            # Unknown, revoked or another's: the same 404 whichever, so a URL reveals nothing.
            raise Http404("No such feed")
        return FollowingFeedRequest(
            query=query_parse(request, FeedQuery),
            full_path=request.get_full_path(),
            artist_ids=tuple(sorted(following_artist_spotify_ids(user=user))),
        )

    def feed_guid(self, obj: FeedRequest) -> str:
        # Not the URL: it holds the secret, and a reader may show the id.
        return "tag:spotify-new-releases,2026:following-feed"

    def items(self, obj: FeedRequest) -> list[Release]:
        assert isinstance(obj, FollowingFeedRequest)
        if not obj.artist_ids:
            return []  # no artist filter would mean every release
        filters = obj.query.filters()
        return feed_selectors.releases_first_seen(
            since=timezone.now() - timedelta(days=obj.query.days),
            filters=feed_selectors.FeedFilters(
                releases=filters.releases, genre=filters.genre, artist_ids=obj.artist_ids
            ),
            limit=FEED_MAX_ENTRIES,
        )


@require_GET
@never_cache  # one user's, and its URL is a secret: no shared cache may keep it
@query_checked(FeedQuery, invalid=_invalid_feed_query)
def following_feed(request: HttpRequest, query: FeedQuery, token: str) -> HttpResponse:
    return FollowingFeed()(request, token=token)

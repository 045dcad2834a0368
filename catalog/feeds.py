"""The Atom feed of releases we saw for the first time, for feed readers."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import reverse
from django.utils import feedgenerator, timezone
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from pydantic import BaseModel, ConfigDict, Field

from catalog.access_tokens import feed_token_user
from catalog.following_selectors import following_artist_spotify_ids
from catalog.parameters import AlbumType, Genre, Market, SpotifyId, query_checked, query_parse
from catalog.schemas import ReleaseSummaryOut
from catalog.selectors import FeedFilters, ReleaseFilters, releases_first_seen
from spotify.conf import configured_markets, default_market

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
    market: Market = Field(default_factory=default_market)

    def filters(self) -> FeedFilters:
        return FeedFilters(
            releases=ReleaseFilters(
                album_type=self.album_type,
                exclude_various_artists=self.exclude_various_artists,
                # With one market, every release came from it: no condition to pay for.
                market=self.market if len(configured_markets()) > 1 else None,
            ),
            genre=self.genre,
            artist_ids=self.artist,
        )


class FeedRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    query: FeedQuery
    full_path: str


@dataclass(frozen=True)
class FeedEntry:
    """A release in the API's shape, and its artists' genres (the entry's categories)."""

    release: ReleaseSummaryOut
    genres: list[str]


class ReleaseFeed(Feed[FeedEntry, FeedRequest]):
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

    def items(self, obj: FeedRequest) -> list[FeedEntry]:
        return self.entries(obj, filters=obj.query.filters())

    def entries(self, obj: FeedRequest, *, filters: FeedFilters) -> list[FeedEntry]:
        releases = releases_first_seen(
            since=timezone.now() - timedelta(days=obj.query.days),
            filters=filters,
            limit=FEED_MAX_ENTRIES,
        )
        return [
            FeedEntry(
                release=ReleaseSummaryOut.from_orm(release),
                genres=sorted(
                    {genre for credit in release.credits.all() for genre in credit.artist.genres}
                ),
            )
            for release in releases
        ]

    def item_title(self, item: FeedEntry) -> str:
        return f"{_artist_names(item)} \N{EN DASH} {item.release.name}"

    def item_description(self, item: FeedEntry) -> str:
        release = item.release
        return str(
            format_html(
                '{}<p>{} by {}, released {}{}.</p><p><a href="{}">Listen on Spotify</a></p>',
                format_html('<p><img src="{}" alt="Cover of {}"></p>', release.image, release.name)
                if release.image
                else "",
                release.album_type.capitalize(),
                _artist_names(item),
                release.release_date or "on an unknown date",
                f", {release.total_tracks} tracks" if release.total_tracks else "",
                release.spotify_url,
            )
        )

    def item_link(self, item: FeedEntry) -> str:
        return item.release.spotify_url or f"https://open.spotify.com/album/{item.release.id}"

    def item_guid(self, item: FeedEntry) -> str:
        # Spotify's URI: the same release keeps the same id in every reader, whatever our host.
        return f"spotify:album:{item.release.id}"

    def item_pubdate(self, item: FeedEntry) -> Any:
        return item.release.first_seen_at

    def item_updateddate(self, item: FeedEntry) -> Any:
        return item.release.first_seen_at

    def item_author_name(self, item: FeedEntry) -> str:
        return _artist_names(item)

    def item_categories(self, item: FeedEntry) -> list[str]:
        return [item.release.album_type, *item.genres]

    def item_enclosures(self, item: FeedEntry) -> list[feedgenerator.Enclosure]:
        cover = item.release.image
        if not cover:
            return []
        # Spotify's covers are JPEGs; their size in bytes is unknown without fetching them.
        return [feedgenerator.Enclosure(cover, "0", "image/jpeg")]


def _artist_names(item: FeedEntry) -> str:
    return ", ".join(artist.name for artist in item.release.artists) or "Unknown artist"


def _invalid_feed_query(request: HttpRequest, problems: str) -> HttpResponse:
    return HttpResponseBadRequest(
        f"Invalid feed parameters: {problems}", content_type="text/plain; charset=utf-8"
    )


@require_GET
@query_checked(FeedQuery, invalid=_invalid_feed_query)
def release_feed(request: HttpRequest, query: FeedQuery) -> HttpResponse:
    # ETag, Last-Modified (the data version's, not the newest entry's), Cache-Control and the
    # cached bytes: catalog.caching, as for the API.
    return ReleaseFeed()(request)


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

    def items(self, obj: FeedRequest) -> list[FeedEntry]:
        assert isinstance(obj, FollowingFeedRequest)
        if not obj.artist_ids:
            return []  # no artist filter would mean every release
        filters = obj.query.filters()
        return self.entries(
            obj,
            filters=FeedFilters(
                releases=filters.releases, genre=filters.genre, artist_ids=obj.artist_ids
            ),
        )


@require_GET
@never_cache  # one user's, and its URL is a secret: no shared cache may keep it
@query_checked(FeedQuery, invalid=_invalid_feed_query)
def following_feed(request: HttpRequest, query: FeedQuery, token: str) -> HttpResponse:
    return FollowingFeed()(request, token=token)

"""The dashboard: thin views over the dashboard selectors and the scheduling services."""

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event
from django_htmx.middleware import HtmxDetails
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NaiveDatetime

from catalog.caching import fragment_cached
from catalog.following_selectors import following_artist_spotify_ids
from catalog.notifications.selectors import notification_targets_paused_count
from catalog.parameters import (
    AlbumType,
    Market,
    Pagination,
    SearchTerm,
    album_types,
    query_checked,
)
from catalog.scheduling import RefreshState, sync_refresh_request
from catalog.selectors import (
    ArtistFilterSet,
    ReleaseFilters,
    artist_grid,
    snapshot_latest,
    sync_overview,
    sync_task_finished,
)
from catalog.selectors import (
    artist_detail as artist_detail_read,
)
from common.auth import staff_required
from spotify.conf import configured_markets, default_market

# The grid listens for this event and reloads itself when a sync the page watched has ended.
CATALOG_UPDATED_EVENT = "catalog-updated"
# The "Refresh now" task this browser is waiting for, so a reload still shows it queued.
SYNC_TASK_SESSION_KEY = "catalog_sync_task"
# After this long in the queue, the card says that no worker seems to be running.
QUEUED_HINT_AFTER_SECONDS = 20
ARTISTS_PER_PAGE = 24
RELEASE_TYPES = album_types()
REFRESH_NOTICES = {
    RefreshState.QUEUED: "Sync started: the card below shows its progress.",
    RefreshState.ALREADY_QUEUED: "A sync is already queued: nothing more was queued.",
    RefreshState.ALREADY_RUNNING: "A sync is already running: its progress is shown below.",
}


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class DashboardQuery(BaseModel):
    """The filter form's fields; `new` and `exclude_various_artists` also take the API's
    spelling (`true`) in a shared URL."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    q: SearchTerm = ""
    type: AlbumType | None = None
    new: bool = False
    # Releases first seen after this moment (UTC without an offset): where a notification's
    # "and N more" link leads.
    first_seen_after: AwareDatetime | NaiveDatetime | None = None
    exclude_various_artists: bool = False
    market: Market = Field(default_factory=default_market)
    # Past the last page shows the last page.
    page: int = Field(1, ge=1)


def _invalid_page_query(request: HttpRequest, problems: str) -> HttpResponse:
    return render(request, "catalog/invalid_query.html", {"problems": problems}, status=400)


@require_GET
@query_checked(DashboardQuery, invalid=_invalid_page_query)
def dashboard(request: HtmxHttpRequest, query: DashboardQuery) -> HttpResponse:
    search = query.q.strip()
    release_type = query.type or ""
    new_only = query.new
    exclude_various_artists = query.exclude_various_artists
    first_seen_after = query.first_seen_after
    if first_seen_after is not None:
        first_seen_after = (
            first_seen_after.replace(tzinfo=UTC)
            if first_seen_after.tzinfo is None
            else first_seen_after.astimezone(UTC)
        )
    snapshot = snapshot_latest(market=query.market)
    markets = configured_markets()
    # The feed and the API call the type `album_type`; the feed has no search (the link's title
    # says so), the CSV export searches as the grid does. Both keep a market that was picked.
    release_query = {
        "album_type": release_type,
        "exclude_various_artists": "true" if exclude_various_artists else "",
        "market": query.market if len(markets) > 1 else "",
    }
    context = {
        "snapshot": snapshot,
        # The picker shows only when there is something to pick.
        "markets": markets if len(markets) > 1 else (),
        "market": query.market,
        "search": search,
        "release_type": release_type,
        "release_types": RELEASE_TYPES,
        "new_only": new_only,
        "exclude_various_artists": exclude_various_artists,
        "first_seen_after": first_seen_after,
        "filtered": bool(
            search or release_type or new_only or exclude_various_artists or first_seen_after
        ),
        "feed_url": _with_query(reverse("release-feed"), release_query),
        "csv_url": _with_query(
            reverse("api:artist_csv"),
            {**release_query, "new": "true" if new_only else "", "q": search},
        ),
    }

    def artist_results() -> str:
        grid = (
            artist_grid(
                snapshot=snapshot,
                # The API's filters: `q` is an artist's or a release's name there too.
                filters=ArtistFilterSet(
                    q=search or None,
                    releases=ReleaseFilters(
                        album_type=release_type or None,
                        new_only=new_only,
                        first_seen_after=first_seen_after,
                        exclude_various_artists=exclude_various_artists,
                    ),
                ),
                page_number=query.page,
                per_page=ARTISTS_PER_PAGE,
            )
            if snapshot
            else None
        )
        return render_to_string(
            "catalog/dashboard.html#artist-results", {**context, "grid": grid}, request
        )

    results = fragment_cached(request=request, name="artist-results", render=artist_results)
    # History restores ask for the whole page, whatever sent them.
    if request.htmx and not request.htmx.history_restore_request:
        response = HttpResponse(results)
    else:
        # The staff parts (sync card, buttons, connection) are rendered around the cached list.
        page_context = {
            **context,
            "artist_results": mark_safe(results),  # noqa: S308 (our own rendered template)
            # A signed-in user's "You follow" marks: ids for the page's script, never in the
            # artist list, which is cached for everyone.
            "followed_artist_ids": sorted(following_artist_spotify_ids(user=request.user)),
            **_sync_context(request),
        }
        response = render(request, "catalog/dashboard.html", page_context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
def sync_card(request: HtmxHttpRequest) -> HttpResponse:
    """The sync card alone, polled while a sync is queued or running."""
    if not request.htmx:
        return redirect("dashboard")
    context = _sync_context(request)
    response = render(request, "catalog/dashboard.html#sync-card", context)
    if request.GET.get("watch") and not context["sync_busy"]:
        trigger_client_event(response, CATALOG_UPDATED_EVENT)
    return response


@require_POST
@staff_required
def sync_refresh(request: HtmxHttpRequest) -> HttpResponse:
    """ "Refresh now": enqueues a sync, or says that one is already queued or running."""
    outcome = sync_refresh_request()
    if outcome.task_id is not None:
        request.session[SYNC_TASK_SESSION_KEY] = {
            "id": outcome.task_id,
            "requested_at": timezone.now().isoformat(),
        }
    notice = REFRESH_NOTICES[outcome.state]
    if request.htmx:
        context = _sync_context(request)
        if outcome.state != RefreshState.QUEUED:
            context["sync_notice"] = notice
        return render(request, "catalog/dashboard.html#sync-card", context)
    if outcome.state == RefreshState.QUEUED:
        messages.success(request, notice)
    else:
        messages.info(request, notice)
    return redirect("dashboard")


@require_GET
@query_checked(Pagination, invalid=_invalid_page_query)
def artist_detail(request: HttpRequest, page: Pagination, spotify_id: str) -> HttpResponse:
    releases = artist_detail_read(spotify_id=spotify_id, limit=page.limit, offset=page.offset)
    if releases is None:
        raise Http404("No artist with this id")
    previous_offset = max(page.offset - page.limit, 0) if page.offset > 0 else None
    next_offset = (
        page.offset + page.limit if page.offset + page.limit < releases.release_count else None
    )
    context = {
        "artist": releases.artist,
        "releases": releases.releases,
        "release_count": releases.release_count,
        "first_shown": page.offset + 1,
        "last_shown": page.offset + len(releases.releases),
        "previous_url": _page_url(request, offset=previous_offset),
        "next_url": _page_url(request, offset=next_offset),
    }
    return render(request, "catalog/artist_detail.html", context)


def _page_url(request: HttpRequest, *, offset: int | None) -> str | None:
    """This page's URL at another offset (None: there is no such page)."""
    if offset is None:
        return None
    query = request.GET.copy()
    query["offset"] = str(offset)
    return f"?{query.urlencode()}"


def _with_query(path: str, params: dict[str, str]) -> str:
    """`path` with the non-empty `params` as its query string."""
    query = urlencode({key: value for key, value in params.items() if value})
    return f"{path}?{query}" if query else path


def _sync_context(request: HttpRequest) -> dict[str, Any]:
    """The sync card's state. Busy (and polling) while a run holds the sync lock, or while the
    task this browser enqueued has not been picked up yet."""
    overview = sync_overview()
    waiting = request.session.get(SYNC_TASK_SESSION_KEY)
    queued_since: datetime | None = None
    if waiting is not None:
        if overview.in_progress is None and not sync_task_finished(task_id=waiting["id"]):
            queued_since = datetime.fromisoformat(waiting["requested_at"])
        elif overview.in_progress is None:
            del request.session[SYNC_TASK_SESSION_KEY]
    queued_for = (timezone.now() - queued_since).total_seconds() if queued_since else 0.0
    return {
        "sync": overview,
        "sync_queued": queued_since is not None,
        "sync_busy": overview.in_progress is not None or queued_since is not None,
        "sync_worker_hint": queued_for > QUEUED_HINT_AFTER_SECONDS,
        "notifications_paused": (
            notification_targets_paused_count() if request.user.is_staff else 0
        ),
    }

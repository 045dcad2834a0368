"""The signed-in user's own pages: the "Following" grid and their page (/me/), with its small
POST actions. Every read and write here is scoped to request.user."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST
from pydantic import Field

from catalog.access_tokens import (
    feed_token_get_or_create,
    feed_token_revoke,
    feed_token_rotate,
    personal_token_create,
    personal_token_revoke,
)
from catalog.following import following_refresh_request
from catalog.following_selectors import following_rotation_progress
from catalog.models import FeedToken, PersonalToken
from catalog.parameters import query_checked
from catalog.playlist_selectors import playlist_link_get
from catalog.playlists import (
    PlaylistUnavailableError,
    playlist_disable,
    playlist_enable,
)
from catalog.scheduling import playlist_refresh_enqueue
from catalog.selectors import ArtistFilterSet, ReleaseFilters
from catalog.selectors.following_grid import following_artist_grid
from catalog.views import (
    ARTISTS_PER_PAGE,
    RELEASE_TYPES,
    DashboardQuery,
    HtmxHttpRequest,
    _invalid_page_query,
)
from spotify.accounts import PLAYLIST_SCOPE
from spotify.selectors import user_connection_get

# The window of /api/me/releases/ and of the playlist, unless asked otherwise.
FOLLOWING_DEFAULT_DAYS = 14


class FollowingQuery(DashboardQuery):
    days: int = Field(FOLLOWING_DEFAULT_DAYS, ge=1, le=90)


@require_GET
@login_required
@query_checked(FollowingQuery, invalid=_invalid_page_query)
def following(request: HtmxHttpRequest, query: FollowingQuery) -> HttpResponse:
    """The dashboard's cards, search and filters over the releases of the artists the user
    follows (never cached: it is this user's)."""
    search = query.q.strip()
    release_type = query.type or ""
    filters = ReleaseFilters(
        album_type=release_type or None,
        new_only=query.new,
        exclude_various_artists=query.exclude_various_artists,
    )
    connection = user_connection_get(user=request.user)
    context = {
        "results_url": reverse("following"),
        "grid": following_artist_grid(
            user=request.user,
            days=query.days,
            filters=ArtistFilterSet(q=search or None, releases=filters),
            page_number=query.page,
            per_page=ARTISTS_PER_PAGE,
        ),
        "days": query.days,
        "user_connection": connection,
        "search": search,
        "release_type": release_type,
        "release_types": RELEASE_TYPES,
        "new_only": query.new,
        "exclude_various_artists": query.exclude_various_artists,
        "filtered": bool(search or release_type or query.new or query.exclude_various_artists),
        "feed_url": _feed_url(request.user),
        "csv_url": None,
    }
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "catalog/dashboard.html#artist-results", context)
    else:
        response = render(request, "catalog/following.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@login_required
def me(request: HttpRequest) -> HttpResponse:
    return _me_page(request)


def _me_page(request: HttpRequest, **extra: Any) -> HttpResponse:
    user: Any = request.user
    connection = user_connection_get(user=user)
    link = playlist_link_get(user=user)
    context = {
        "user_connection": connection,
        "rotation": following_rotation_progress(user=user),
        "tokens": PersonalToken.objects.filter(user=user),
        "feed_url": _feed_url(user),
        "playlist": link,
        "playlist_scope": PLAYLIST_SCOPE,
        "playlist_allowed": connection is not None and connection.has_scope(PLAYLIST_SCOPE),
        **extra,
    }
    return render(request, "catalog/me.html", context)


def _feed_url(user: Any) -> str | None:
    """The private feed's URL, if the user made one (reading never creates it)."""
    feed = FeedToken.objects.filter(user=user).first()
    return reverse("following-feed", kwargs={"token": feed.token}) if feed else None


@require_POST
@login_required
def follows_refresh(request: HttpRequest) -> HttpResponse:
    if following_refresh_request(user=request.user):
        messages.success(request, "Your follows will be read again in a moment.")
    else:
        messages.error(request, "Connect your Spotify account first.")
    return redirect("me")


@require_POST
@login_required
def token_create(request: HttpRequest) -> HttpResponse:
    """Shown once, on this answer: only its hash is kept."""
    name = request.POST.get("name", "").strip()[:100]
    token = personal_token_create(user=request.user, name=name)
    return _me_page(request, new_token=token)


@require_POST
@login_required
def token_revoke(request: HttpRequest) -> HttpResponse:
    """Another user's token (or none) is a 404, as on the API."""
    try:
        token_id = int(request.POST.get("token", ""))
        personal_token_revoke(token_id=token_id, user=request.user)
    except (ValueError, PersonalToken.DoesNotExist):
        raise Http404("No such token of yours") from None
    messages.success(request, "The token was revoked.")
    return redirect("me")


@require_POST
@login_required
def feed_url_rotate(request: HttpRequest) -> HttpResponse:
    """Creates the private feed's URL, or replaces it (the old one stops working)."""
    if _feed_url(request.user) is None:
        feed_token_get_or_create(user=request.user)
        messages.success(request, "Your private feed is ready.")
    else:
        feed_token_rotate(user=request.user)
        messages.success(request, "Your feed has a new URL: the old one no longer works.")
    return redirect("me")


@require_POST
@login_required
def feed_url_revoke(request: HttpRequest) -> HttpResponse:
    if feed_token_revoke(user=request.user):
        messages.success(request, "Your private feed was turned off.")
    return redirect("me")


@require_POST
@login_required
def playlist_on(request: HttpRequest) -> HttpResponse:
    """Turns the playlist on. Without the playlist scope, the user is first sent to Spotify to
    allow it (an incremental consent); it is then created by the next sync or "Update now"."""
    try:
        outcome = playlist_enable(user=request.user)
    except PlaylistUnavailableError as error:
        messages.error(request, str(error))
        return redirect("me")
    if outcome.needs_consent:
        return render(request, "catalog/playlist_consent.html", {"playlist_scope": PLAYLIST_SCOPE})
    return _playlist_update_now(request)


@require_POST
@login_required
def playlist_refresh(request: HttpRequest) -> HttpResponse:
    return _playlist_update_now(request)


def _playlist_update_now(request: HttpRequest) -> HttpResponse:
    link = playlist_link_get(user=request.user)
    if link is None:
        raise Http404("Your playlist is off")
    # The worker calls Spotify; a request never does.
    playlist_refresh_enqueue(user_pk=link.connection.user_id)
    messages.success(request, "Your playlist is being updated: reload this page in a moment.")
    return redirect("me")


@require_POST
@login_required
def playlist_off(request: HttpRequest) -> HttpResponse:
    if playlist_disable(user=request.user):
        messages.success(
            request, "Your playlist is no longer updated. It stays on Spotify: delete it there."
        )
    return redirect("me")

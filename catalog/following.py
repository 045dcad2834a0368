"""Writes for "Your artists": each connected user's followed-artist list, and the rotation that
reads the followed artists' newest releases into the release table (never into a snapshot).

Spotify is read before each write transaction opens, as in the catalog sync. What one sync may
spend is bounded: the followed lists' pages, then ARTIST_ALBUMS_CALLS_PER_RUN for the artists'
albums and the track lists of the releases they bring."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from math import ceil
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Artist, FollowedArtist, Release, ReleaseArtist
from catalog.scheduling import following_refresh_enqueue
from catalog.services import albums_store, artists_store
from catalog.tracks import SEVERAL_ALBUMS, tracks_sync
from spotify.client import ALBUMS_BATCH_SIZE, ARTIST_ALBUMS, SpotifyClient, user_client
from spotify.errors import (
    ForbiddenEndpointError,
    ReconnectNeededError,
    RequestRejectedError,
    SpotifyError,
)
from spotify.forbidden import endpoint_forbid, endpoint_forbidden
from spotify.models import UserConnection
from spotify.services import user_connection_needs_reconnect
from spotify.types import Album

logger = logging.getLogger(__name__)

# Spotify lists an artist's albums one group after another: one call per group we read.
FOLLOWED_ARTIST_GROUPS = ("album", "single")
# Older releases are not "recent": the API reads at most 90 days back.
FOLLOWED_RELEASE_MAX_AGE_DAYS = 90


@dataclass
class FollowingSyncResult:
    users_refreshed: int = 0
    artists_checked: int = 0
    releases_found: int = 0
    calls: int = 0
    warnings: list[str] = field(default_factory=list)


def following_sync(
    *, client: SpotifyClient, now: datetime | None = None, user_pks: Sequence[int] | None = None
) -> FollowingSyncResult:
    """One pass: reread the followed lists that are due (or asked for), then check the followed
    artists least recently checked first, within the budget. `client` (the site's) reads the
    artists' albums, once per artist however many users follow it. Never raises a SpotifyError:
    what could not be done is a warning, and waits for the next run."""
    now = now or timezone.now()
    result = FollowingSyncResult()
    connections = UserConnection.objects.filter(needs_reconnect=False).order_by("pk")
    if user_pks is not None:
        connections = connections.filter(user_id__in=list(user_pks))
    for connection in connections:
        if _following_due(connection, now=now):
            result.warnings.extend(following_refresh(connection=connection))
            result.users_refreshed += 1
    before = client.calls
    _artists_check(client=client, now=now, result=result, user_pks=user_pks)
    result.calls = client.calls - before
    return result


def _following_due(connection: UserConnection, *, now: datetime) -> bool:
    if connection.following_refresh_requested or connection.following_refreshed_at is None:
        return True
    age = timedelta(hours=settings.FOLLOWING_REFRESH_HOURS)
    return connection.following_refreshed_at <= now - age


def following_refresh(*, connection: UserConnection) -> list[str]:
    """Rereads the user's followed artists (every page) and replaces their follows. A 403 means
    the user took the scope back: they are told to reconnect, and nothing retries until then."""
    try:
        client = user_client(connection)
        artists = [artist for page in client.followed_artists() for artist in page.items]
    except ReconnectNeededError as error:
        return [f"User {connection.user_id}: {error}"]
    except ForbiddenEndpointError as error:
        reason = (
            f"Spotify refused to list the artists you follow ({error.status_code}): "
            "reconnect Spotify to allow it again"
        )
        user_connection_needs_reconnect(connection=connection, reason=reason)
        return [f"User {connection.user_id}: {reason}"]
    except SpotifyError as error:
        return [f"User {connection.user_id}: followed artists left for the next sync: {error}"]
    now = timezone.now()
    with transaction.atomic():
        artists_store(artists=artists, now=now)
        followed = set(
            Artist.objects.filter(spotify_id__in=[a.id for a in artists]).values_list(
                "pk", flat=True
            )
        )
        FollowedArtist.objects.filter(connection=connection).exclude(
            artist_id__in=followed
        ).delete()
        FollowedArtist.objects.bulk_create(
            [FollowedArtist(connection=connection, artist_id=pk) for pk in followed],
            ignore_conflicts=True,
        )
        UserConnection.objects.filter(pk=connection.pk).update(
            following_refreshed_at=now, following_refresh_requested=False
        )
    logger.info("User %s follows %s artists", connection.user_id, len(followed))
    return []


def following_refresh_request(*, user: Any) -> bool:
    """Asks for the user's followed list to be read again: queued at once for the worker, and
    in any case by the next sync. False when the user has no usable connection."""
    updated = UserConnection.objects.filter(user=user, needs_reconnect=False).update(
        following_refresh_requested=True
    )
    if updated:
        following_refresh_enqueue(user_pk=user.pk)
    return bool(updated)


def artists_due(*, now: datetime, user_pks: Sequence[int] | None = None) -> Any:
    """Followed artists (of usable connections) not checked in FOLLOWED_ARTIST_CHECK_HOURS,
    never-checked first, then the stalest."""
    follows = FollowedArtist.objects.filter(connection__needs_reconnect=False)
    if user_pks is not None:
        follows = follows.filter(connection__user_id__in=list(user_pks))
    stale_before = now - timedelta(hours=settings.FOLLOWED_ARTIST_CHECK_HOURS)
    return (
        Artist.objects.filter(pk__in=follows.values("artist_id"))
        .filter(Q(albums_checked_at__isnull=True) | Q(albums_checked_at__lte=stale_before))
        .order_by(F("albums_checked_at").asc(nulls_first=True), "pk")
    )


def _artists_check(
    *,
    client: SpotifyClient,
    now: datetime,
    result: FollowingSyncResult,
    user_pks: Sequence[int] | None,
) -> None:
    budget = settings.ARTIST_ALBUMS_CALLS_PER_RUN
    start = client.calls
    oldest = (now - timedelta(days=FOLLOWED_RELEASE_MAX_AGE_DAYS)).date()
    found: dict[str, Album] = {}
    checked: list[int] = []
    by_search = endpoint_forbidden(ARTIST_ALBUMS)
    tracks_one_by_one = endpoint_forbidden(SEVERAL_ALBUMS)
    due = artists_due(now=now, user_pks=user_pks)
    try:
        # Every artist costs at least one call: the budget bounds the rows read too.
        for artist in due.only("pk", "spotify_id", "name")[:budget]:
            cost = 1 if by_search else len(FOLLOWED_ARTIST_GROUPS)
            # What the track lists of the releases found so far will cost is kept back.
            if (
                client.calls - start + cost + _tracks_cost(len(found), one_by_one=tracks_one_by_one)
                > budget
            ):
                break
            try:
                albums = _artist_albums(client=client, artist=artist, by_search=by_search)
            except ForbiddenEndpointError as error:
                endpoint_forbid(endpoint=error.endpoint, error=error)
                result.warnings.append(
                    f"artists/{{id}}/albums is forbidden for this app ({error.status_code}); "
                    "followed artists are checked through search (tag:new)"
                )
                by_search = True
                continue  # this artist waits for the next run
            checked.append(artist.pk)
            for album in albums:
                if (when := album.release_date_sortable) is not None and when >= oldest:
                    found.setdefault(album.id, album)
    except SpotifyError as error:  # a long Retry-After included: the rest waits
        result.warnings.append(f"Followed artists left for the next sync: {error}")
    albums = list(found.values())
    with transaction.atomic():
        albums_store(albums=albums, now=timezone.now())
        Artist.objects.filter(pk__in=checked).update(albums_checked_at=now)
    result.artists_checked = len(checked)
    result.releases_found = len(albums)
    left = budget - (client.calls - start)
    result.warnings.extend(_tracks_fetch(client=client, calls_left=left, oldest=oldest))
    waiting = due.count()
    if waiting:
        result.warnings.append(
            f"{waiting} followed artists wait for the next runs "
            f"(ARTIST_ALBUMS_CALLS_PER_RUN={budget})"
        )


def _artist_albums(*, client: SpotifyClient, artist: Artist, by_search: bool) -> list[Album]:
    if by_search:
        albums = client.search_artist_new_albums(artist.name)
        # Search matches names: keep only the albums that credit this very artist.
        return [a for a in albums if any(ref.id == artist.spotify_id for ref in a.artists)]
    albums = []
    for group in FOLLOWED_ARTIST_GROUPS:
        try:
            albums.extend(client.artist_albums(artist.spotify_id, group=group))
        except RequestRejectedError as error:
            if error.status_code != 404:
                raise
            logger.info("Spotify has no artist %s any more", artist.spotify_id)
            return []
    return albums


def _tracks_cost(releases: int, *, one_by_one: bool) -> int:
    """The most calls the track lists of `releases` new releases take (see _tracks_fetch)."""
    if not releases:
        return 0
    if one_by_one:
        return releases
    return ceil(releases / ALBUMS_BATCH_SIZE) + 1


def _tracks_fetch(*, client: SpotifyClient, calls_left: int, oldest: date) -> list[str]:
    """Track lists for followed artists' releases that lack one (this run's and those an earlier
    run left), newest first, within what the budget leaves."""
    if endpoint_forbidden(SEVERAL_ALBUMS):
        count = calls_left  # one by one
    else:
        # Batches of 20, after the one call that may find /albums?ids= refused.
        count = (calls_left - 1) * ALBUMS_BATCH_SIZE
    if count <= 0:
        return []
    followed_releases = ReleaseArtist.objects.filter(artist__follows__isnull=False)
    release_ids = list(
        Release.objects.filter(
            pk__in=followed_releases.values("release_id"),
            tracks_fetched_at__isnull=True,
            release_date_sort__gte=oldest,
        )
        .order_by(F("release_date_sort").desc(nulls_last=True), "pk")
        .values_list("spotify_id", flat=True)[:count]
    )
    if not release_ids:
        return []
    return tracks_sync(client=client, release_ids=release_ids)

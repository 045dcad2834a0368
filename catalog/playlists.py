"""Writes for the playlist that keeps itself: "New from artists I follow", a private playlist on
the user's own Spotify account, rewritten after each sync when (and only when) its tracks change.

Spotify is called outside any transaction; each link's outcome is saved on its row, where the
user's page reads it."""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from catalog.models import PlaylistLink
from catalog.playlist_selectors import playlist_track_uris
from spotify.accounts import PLAYLIST_SCOPE
from spotify.client import SpotifyClient, user_client
from spotify.errors import ReconnectNeededError, RequestRejectedError, SpotifyError
from spotify.models import UserConnection
from spotify.services import user_connection_needs_reconnect

logger = logging.getLogger(__name__)

PLAYLIST_NAME = "New from artists I follow"
PLAYLIST_DESCRIPTION = (
    "Releases of the past {days} days by the artists you follow, newest first. "
    "Kept up to date by Spotify New Releases."
)
RECREATED_NOTICE = "Your playlist had been deleted on Spotify: it was created again."
STOPPED_NOTICE = (
    "Your playlist was deleted on Spotify again, so it is no longer updated: turn it off and on "
    "to get a new one."
)
SCOPE_REFUSED_NOTICE = (
    "Spotify no longer lets this site change your playlist: reconnect Spotify to allow it again."
)


class PlaylistUnavailableError(Exception):
    """The user has no usable Spotify connection to keep a playlist on."""


@dataclass(frozen=True)
class PlaylistEnableOutcome:
    link: PlaylistLink
    # Spotify must first allow playlist-modify-private (an incremental consent).
    needs_consent: bool


def playlist_enable(*, user: Any) -> PlaylistEnableOutcome:
    """Turns the playlist on. It is created by the next sync (or playlist_update), once the
    connection holds the playlist scope."""
    connection = UserConnection.objects.filter(user=user, needs_reconnect=False).first()
    if connection is None:
        raise PlaylistUnavailableError("Connect your Spotify account first.")
    link, created = PlaylistLink.objects.get_or_create(connection=connection)
    if not created and not link.active:
        # Turned on again after it stopped: start afresh with a new playlist.
        link.delete()
        link = PlaylistLink.objects.create(connection=connection)
    return PlaylistEnableOutcome(link=link, needs_consent=not connection.has_scope(PLAYLIST_SCOPE))


def playlist_disable(*, user: Any) -> bool:
    """Turns the playlist off: no more updates, and the link is forgotten (the playlist stays on
    Spotify, where it is the user's). False if it was not on."""
    deleted, _ = PlaylistLink.objects.filter(connection__user=user).delete()
    return bool(deleted)


def playlists_update(*, user_pks: list[int] | None = None) -> list[str]:
    """The sync's step after the followed artists: every active playlist whose tracks changed is
    rewritten. Never raises; returns warnings for the run."""
    links = PlaylistLink.objects.filter(active=True, connection__needs_reconnect=False)
    if user_pks is not None:
        links = links.filter(connection__user_id__in=user_pks)
    warnings = []
    for link in links.select_related("connection").order_by("pk"):
        try:
            if warning := playlist_update(link=link):
                warnings.append(f"User {link.connection.user_id}: {warning}")
        except Exception:
            logger.exception("Playlist %s could not be updated", link.pk)
            warnings.append(f"User {link.connection.user_id}: playlist left for the next sync")
    return warnings


def playlist_update(*, link: PlaylistLink, now: datetime | None = None) -> str | None:
    """Creates the playlist if needed and replaces its items when their list changed. A playlist
    the user deleted is created again, once; a refused scope asks the user to reconnect (and
    nothing calls Spotify for it until they do). Returns a warning, or None."""
    connection = link.connection
    if not link.active or connection.needs_reconnect:
        return None
    if not connection.has_scope(PLAYLIST_SCOPE):
        return None  # waiting for the user's consent: their page asks for it
    uris = playlist_track_uris(user=connection.user, days=link.days, now=now)
    digest = hashlib.sha256("\n".join(uris).encode()).hexdigest()
    if link.spotify_id and link.content_hash == digest:
        return None
    if link.notice == SCOPE_REFUSED_NOTICE:
        link.notice = ""  # reconnected since
    try:
        client = user_client(connection)
        _playlist_write(client=client, link=link, uris=uris)
    except ReconnectNeededError as error:
        return str(error)
    except RequestRejectedError as error:
        if error.status_code == 403:
            user_connection_needs_reconnect(connection=connection, reason=SCOPE_REFUSED_NOTICE)
            return _notice(link, SCOPE_REFUSED_NOTICE, f"Spotify refused the playlist: {error}")
        if error.status_code == 404:
            # Deleted again right after being recreated: stop rather than recreate in a loop.
            link.active = False
            return _notice(link, STOPPED_NOTICE, "the playlist was deleted again: stopped")
        return f"playlist left for the next sync: {error}"
    except SpotifyError as error:
        return f"playlist left for the next sync: {error}"
    link.content_hash = digest
    link.track_count = len(uris)
    link.updated_at = timezone.now()
    link.save()
    logger.info("Playlist %s now holds %s tracks", link.spotify_id, len(uris))
    return None


def _playlist_write(*, client: SpotifyClient, link: PlaylistLink, uris: list[str]) -> None:
    """Fills the playlist, creating it first if there is none; on a 404 (deleted on Spotify),
    creates it again once, unless it was recreated before (then the 404 is raised)."""
    if not link.spotify_id:
        _playlist_create(client=client, link=link)
        link.notice = ""
    try:
        client.playlist_items_replace(link.spotify_id, uris)
    except RequestRejectedError as error:
        if error.status_code != 404 or link.recreated_at is not None:
            raise
        logger.info("Playlist %s was deleted on Spotify: creating it again", link.spotify_id)
        _playlist_create(client=client, link=link)
        link.recreated_at = timezone.now()
        link.notice = RECREATED_NOTICE
        client.playlist_items_replace(link.spotify_id, uris)


def _playlist_create(*, client: SpotifyClient, link: PlaylistLink) -> None:
    playlist = client.playlist_create(
        name=PLAYLIST_NAME, description=PLAYLIST_DESCRIPTION.format(days=link.days)
    )
    link.spotify_id = playlist.id
    link.spotify_url = playlist.spotify_url
    # Saved at once: a failure filling it must not create a second playlist next time.
    link.save(update_fields=["spotify_id", "spotify_url"])


def _notice(link: PlaylistLink, notice: str, warning: str) -> str:
    link.notice = notice
    link.save(update_fields=["notice", "active"])
    return warning

"""Reads for the playlist that keeps itself: a user's link, and the tracks it should hold."""

from datetime import datetime
from typing import Any

from catalog.following_selectors import following_releases
from catalog.models import PlaylistLink, Track
from catalog.selectors import ReleaseFilters

# Spotify keeps at most 10,000 items a playlist; far fewer keep a sync's calls bounded.
PLAYLIST_MAX_TRACKS = 1000


def playlist_link_get(*, user: Any) -> PlaylistLink | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return PlaylistLink.objects.filter(connection__user=user).first()


def playlist_track_uris(*, user: Any, days: int, now: datetime | None = None) -> list[str]:
    """Track URIs of the user's followed artists' releases of the last `days` days: newest
    release first, each release's tracks in album order."""
    release_order = {
        pk: at
        for at, pk in enumerate(
            following_releases(user=user, days=days, filters=ReleaseFilters(), now=now).values_list(
                "pk", flat=True
            )
        )
    }
    tracks = Track.objects.filter(release_id__in=list(release_order)).values_list(
        "release_id", "disc_number", "track_number", "spotify_id"
    )
    ordered = sorted(tracks, key=lambda t: (release_order[t[0]], t[1], t[2]))
    return [f"spotify:track:{spotify_id}" for *_, spotify_id in ordered][:PLAYLIST_MAX_TRACKS]

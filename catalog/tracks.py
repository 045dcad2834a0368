"""Track lists: fetched once per release, when the sync first sees it, and never again."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import batched
from typing import NamedTuple

from django.conf import settings

from catalog.models import Release, Track
from spotify.client import ALBUMS_BATCH_SIZE, SpotifyClient
from spotify.errors import ForbiddenEndpointError, RequestRejectedError, SpotifyError
from spotify.types import FullAlbum
from spotify.types import Track as SpotifyTrack

logger = logging.getLogger(__name__)

# Rows per INSERT: a 10,000-release first sync has ~80,000 tracks.
TRACKS_INSERT_BATCH = 2000
RELEASES_UPDATE_BATCH = 1000


class TrackRow(NamedTuple):
    """A track as stored; plain tuples keep a large first sync's memory small."""

    spotify_id: str
    name: str
    track_number: int
    disc_number: int
    duration_ms: int
    explicit: bool
    artists: list[dict[str, str]]


@dataclass(frozen=True)
class AlbumTracks:
    tracks: list[TrackRow]
    # Only /albums?ids= sends label and popularity; None from the per-album fallback.
    details: tuple[str | None, int | None] | None


@dataclass
class TracksFetched:
    albums: dict[str, AlbumTracks] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def tracks_pending(*, release_ids: Sequence[str]) -> list[str]:
    """The releases, in order, whose track list we do not hold (unknown ones included)."""
    done = set(
        Release.objects.filter(
            spotify_id__in=list(release_ids), tracks_fetched_at__isnull=False
        ).values_list("spotify_id", flat=True)
    )
    return [release_id for release_id in release_ids if release_id not in done]


def tracks_fetch(*, client: SpotifyClient, release_ids: Sequence[str]) -> TracksFetched:
    """Track lists for the releases that lack one: /albums?ids= in batches of 20, or, when that
    endpoint is forbidden, /albums/{id}/tracks for a bounded number of releases per run. A failure
    here never fails the sync: what is missing is fetched by the next one."""
    pending = tracks_pending(release_ids=release_ids)
    fetched = TracksFetched()
    try:
        for batch in batched(pending, ALBUMS_BATCH_SIZE):
            for album in client.several_albums(batch):
                fetched.albums[album.id] = _album_tracks(client=client, album=album)
    except ForbiddenEndpointError:
        _fetch_one_by_one(
            client=client,
            release_ids=[release_id for release_id in pending if release_id not in fetched.albums],
            fetched=fetched,
        )
    except SpotifyError as error:
        fetched.warnings.append(f"Track lists left for the next sync: {error}")
    return fetched


def _album_tracks(*, client: SpotifyClient, album: FullAlbum) -> AlbumTracks:
    # /albums embeds the first 50 tracks; only a longer album costs its own track calls.
    items = album.tracks.items if album.tracks.next is None else client.album_tracks(album.id)
    return AlbumTracks(tracks=_rows(items), details=(album.label, album.popularity))


def _fetch_one_by_one(
    *, client: SpotifyClient, release_ids: list[str], fetched: TracksFetched
) -> None:
    limit = settings.TRACKS_PER_RUN_FALLBACK_LIMIT
    try:
        for release_id in release_ids[:limit]:
            try:
                items = client.album_tracks(release_id)
            except RequestRejectedError as error:
                logger.info("No track list for %s: %s", release_id, error)
                continue
            fetched.albums[release_id] = AlbumTracks(tracks=_rows(items), details=None)
    except SpotifyError as error:
        fetched.warnings.append(f"Track lists left for the next sync: {error}")
        return
    if len(release_ids) > limit:
        fetched.warnings.append(
            f"Spotify refused /albums, so track lists come one release at a time: "
            f"{len(release_ids) - limit} left for the next syncs "
            f"(TRACKS_PER_RUN_FALLBACK_LIMIT={limit})"
        )


def _rows(items: Sequence[SpotifyTrack]) -> list[TrackRow]:
    return [
        TrackRow(
            spotify_id=track.id,
            name=track.name,
            track_number=track.track_number,
            disc_number=track.disc_number,
            duration_ms=track.duration_ms,
            explicit=track.explicit,
            artists=[{"id": artist.id, "name": artist.name} for artist in track.artists],
        )
        for track in items
    ]


def tracks_store(*, fetched: TracksFetched, now: datetime) -> int:
    """Stores the fetched track lists and marks their releases done, in statements that grow
    with batches, not rows. Runs inside the sync's write transaction, after the releases."""
    if not fetched.albums:
        return 0
    release_pks = dict(
        Release.objects.filter(spotify_id__in=list(fetched.albums)).values_list("spotify_id", "pk")
    )
    # A track id seen twice would make one INSERT ... ON CONFLICT touch a row twice.
    rows = {
        row.spotify_id: (release_pks[album_id], row)
        for album_id, album in fetched.albums.items()
        for row in album.tracks
    }
    for batch in batched(rows.values(), TRACKS_INSERT_BATCH):
        Track.objects.bulk_create(
            [Track(release_id=release_pk, **row._asdict()) for release_pk, row in batch],
            update_conflicts=True,
            unique_fields=["spotify_id"],
            update_fields=[*TrackRow._fields[1:], "release"],
        )
    with_details, without_details = [], []
    for album_id, album in fetched.albums.items():
        release = Release(pk=release_pks[album_id], tracks_fetched_at=now)
        if album.details is None:
            without_details.append(release)
        else:
            release.label, release.popularity = album.details
            with_details.append(release)
    Release.objects.bulk_update(
        with_details, ["label", "popularity", "tracks_fetched_at"], batch_size=RELEASES_UPDATE_BATCH
    )
    Release.objects.bulk_update(
        without_details, ["tracks_fetched_at"], batch_size=RELEASES_UPDATE_BATCH
    )
    return len(rows)

"""Track lists: fetched once per release, when the sync first sees it, and never again.

They are fetched and stored after the snapshot commits, a batch of albums at a time, each batch in
its own transaction: memory stays flat however many releases are new, and what a failure leaves
behind (releases whose `tracks_fetched_at` is still null) is simply fetched by the next sync."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import batched
from typing import NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Release, Track
from spotify.client import ALBUMS_BATCH_SIZE, SpotifyClient
from spotify.errors import ForbiddenEndpointError, RequestRejectedError, SpotifyError
from spotify.forbidden import endpoint_forbid, endpoint_forbidden
from spotify.types import FullAlbum
from spotify.types import Track as SpotifyTrack

logger = logging.getLogger(__name__)

SEVERAL_ALBUMS = "GET /albums"
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


def tracks_pending(*, release_ids: Sequence[str]) -> dict[str, int]:
    """The stored releases, in the given order, whose track list we do not hold: id -> pk."""
    pks = dict(
        Release.objects.filter(
            spotify_id__in=list(release_ids), tracks_fetched_at__isnull=True
        ).values_list("spotify_id", "pk")
    )
    return {release_id: pks[release_id] for release_id in release_ids if release_id in pks}


def tracks_sync(*, client: SpotifyClient, release_ids: Sequence[str]) -> list[str]:
    """Fetches and stores the track lists the releases lack: /albums?ids= in batches of 20, or,
    when that endpoint is forbidden, /albums/{id}/tracks for a bounded number of releases per run.
    A Spotify failure here never fails the sync; it returns warnings instead."""
    pending = tracks_pending(release_ids=release_ids)
    stored: set[str] = set()
    if pending and not endpoint_forbidden(SEVERAL_ALBUMS):
        try:
            for batch in batched(pending, ALBUMS_BATCH_SIZE):
                fetched = TracksFetched()
                for album in client.several_albums(batch):
                    fetched.albums[album.id] = _album_tracks(client=client, album=album)
                _store_batch(fetched, release_pks=pending)
                stored.update(batch)
            return []
        except ForbiddenEndpointError as error:
            endpoint_forbid(endpoint=error.endpoint, error=error)
        except SpotifyError as error:
            return [f"Track lists left for the next sync: {error}"]
    fetched = TracksFetched()
    _fetch_one_by_one(
        client=client,
        release_ids=[release_id for release_id in pending if release_id not in stored],
        fetched=fetched,
    )
    _store_batch(fetched, release_pks=pending)
    return fetched.warnings


def _store_batch(fetched: TracksFetched, *, release_pks: dict[str, int]) -> None:
    with transaction.atomic():
        tracks_store(fetched=fetched, release_pks=release_pks, now=timezone.now())


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


def tracks_store(*, fetched: TracksFetched, release_pks: dict[str, int], now: datetime) -> int:
    """Stores the fetched track lists and marks their releases done, in statements that grow
    with batches, not rows. The releases must already be stored."""
    if not fetched.albums:
        return 0
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
    # A release without a track list never had its label or popularity either (only /albums
    # sends them, with the tracks), so the fallback's None overwrites nothing.
    Release.objects.bulk_update(
        [
            Release(
                pk=release_pks[album_id],
                tracks_fetched_at=now,
                label=album.details[0] if album.details else None,
                popularity=album.details[1] if album.details else None,
            )
            for album_id, album in fetched.albums.items()
        ],
        ["label", "popularity", "tracks_fetched_at"],
        batch_size=RELEASES_UPDATE_BATCH,
    )
    return len(rows)

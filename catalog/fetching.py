"""The sync's fetch stage: what to read from Spotify, with the fallbacks Development Mode apps need
since February 2026. Runs before the write transaction opens, so remembering a forbidden endpoint
commits on its own."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import batched

from django.conf import settings
from django.utils import timezone

from catalog.models import Artist, Snapshot
from spotify.client import ARTISTS_BATCH_SIZE, SpotifyClient
from spotify.errors import ForbiddenEndpointError, RequestRejectedError
from spotify.forbidden import endpoint_forbid, endpoint_forbidden_until
from spotify.types import Album
from spotify.types import Artist as SpotifyArtist

logger = logging.getLogger(__name__)

NEW_RELEASES = "GET /browse/new-releases"
SEVERAL_ARTISTS = "GET /artists"


@dataclass
class FetchedAlbums:
    albums: list[Album]
    source: Snapshot.Source
    warnings: list[str] = field(default_factory=list)


@dataclass
class EnrichedArtists:
    artists: dict[str, SpotifyArtist]
    warnings: list[str] = field(default_factory=list)


def albums_fetch(*, client: SpotifyClient, market: str = "") -> FetchedAlbums:
    """/browse/new-releases in `market` (empty: the global list), or search (`tag:new`) when
    Spotify refuses it to this app."""
    refusal = _refusal(NEW_RELEASES)
    if refusal is None:
        try:
            return FetchedAlbums(
                albums=unique_albums(page.items for page in client.new_releases(market=market)),
                source=Snapshot.Source.DEMO if client.conf.demo else Snapshot.Source.NEW_RELEASES,
            )
        except ForbiddenEndpointError as error:
            refusal = _remember(error)
    pages = client.search_new_albums(max_albums=settings.SEARCH_FALLBACK_MAX_ALBUMS, market=market)
    return FetchedAlbums(
        albums=unique_albums(page.items for page in pages),
        source=Snapshot.Source.DEMO if client.conf.demo else Snapshot.Source.SEARCH,
        warnings=[f"new-releases is forbidden for this app ({refusal}); used search (tag:new)"],
    )


def unique_albums(pages: Iterable[list[Album]]) -> list[Album]:
    """Spotify's rank order; an album that a later page repeats keeps its first rank."""
    seen: dict[str, Album] = {}
    for items in pages:
        for album in items:
            seen.setdefault(album.id, album)
    return list(seen.values())


def artists_enrich(*, client: SpotifyClient, artist_ids: list[str]) -> EnrichedArtists:
    """Full details for artists never enriched or enriched longer ago than the TTL: by batches of
    50, or one by one (bounded per run) when Spotify refuses /artists?ids= to this app."""
    due = _artists_due(artist_ids)
    enriched: dict[str, SpotifyArtist] = {}
    refusal = _refusal(SEVERAL_ARTISTS)
    if refusal is None:
        try:
            for batch in batched(due, ARTISTS_BATCH_SIZE):
                for artist in client.several_artists(batch):
                    enriched[artist.id] = artist
            return EnrichedArtists(artists=enriched)
        except ForbiddenEndpointError as error:
            refusal = _remember(error)
    left = [artist_id for artist_id in due if artist_id not in enriched]
    return _artists_enrich_one_by_one(client=client, artist_ids=left, refusal=refusal)


def _artists_enrich_one_by_one(
    *, client: SpotifyClient, artist_ids: list[str], refusal: str
) -> EnrichedArtists:
    budget = settings.ARTIST_FALLBACK_CALLS_PER_RUN
    enriched: dict[str, SpotifyArtist] = {}
    warnings: list[str] = []
    asked = 0
    for artist_id in artist_ids[:budget]:
        asked += 1
        try:
            enriched[artist_id] = client.artist(artist_id)
        except RequestRejectedError as error:
            if error.status_code == 404:
                warnings.append(f"Spotify has no artist {artist_id} any more; skipped")
                continue
            warnings.append(f"Artist details unavailable one by one either ({error}); stopped")
            break
    left = len(artist_ids) - asked
    warnings.insert(
        0,
        f"artists?ids= is forbidden for this app ({refusal}); enriched {len(enriched)} artists "
        f"one by one, {left} left for the next runs",
    )
    return EnrichedArtists(artists=enriched, warnings=warnings)


def _artists_due(artist_ids: list[str]) -> list[str]:
    """Never-enriched artists first, then the stalest: they matter most when calls are bounded."""
    fresh_after = timezone.now() - timedelta(days=settings.ARTIST_DETAILS_TTL_DAYS)
    fetched_at: dict[str, datetime | None] = dict(
        Artist.objects.filter(spotify_id__in=artist_ids).values_list(
            "spotify_id", "details_fetched_at"
        )
    )
    due = [
        artist_id
        for artist_id in artist_ids
        if (when := fetched_at.get(artist_id)) is None or when < fresh_after
    ]
    never = [artist_id for artist_id in due if fetched_at.get(artist_id) is None]
    stale = sorted(
        (artist_id for artist_id in due if fetched_at.get(artist_id) is not None),
        key=lambda artist_id: fetched_at[artist_id] or fresh_after,
    )
    return never + stale


def _refusal(endpoint: str) -> str | None:
    until = endpoint_forbidden_until(endpoint)
    if until is None:
        return None
    return f"remembered until {until:%Y-%m-%d %H:%M} UTC"


def _remember(error: ForbiddenEndpointError) -> str:
    logger.warning("%s; falling back", error)
    endpoint_forbid(endpoint=error.endpoint, error=error)
    return f"Spotify answered {error.status_code}"

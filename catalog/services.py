"""Writes: the sync that turns Spotify's new releases into today's snapshot."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from time import monotonic
from typing import Any

from django.db import DatabaseError, models, transaction
from django.utils import timezone

from catalog.caching import data_version_refresh
from catalog.fetching import albums_fetch, artists_enrich
from catalog.models import Artist, Release, ReleaseArtist, Snapshot, SnapshotEntry, SyncRun
from catalog.notifications.services import (
    notification_deliveries_enqueue,
    notification_deliveries_recover_stale,
)
from catalog.selectors import best_image
from catalog.sync_lock import sync_lock, sync_lock_held_by_another_session
from catalog.task_queue import sync_handoff_clear
from catalog.tracks import tracks_sync
from catalog.webhooks.services import (
    webhook_deliveries_enqueue,
    webhook_deliveries_recover_stale,
)
from observability.context import sync_run_logged
from spotify.client import SpotifyClient, site_client
from spotify.conf import configured_markets, default_market
from spotify.errors import SpotifyError
from spotify.types import Album, Image
from spotify.types import Artist as SpotifyArtist

logger = logging.getLogger(__name__)

# Rows per INSERT: one statement for 10,000 releases builds megabytes of SQL and parameters at once;
# batches keep a large first sync's memory flat while statements still grow with pages, not items.
UPSERT_BATCH_SIZE = 1000
INTERRUPTED_ERROR = "Interrupted: the worker running this sync died before it finished"
# Saved with the snapshot, in its transaction.
SNAPSHOT_FIELDS = [
    "snapshot",
    "release_count",
    "artist_count",
    "new_release_count",
    "updated_release_count",
    "new_artist_count",
    "updated_artist_count",
]


@dataclass(frozen=True)
class UpsertCounts:
    created: int
    updated: int


def sync_run_execute(*, trigger: SyncRun.Trigger, client: SpotifyClient | None = None) -> SyncRun:
    """Runs one sync: one run per configured market, in SPOTIFY_MARKETS' order, under one lock.
    Returns the default (first) market's run. A failure is recorded on its market's run, never
    half-written, and the other markets still sync."""
    with sync_lock() as acquired:
        if not acquired:
            now = timezone.now()
            return SyncRun.objects.create(
                trigger=trigger,
                status=SyncRun.Status.SKIPPED,
                started_at=now,
                finished_at=now,
                error="Another sync is already running",
            )
        # Holding the lock says "running" from now on; the mark goes before the run shows as
        # running, so a worker killed from then on leaves no "queued" behind it for presses.
        sync_handoff_clear()
        sync_runs_fail_interrupted()
        # The markets' runs share the sync's start: `new=true` (first seen since the latest
        # successful sync started) then counts what any market of that sync saw first.
        started_at = timezone.now()
        client = client or site_client()
        runs = [
            _market_sync_run(trigger=trigger, market=market, started_at=started_at, client=client)
            for market in configured_markets()
        ]
        # Every sync also picks up deliveries that a killed worker left pending.
        transaction.on_commit(webhook_deliveries_recover_stale, robust=True)
        transaction.on_commit(notification_deliveries_recover_stale, robust=True)
        return runs[0]


def _market_sync_run(
    *, trigger: SyncRun.Trigger, market: str, started_at: datetime, client: SpotifyClient
) -> SyncRun:
    run = SyncRun.objects.create(trigger=trigger, market=market, started_at=started_at)
    calls_before = client.calls
    # Every line logged during the run, the Spotify client's included, names it.
    with sync_run_logged(run_id=run.pk):
        started = monotonic()
        try:
            _sync(run=run, client=client, market=market)
        # Whatever goes wrong, expected or not, ends the run: a run left `running` would say so
        # forever (until the next sync) and keep "Refresh now" waiting.
        except Exception as error:
            run.status = SyncRun.Status.FAILED
            run.error = sync_failure_reason(error)
            logger.warning("Sync %s failed: %s", run.pk, run.error, exc_info=_unexpected(error))
        else:
            run.status = SyncRun.Status.SUCCEEDED
        run.finished_at = timezone.now()
        run.spotify_calls = client.calls - calls_before
        # The snapshot and its counts were saved when the snapshot committed (see _sync); a write
        # rolled back must not reach the run through its in-memory fields.
        run.save(update_fields=["status", "error", "warnings", "finished_at", "spotify_calls"])
        data_version_refresh()  # the run's end is part of the data version (track lists)
        logger.info(
            "Sync %s %s%s in %.1f s with %s Spotify calls",
            run.pk,
            f"of {market} " if market else "",
            run.status,
            monotonic() - started,
            run.spotify_calls,
        )
        return run


def sync_failure_reason(error: Exception) -> str:
    """What the run, the dashboard and the CLI say about a failure: our own errors' sentences,
    and for anything unexpected only its type, since its message may quote data or a token
    (the worker's log has the traceback, redacted)."""
    if not _unexpected(error):
        return str(error) or type(error).__name__
    return f"Unexpected error ({type(error).__name__}); the worker's log has the details"


def _unexpected(error: Exception) -> bool:
    return not isinstance(error, SpotifyError | DatabaseError)


def sync_runs_fail_interrupted() -> int:
    """Marks failed the runs a dead worker left `running` (killed, out of memory, or stopped by
    django-q2's timeout); they would otherwise say "running" forever and block "Refresh now".

    Only the sync lock's holder can be running, and its run is the newest: while another session
    holds the lock, every older running row is an orphan; when none does, every running row is.
    The update re-checks the status, so a run that finishes meanwhile is left alone."""
    running = list(
        SyncRun.objects.filter(status=SyncRun.Status.RUNNING)
        .order_by("-pk")
        .values_list("pk", flat=True)
    )
    orphans = running[1:] if running and sync_lock_held_by_another_session() else running
    if not orphans:
        return 0
    return SyncRun.objects.filter(pk__in=orphans, status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED, finished_at=timezone.now(), error=INTERRUPTED_ERROR
    )


def _sync(*, run: SyncRun, client: SpotifyClient, market: str) -> None:
    # Spotify is read before the write transaction opens: no transaction is held across the
    # network, and a token renewed mid-way commits on its own even if the sync later fails.
    fetched = albums_fetch(client=client, market=market)
    albums, source = fetched.albums, fetched.source
    enrichment = artists_enrich(client=client, artist_ids=_credited_artist_ids(albums))
    enriched = enrichment.artists
    run.warnings = [*run.warnings, *fetched.warnings, *enrichment.warnings]
    now = timezone.now()
    with transaction.atomic():
        artist_counts = _artists_upsert(albums=albums, enriched=enriched, now=now)
        release_counts = _releases_upsert(albums=albums, now=now)
        transaction.on_commit(data_version_refresh)
        snapshot = _snapshot_replace(albums=albums, source=source, market=market, fetched_at=now)
        run.snapshot = snapshot
        run.release_count = snapshot.release_count
        run.artist_count = snapshot.artist_count
        run.new_release_count = release_counts.created
        run.updated_release_count = release_counts.updated
        run.new_artist_count = artist_counts.created
        run.updated_artist_count = artist_counts.updated
        run.save(update_fields=[*SNAPSHOT_FIELDS, "warnings"])
        if run.new_release_count:
            # Queued as the snapshot commits: nothing that happens to the run afterwards (a
            # failed track stage, a killed worker) can lose them, and the next run sees
            # nothing new to send.
            transaction.on_commit(partial(webhook_deliveries_enqueue, run_pk=run.pk), robust=True)
            transaction.on_commit(
                partial(notification_deliveries_enqueue, run_pk=run.pk), robust=True
            )
    # After the commit, a batch at a time (see catalog/tracks.py): the snapshot never waits for
    # track lists, and the memory they take stays flat. The snapshot stands whatever happens
    # here, so a failure is a warning on a successful run; the next sync fetches what is missing.
    try:
        track_warnings = tracks_sync(client=client, release_ids=[album.id for album in albums])
    except Exception as error:
        logger.warning("Sync %s: track lists failed", run.pk, exc_info=_unexpected(error))
        track_warnings = [f"Track lists left for the next sync: {sync_failure_reason(error)}"]
    run.warnings = [*run.warnings, *track_warnings]
    # Followed artists belong to no market: read once per sync, with the default market's run.
    if market == default_market():
        run.warnings = [*run.warnings, *_following_sync(run=run, client=client)]


def _following_sync(*, run: SyncRun, client: SpotifyClient) -> list[str]:
    """The connected users' followed artists and their releases, after the snapshot: never in
    it, and never failing the run (what is left waits for the next sync)."""
    # Imported here: catalog.following stores its releases with this module's upserts.
    from catalog.following import following_sync
    from catalog.playlists import playlists_update

    try:
        return [*following_sync(client=client).warnings, *playlists_update()]
    except Exception as error:
        logger.warning("Sync %s: followed artists failed", run.pk, exc_info=_unexpected(error))
        return [f"Followed artists left for the next sync: {sync_failure_reason(error)}"]


def albums_store(*, albums: Sequence[Album], now: datetime) -> UpsertCounts:
    """Stores releases and their credited artists as the sync does, outside any snapshot (the
    releases of followed artists): a release already stored is the same row, its first_seen_at
    kept. Call it inside a transaction."""
    _artists_upsert(albums=albums, enriched={}, now=now)
    return _releases_upsert(albums=albums, now=now)


def artists_store(*, artists: Sequence[SpotifyArtist], now: datetime) -> UpsertCounts:
    """Stores full artist objects (a followed-artist list), their details with them."""
    rows = {
        artist.id: {
            "name": artist.name,
            "uri": artist.uri,
            "spotify_url": artist.spotify_url,
            **_image_fields(artist.images),
            "genres": artist.genres,
            "popularity": artist.popularity,
            "followers": artist.followers,
            "details_fetched_at": now,
        }
        for artist in artists
    }
    return _upsert(Artist, rows, now=now)


def _credited_artist_ids(albums: Sequence[Album]) -> list[str]:
    return list(dict.fromkeys(artist.id for album in albums for artist in album.artists))


def _upsert(
    model: type[models.Model], rows: dict[str, dict[str, Any]], *, now: datetime
) -> UpsertCounts:
    """Inserts new rows and updates changed ones, keyed on spotify_id, in a constant number of
    statements. Unchanged rows are not written, so a re-sync that changes nothing writes nothing."""
    if not rows:
        return UpsertCounts(0, 0)
    fields = sorted({field for row in rows.values() for field in row})
    existing = {
        values["spotify_id"]: values
        for values in model.objects.filter(spotify_id__in=list(rows)).values("spotify_id", *fields)  # type: ignore[attr-defined]
    }
    changed = [
        model(spotify_id=key, updated_at=now, **row)
        for key, row in rows.items()
        if key not in existing or any(existing[key][field] != row[field] for field in row)
    ]
    if changed:
        model.objects.bulk_create(  # type: ignore[attr-defined]
            changed,
            update_conflicts=True,
            unique_fields=["spotify_id"],
            update_fields=[*fields, "updated_at"],
            batch_size=UPSERT_BATCH_SIZE,
        )
    created = sum(1 for key in rows if key not in existing)
    return UpsertCounts(created=created, updated=len(changed) - created)


def _artists_upsert(
    *, albums: Sequence[Album], enriched: dict[str, SpotifyArtist], now: datetime
) -> UpsertCounts:
    credited: dict[str, dict[str, Any]] = {}
    for album in albums:
        for ref in album.artists:
            credited.setdefault(
                ref.id, {"name": ref.name, "uri": ref.uri, "spotify_url": ref.spotify_url}
            )
    details: dict[str, dict[str, Any]] = {
        artist_id: {
            **credited[artist_id],
            "name": artist.name,
            **_image_fields(artist.images),
            "genres": artist.genres,
            "popularity": artist.popularity,
            "followers": artist.followers,
            "details_fetched_at": now,
        }
        for artist_id, artist in enriched.items()
        if artist_id in credited
    }
    plain = {key: row for key, row in credited.items() if key not in details}
    # Two statements' worth: credits alone must not wipe details fetched on an earlier run.
    first = _upsert(Artist, plain, now=now)
    second = _upsert(Artist, details, now=now)
    return UpsertCounts(first.created + second.created, first.updated + second.updated)


def _image_fields(images: Sequence[Image]) -> dict[str, Any]:
    stored = [image.model_dump() for image in images]
    return {"images": stored, "image_url": best_image(stored) or ""}


def _releases_upsert(*, albums: Sequence[Album], now: datetime) -> UpsertCounts:
    rows = {
        album.id: {
            "name": album.name,
            "album_type": album.album_type,
            "total_tracks": album.total_tracks,
            **_image_fields(album.images),
            "spotify_url": album.spotify_url,
            "uri": album.uri,
            "release_date": album.release_date,
            "release_date_precision": album.release_date_precision,
            "release_date_sort": album.release_date_sortable,
        }
        for album in albums
    }
    counts = _upsert(Release, rows, now=now)
    _credits_replace(albums=albums)
    return counts


def _credits_replace(*, albums: Sequence[Album]) -> None:
    """Rewrites the credits of the releases whose artist list changed, in three statements."""
    release_pks = dict(
        Release.objects.filter(spotify_id__in=[album.id for album in albums]).values_list(
            "spotify_id", "pk"
        )
    )
    artist_pks = dict(
        Artist.objects.filter(spotify_id__in=_credited_artist_ids(albums)).values_list(
            "spotify_id", "pk"
        )
    )
    current: dict[int, list[int]] = {}
    for release_pk, artist_pk in ReleaseArtist.objects.filter(
        release_id__in=release_pks.values()
    ).values_list("release_id", "artist_id"):
        current.setdefault(release_pk, []).append(artist_pk)
    wanted = {
        release_pks[album.id]: list(dict.fromkeys(artist_pks[ref.id] for ref in album.artists))
        for album in albums
    }
    changed = [pk for pk, artists in wanted.items() if current.get(pk) != artists]
    if not changed:
        return
    ReleaseArtist.objects.filter(release_id__in=changed).delete()
    ReleaseArtist.objects.bulk_create(
        [
            ReleaseArtist(release_id=release_pk, artist_id=artist_pk, position=position)
            for release_pk in changed
            for position, artist_pk in enumerate(wanted[release_pk])
        ],
        batch_size=UPSERT_BATCH_SIZE,
    )


def _snapshot_replace(
    *, albums: Sequence[Album], source: str, market: str, fetched_at: datetime
) -> Snapshot:
    """Today's snapshot gets these entries; earlier days stay as history."""
    snapshot, _ = Snapshot.objects.update_or_create(
        date=timezone.localdate(fetched_at),
        market=market,
        defaults={
            "fetched_at": fetched_at,
            "source": source,
            "release_count": len(albums),
            "artist_count": len(_credited_artist_ids(albums)),
        },
    )
    release_pks = dict(
        Release.objects.filter(spotify_id__in=[album.id for album in albums]).values_list(
            "spotify_id", "pk"
        )
    )
    SnapshotEntry.objects.filter(snapshot=snapshot).delete()
    SnapshotEntry.objects.bulk_create(
        [
            SnapshotEntry(snapshot=snapshot, release_id=release_pks[album.id], rank=rank)
            for rank, album in enumerate(albums, start=1)
        ],
        batch_size=UPSERT_BATCH_SIZE,
    )
    return snapshot

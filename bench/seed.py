"""A realistic bench database, written with COPY: `days` daily snapshots of `releases_per_day`
releases (today's and the history before it), `artists` artists, 2 to 12 tracks per release (7 on
average) and one successful sync run per snapshot. Deterministic (fixed seed).

The 31-day set (the defaults) is about 3,100 releases and 21,500 tracks; a year
(`seed(days=365, artists=20_000)`) is 36,500 releases and about 255,000 tracks, seeded in
seconds."""

import json
import random
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Artist, Release, ReleaseArtist, Snapshot, SnapshotEntry, SyncRun, Track
from catalog.selectors import best_image

DAYS = 31
RELEASES_PER_DAY = 100
ARTISTS = 2500
GENRES = [
    "indie pop", "k-pop", "hip hop", "trap", "reggaeton", "latin pop", "afrobeats", "house",
    "techno", "metal", "alt rock", "folk", "jazz", "soul", "r&b", "country", "ambient",
    "drum and bass", "j-pop", "classical",
]  # fmt: skip
SYLLABLES = ["ka", "lo", "mé", "ri", "sø", "an", "tu", "bé", "ña", "zo", "el", "ví", "ru", "da"]


def _name(rng: random.Random, words: int) -> str:
    return " ".join(
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        for _ in range(words)
    )


def _images(kind: str, key: str) -> list[dict[str, object]]:
    return [
        {"url": f"https://i.scdn.co/image/{kind}{key}{size}", "width": size, "height": size}
        for size in (640, 300, 64)
    ]


def _reserve_ids(model: type[Any], count: int) -> int:
    """The first of `count` ids taken from the table's sequence, past every id it has handed out
    (setting it back to the largest id seen could hand out one a concurrent insert holds)."""
    if not count:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(seq, nextval(seq) + %s - 1) - %s + 1"
            " FROM pg_get_serial_sequence(%s, 'id') AS seq",
            [count, count, model._meta.db_table],
        )
        return int(cursor.fetchone()[0])


def _copy(model: type[Any], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """COPY rows, ids included, into the model's table."""
    with connection.cursor() as cursor:
        sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)


def _numbered(model: type[Any], rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    first = _reserve_ids(model, len(rows))
    return [(first + index, *row) for index, row in enumerate(rows)]


@transaction.atomic
def seed(
    *,
    days: int = DAYS,
    artists: int = ARTISTS,
    releases_per_day: int = RELEASES_PER_DAY,
    seed_value: int = 2026,
) -> dict[str, int]:
    """Adds the data set to the catalogue (expected empty: spotify ids would collide)."""
    rng = random.Random(seed_value)
    now = timezone.now()
    today = timezone.localdate()

    first_artist = _reserve_ids(Artist, artists)
    artist_ids = range(first_artist, first_artist + artists)
    artist_rows = []
    for index, artist_id in enumerate(artist_ids):
        key = f"bencha{index:016d}"
        images = _images("a", str(index))
        artist_rows.append(
            (
                artist_id, key, _name(rng, rng.randint(1, 2)), f"spotify:artist:{key}",
                f"https://open.spotify.com/artist/{key}", json.dumps(images),
                best_image(images) or "", rng.sample(GENRES, rng.randint(0, 3)),
                rng.choice([None, rng.randint(0, 100)]),
                rng.choice([None, rng.randint(0, 5_000_000)]), now, now, now,
            )
        )  # fmt: skip
    _copy(
        Artist,
        [
            "id", "spotify_id", "name", "uri", "spotify_url", "images", "image_url", "genres",
            "popularity", "followers", "details_fetched_at", "created_at", "updated_at",
        ],
        artist_rows,
    )  # fmt: skip

    first_snapshot = _reserve_ids(Snapshot, days)
    first_release = _reserve_ids(Release, days * releases_per_day)
    snapshot_rows: list[tuple[Any, ...]] = []
    release_rows: list[tuple[Any, ...]] = []
    credit_rows: list[tuple[int, int, int]] = []
    entry_rows: list[tuple[int, int, int]] = []
    track_rows: list[tuple[Any, ...]] = []
    run_rows: list[tuple[Any, ...]] = []
    for day_index in range(days):
        day = today - timedelta(days=day_index)
        fetched_at = now if day_index == 0 else timezone.make_aware(datetime.combine(day, time(6)))
        snapshot_id = first_snapshot + day_index
        credited: set[int] = set()
        for rank in range(1, releases_per_day + 1):
            number = len(release_rows)
            release_id = first_release + number
            key = f"benchr{number:016d}"
            released = day - timedelta(days=rng.randint(0, 14))
            total_tracks = rng.randint(2, 12)
            images = _images("r", str(number))
            release_rows.append(
                (
                    release_id, key, _name(rng, rng.randint(1, 3)),
                    rng.choices(["album", "single", "compilation"], [4, 5, 1])[0], total_tracks,
                    json.dumps(images), best_image(images) or "",
                    f"https://open.spotify.com/album/{key}", f"spotify:album:{key}",
                    released.isoformat(), Release.Precision.DAY, released,
                    rng.choice([None, "Bench Records"]), fetched_at, fetched_at, fetched_at,
                    fetched_at,
                )
            )  # fmt: skip
            entry_rows.append((snapshot_id, release_id, rank))
            for position, artist_id in enumerate(rng.sample(artist_ids, rng.choice([1, 1, 1, 2]))):
                credit_rows.append((release_id, artist_id, position))
                credited.add(artist_id)
            for track_number in range(1, total_tracks + 1):
                track_rows.append(
                    (
                        f"{key[6:]}t{track_number:05d}",
                        release_id, f"Track {track_number}", track_number, 1, 180_000, False, "[]",
                    )
                )  # fmt: skip
        snapshot_rows.append(
            (
                snapshot_id, day, "", fetched_at, Snapshot.Source.NEW_RELEASES, releases_per_day,
                len(credited),
            )
        )  # fmt: skip
        run_rows.append(
            (
                SyncRun.Trigger.SCHEDULE, SyncRun.Status.SUCCEEDED, fetched_at, fetched_at,
                snapshot_id, releases_per_day, len(credited), releases_per_day, 0, len(credited),
                0, 0, "", "[]",
            )
        )  # fmt: skip
    _copy(
        Snapshot,
        ["id", "date", "market", "fetched_at", "source", "release_count", "artist_count"],
        snapshot_rows,
    )
    _copy(
        Release,
        [
            "id", "spotify_id", "name", "album_type", "total_tracks", "images", "image_url",
            "spotify_url", "uri", "release_date", "release_date_precision", "release_date_sort",
            "label", "first_seen_at", "tracks_fetched_at", "created_at", "updated_at",
        ],
        release_rows,
    )  # fmt: skip
    _copy(
        ReleaseArtist,
        ["id", "release_id", "artist_id", "position"],
        _numbered(ReleaseArtist, credit_rows),
    )
    _copy(
        SnapshotEntry,
        ["id", "snapshot_id", "release_id", "rank"],
        _numbered(SnapshotEntry, entry_rows),
    )
    _copy(
        Track,
        [
            "id", "spotify_id", "release_id", "name", "track_number", "disc_number",
            "duration_ms", "explicit", "artists",
        ],
        _numbered(Track, track_rows),
    )  # fmt: skip
    _copy(
        SyncRun,
        [
            "id", "trigger", "status", "started_at", "finished_at", "snapshot_id",
            "release_count", "artist_count", "new_release_count", "updated_release_count",
            "new_artist_count", "updated_artist_count", "spotify_calls", "error", "warnings",
        ],
        _numbered(SyncRun, run_rows),
    )  # fmt: skip
    return {
        "artists": artists,
        "releases": len(release_rows),
        "credits": len(credit_rows),
        "tracks": len(track_rows),
        "snapshots": len(snapshot_rows),
    }

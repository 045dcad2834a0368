"""A realistic bench database: today's 100-release snapshot plus 30 days of history, about
3,100 releases and 2,500 artists, written with bulk_create. Deterministic (fixed seed)."""

import random
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from catalog.models import Artist, Release, ReleaseArtist, Snapshot, SnapshotEntry, Track
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


def _images(rng: random.Random, kind: str, key: str) -> list[dict[str, object]]:
    return [
        {"url": f"https://i.scdn.co/image/{kind}{key}{size}", "width": size, "height": size}
        for size in (640, 300, 64)
    ]


@transaction.atomic
def seed(*, seed_value: int = 2026) -> dict[str, int]:
    rng = random.Random(seed_value)
    now = timezone.now()
    artists = Artist.objects.bulk_create(
        Artist(
            spotify_id=f"bencha{index:016d}",
            name=_name(rng, rng.randint(1, 2)),
            uri=f"spotify:artist:bencha{index:016d}",
            spotify_url=f"https://open.spotify.com/artist/bencha{index:016d}",
            images=(images := _images(rng, "a", str(index))),
            image_url=best_image(images) or "",
            genres=rng.sample(GENRES, rng.randint(0, 3)),
            popularity=rng.choice([None, rng.randint(0, 100)]),
            followers=rng.choice([None, rng.randint(0, 5_000_000)]),
            details_fetched_at=now,
        )
        for index in range(ARTISTS)
    )
    today = timezone.localdate()
    releases: list[Release] = []
    credits: list[tuple[Release, Artist, int]] = []
    entries: list[tuple[Snapshot, Release, int]] = []
    tracks: list[Track] = []
    snapshots: list[Snapshot] = []
    for day_index in range(DAYS):
        day = today - timedelta(days=day_index)
        fetched_at = timezone.make_aware(datetime.combine(day, time(6, 0)))
        snapshot = Snapshot(
            date=day,
            fetched_at=now if day_index == 0 else fetched_at,
            source=Snapshot.Source.NEW_RELEASES,
            release_count=RELEASES_PER_DAY,
        )
        snapshots.append(snapshot)
        for rank in range(1, RELEASES_PER_DAY + 1):
            number = len(releases)
            released = day - timedelta(days=rng.randint(0, 14))
            album_type = rng.choices(["album", "single", "compilation"], [4, 5, 1])[0]
            release = Release(
                spotify_id=f"benchr{number:016d}",
                name=_name(rng, rng.randint(1, 3)),
                album_type=album_type,
                total_tracks=rng.randint(2, 12),
                images=(images := _images(rng, "r", str(number))),
                image_url=best_image(images) or "",
                spotify_url=f"https://open.spotify.com/album/benchr{number:016d}",
                uri=f"spotify:album:benchr{number:016d}",
                release_date=released.isoformat(),
                release_date_sort=released,
                label=rng.choice([None, "Bench Records"]),
                first_seen_at=fetched_at,
                tracks_fetched_at=fetched_at,
            )
            releases.append(release)
            entries.append((snapshot, release, rank))
            for position, artist in enumerate(rng.sample(artists, rng.choice([1, 1, 1, 2]))):
                credits.append((release, artist, position))
    Snapshot.objects.bulk_create(snapshots)
    Release.objects.bulk_create(releases, batch_size=1000)
    ReleaseArtist.objects.bulk_create(
        (ReleaseArtist(release=r, artist=a, position=p) for r, a, p in credits), batch_size=2000
    )
    SnapshotEntry.objects.bulk_create(
        (SnapshotEntry(snapshot=s, release=r, rank=k) for s, r, k in entries), batch_size=2000
    )
    for release in releases:
        for number in range(1, (release.total_tracks or 1) + 1):
            tracks.append(
                Track(
                    spotify_id=f"{release.spotify_id[6:]}t{number:05d}",
                    release=release,
                    name=f"Track {number}",
                    track_number=number,
                    duration_ms=180_000,
                )
            )
    Track.objects.bulk_create(tracks, batch_size=5000)
    for snapshot in snapshots:
        snapshot.artist_count = (
            Artist.objects.filter(credits__release__entries__snapshot=snapshot).distinct().count()
        )
    Snapshot.objects.bulk_update(snapshots, ["artist_count"])
    return {
        "artists": ARTISTS,
        "releases": len(releases),
        "credits": len(credits),
        "tracks": len(tracks),
        "snapshots": len(snapshots),
    }

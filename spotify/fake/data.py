"""The fake's catalogue: the 20 recorded new releases plus deterministic generated ones.

Generated release *i* and artist *j* depend only on their index (and the anchor date), never on
`release_count`, so a 100-release fake is a prefix of a 10,000-release one. Release dates are
relative to the anchor date (today by default) so a demo always looks current.
"""

import hashlib
import json
import random
import threading
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

DATA_DIR = Path(__file__).resolve().parent / "data"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
VARIOUS_ARTISTS_ID = "0LyfQWJT6nXafLPZqxe9Of"
# Generated release index (0-based among generated ones) that is always the Various Artists
# compilation, so every dataset of 30+ releases has one.
VARIOUS_ARTISTS_RELEASE = 3
NEW_RELEASE_WINDOW_DAYS = 14
# Generated covers (static/demo/covers/00.svg ... 23.svg, made by scripts/demo_covers.py).
COVER_COUNT = 24
RELEASES_PER_ARTIST = 1.2


class Image(NamedTuple):
    url: str
    height: int | None
    width: int | None


@dataclass(frozen=True, slots=True)
class Artist:
    id: str
    name: str
    genres: tuple[str, ...]
    followers: int
    popularity: int
    images: tuple[Image, ...]


@dataclass(frozen=True, slots=True)
class Track:
    id: str
    name: str
    track_number: int
    duration_ms: int
    explicit: bool
    artist_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Release:
    index: int
    id: str
    name: str
    album_type: str
    released: date
    precision: str
    total_tracks: int
    # Some listing payloads lack `total_tracks`; the fake omits it from simplified objects.
    lists_total_tracks: bool
    artist_ids: tuple[str, ...]
    images: tuple[Image, ...]
    label: str
    popularity: int
    upc: str
    # None means worldwide; otherwise the only markets it is available in.
    markets: tuple[str, ...] | None
    track_names: tuple[str, ...] | None = None

    @property
    def release_date(self) -> str:
        if self.precision == "year":
            return f"{self.released.year:04d}"
        if self.precision == "month":
            return f"{self.released.year:04d}-{self.released.month:02d}"
        return self.released.isoformat()


def base62_id(key: str) -> str:
    """A stable 22-character base62 id derived from `key`."""
    number = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=17).digest(), "big")
    chars = []
    for _ in range(22):
        number, digit = divmod(number, 62)
        chars.append(BASE62[digit])
    return "".join(chars)


def _rng(key: str) -> random.Random:
    # Seeded for reproducible fake data; nothing here is security-sensitive.
    return random.Random(key)  # noqa: S311


@cache
def _load(name: str) -> Any:
    with (DATA_DIR / name).open(encoding="utf-8") as handle:
        return json.load(handle)


def recorded() -> dict[str, Any]:
    data: dict[str, Any] = _load("recorded.json")
    return data


def vocabulary() -> dict[str, list[str]]:
    data: dict[str, list[str]] = _load("vocabulary.json")
    return data


def _images(raw: list[dict[str, Any]]) -> tuple[Image, ...]:
    return tuple(Image(i["url"], i.get("height"), i.get("width")) for i in raw)


def market_list() -> list[str]:
    markets: list[str] = recorded()["markets"]
    return markets


class Dataset:
    """An immutable catalogue; tracks are generated on first request per album."""

    def __init__(self, releases: list[Release], artists: dict[str, Artist], anchor: date) -> None:
        self.anchor = anchor
        # Newest first, the order of both /browse/new-releases and search results.
        self.releases = sorted(releases, key=lambda r: (-r.released.toordinal(), r.index))
        self.artists = artists
        self._by_id = {r.id: r for r in releases}
        self._tracks: dict[str, tuple[Track, ...]] = {}
        self._by_country: dict[str, list[Release]] = {}
        self._lock = threading.Lock()
        self._track_artist_pool = [a for a in artists if a != VARIOUS_ARTISTS_ID]

    def release(self, release_id: str) -> Release | None:
        return self._by_id.get(release_id)

    def releases_for(self, country: str | None) -> list[Release]:
        if country is None:
            return self.releases
        with self._lock:
            cached = self._by_country.get(country)
            if cached is None:
                cached = [r for r in self.releases if r.markets is None or country in r.markets]
                self._by_country[country] = cached
            return cached

    def followed_artists(self, user: str, count: int) -> list[Artist]:
        """The artists a fake account follows: a pick that depends only on the account (and the
        dataset), in the order Spotify lists follows."""
        pool = sorted(a for a in self.artists if a != VARIOUS_ARTISTS_ID)
        picked = _rng(f"follows-{user}").sample(pool, min(count, len(pool)))
        return [self.artists[artist_id] for artist_id in sorted(picked)]

    def artist_releases(self, artist_id: str) -> list[Release]:
        """The releases crediting the artist, newest first."""
        return [r for r in self.releases if artist_id in r.artist_ids]

    def tracks(self, release: Release) -> tuple[Track, ...]:
        with self._lock:
            cached = self._tracks.get(release.id)
            if cached is None:
                cached = _generate_tracks(release, self._track_artist_pool)
                self._tracks[release.id] = cached
            return cached


def _recorded_artist(raw: dict[str, Any]) -> Artist:
    return Artist(
        id=raw["id"],
        name=raw["name"],
        genres=tuple(raw["genres"]),
        followers=raw["followers"],
        popularity=raw["popularity"],
        images=_images(raw["images"]),
    )


def _invented_artist_stats(
    key: str, artist_id: str, name: str, images: tuple[Image, ...]
) -> Artist:
    rng = _rng(key)
    genres_pool = vocabulary()["genres"]
    # Every sixth artist has no genres, like many real (and all post-Feb-2026) artists.
    genre_count = 0 if rng.random() < 1 / 6 else rng.randint(1, 3)
    return Artist(
        id=artist_id,
        name=name,
        genres=tuple(rng.sample(genres_pool, genre_count)),
        followers=int(rng.lognormvariate(10, 2.2)),
        popularity=rng.randint(5, 90),
        images=images,
    )


def _covers() -> list[tuple[Image, ...]]:
    data = recorded()
    covers = [_images(r["images"]) for r in data["new_releases"]]
    covers.append(_images(data["album"]["images"]))
    return covers


def _generated_artist(index: int, covers: list[tuple[Image, ...]]) -> Artist:
    words = vocabulary()
    first, second = words["artist_first"], words["artist_second"]
    # The stride 2 keeps (first, second) pairs unique for index < len(first) * len(second).
    second_index = (index * 2 + index // len(first)) % len(second)
    name = f"{first[index % len(first)]} {second[second_index]}"
    if index >= len(first) * len(second):
        name = f"{name} {index // (len(first) * len(second)) + 1}"
    # Every eighth artist has no picture.
    images = () if index % 8 == 3 else covers[(index * 7) % len(covers)]
    return _invented_artist_stats(f"artist:{index}", base62_id(f"artist:{index}"), name, images)


def _various_artists() -> Artist:
    return Artist(
        id=VARIOUS_ARTISTS_ID,
        name="Various Artists",
        genres=(),
        followers=3_123_456,
        popularity=0,
        images=(),
    )


def _recorded_releases(anchor: date) -> tuple[list[Release], dict[str, Artist]]:
    data = recorded()
    raw_releases: list[dict[str, Any]] = data["new_releases"]
    newest = max(date.fromisoformat(r["release_date"]) for r in raw_releases)
    labels = vocabulary()["labels"]
    releases: list[Release] = []
    artists: dict[str, Artist] = {}
    for index, raw in enumerate(raw_releases):
        rng = _rng(f"recorded:{raw['id']}")
        age = newest - date.fromisoformat(raw["release_date"])
        images = _images(raw["images"])
        for credited in raw["artists"]:
            artists[credited["id"]] = _invented_artist_stats(
                f"recorded-artist:{credited['id']}", credited["id"], credited["name"], images
            )
        releases.append(
            Release(
                index=index,
                id=raw["id"],
                name=raw["name"],
                album_type=raw["album_type"],
                released=anchor - age,
                precision="day",
                total_tracks=raw["total_tracks"],
                lists_total_tracks=True,
                artist_ids=tuple(a["id"] for a in raw["artists"]),
                images=images,
                label=rng.choice(labels),
                popularity=rng.randint(20, 95),
                upc=f"{rng.randrange(10**11, 10**12)}",
                markets=None,
            )
        )
    return releases, artists


def _recorded_album(anchor: date, index: int) -> tuple[Release, dict[str, Artist]]:
    raw = recorded()["album"]
    images = _images(raw["images"])
    artists = {
        a["id"]: _invented_artist_stats(f"recorded-artist:{a['id']}", a["id"], a["name"], images)
        for a in raw["artists"]
    }
    release = Release(
        index=index,
        id=raw["id"],
        name=raw["name"],
        album_type=raw["album_type"],
        released=anchor - timedelta(days=2),
        precision="day",
        total_tracks=raw["total_tracks"],
        lists_total_tracks=True,
        artist_ids=tuple(artists),
        images=images,
        label=raw["label"],
        popularity=20,
        upc=raw["upc"],
        markets=None,
        track_names=tuple(raw["track_names"]),
    )
    return release, artists


def _artist_pool(size: int, covers: list[tuple[Image, ...]]) -> list[Artist]:
    """Recorded full artists and recorded featured artists first, then invented ones."""
    data = recorded()
    pool = [_recorded_artist(raw) for raw in data["full_artists"]]
    seen = {a.id for a in pool}
    for raw in data["featured_artists"]:
        if raw["id"] not in seen:
            seen.add(raw["id"])
            pool.append(_invented_artist_stats(f"featured:{raw['id']}", raw["id"], raw["name"], ()))
    pool = pool[:size]
    pool.extend(_generated_artist(j, covers) for j in range(max(0, size - len(pool))))
    return pool


def _album_type(rng: random.Random, generated_index: int) -> str:
    if generated_index == VARIOUS_ARTISTS_RELEASE:
        return "compilation"
    roll = rng.random()
    if roll < 0.55:
        return "album"
    if roll < 0.92:
        return "single"
    return "compilation"


def _release_name(rng: random.Random, album_type: str) -> str:
    words = vocabulary()
    if album_type == "compilation":
        return rng.choice(words["compilation_names"])
    if rng.random() < 0.35:
        name = f"{rng.choice(words['album_words'])} {rng.choice(words['album_words'])}"
    else:
        name = rng.choice(words["album_words"])
    return name + (rng.choice(words["album_suffixes"]) if album_type == "album" else "")


def _track_count(rng: random.Random, album_type: str) -> int:
    if album_type == "single":
        return rng.randint(2, 4)
    if album_type == "compilation":
        return rng.randint(8, 12)
    return rng.randint(5, 12)


def _precision(generated_index: int) -> str:
    if generated_index % 20 == 13:
        return "year"
    if generated_index % 10 == 7:
        return "month"
    return "day"


def _generated_release(
    index: int,
    generated_index: int,
    anchor: date,
    pool: list[Artist],
    covers: list[tuple[Image, ...]],
) -> Release:
    rng = _rng(f"release:{generated_index}")
    album_type = _album_type(rng, generated_index)
    # Each pool artist gets at least one release before any is reused.
    primary = pool[generated_index] if generated_index < len(pool) else rng.choice(pool)
    credited = [primary.id]
    if generated_index == VARIOUS_ARTISTS_RELEASE:
        credited = [VARIOUS_ARTISTS_ID]
    elif generated_index % 9 == 2 or generated_index % 25 == 11:
        extra = 2 if generated_index % 25 == 11 else 1
        for other in rng.sample(pool, min(len(pool), extra + 1)):
            if other.id not in credited and len(credited) <= extra:
                credited.append(other.id)
    images = () if generated_index % 17 == 5 else covers[generated_index % len(covers)]
    markets = ("JP", "KR", "TW") if generated_index % 31 == 7 else None
    return Release(
        index=index,
        id=base62_id(f"release:{generated_index}"),
        name=_release_name(rng, album_type),
        album_type=album_type,
        released=anchor - timedelta(days=rng.randrange(NEW_RELEASE_WINDOW_DAYS)),
        precision=_precision(generated_index),
        total_tracks=_track_count(rng, album_type),
        lists_total_tracks=generated_index % 13 != 4,
        artist_ids=tuple(credited),
        images=images,
        label=rng.choice(vocabulary()["labels"]),
        popularity=rng.randint(0, 80),
        upc=f"{rng.randrange(10**11, 10**12)}",
        markets=markets,
    )


def _generate_tracks(release: Release, pool_ids: list[str]) -> tuple[Track, ...]:
    rng = _rng(f"tracks:{release.id}")
    words = vocabulary()["track_words"]
    names = release.track_names or ()
    tracks = []
    for number in range(1, release.total_tracks + 1):
        if number <= len(names):
            name = names[number - 1]
        elif rng.random() < 0.3:
            name = f"{rng.choice(words)} {rng.choice(words)}"
        else:
            name = rng.choice(words)
        artist_ids = release.artist_ids
        # Compilation tracks are by individual artists, not by "Various Artists".
        if release.album_type == "compilation" and pool_ids:
            artist_ids = (rng.choice(pool_ids),)
        tracks.append(
            Track(
                id=base62_id(f"track:{release.id}:{number}"),
                name=name,
                track_number=number,
                duration_ms=rng.randint(95_000, 380_000),
                explicit=rng.random() < 0.15,
                artist_ids=artist_ids,
            )
        )
    return tuple(tracks)


def build_dataset(
    release_count: int, anchor: date, *, extra: int = 0, cover_base_url: str | None = None
) -> Dataset:
    """Build `release_count` releases: recorded ones first, then generated ones, then `extra`
    more generated ones (the artist pool stays the one `release_count` calls for, so the
    releases of a smaller `extra` never change). With `cover_base_url`, every picture is one of
    the generated covers served there."""
    covers = _covers()
    releases, artists = _recorded_releases(anchor)
    album, album_artists = _recorded_album(anchor, len(releases))
    releases.append(album)
    artists.update(album_artists)
    releases = releases[:release_count]
    artists = {a: artists[a] for r in releases for a in r.artist_ids}

    generated = max(0, release_count - len(releases)) + extra
    target_artists = max(1, round(release_count / RELEASES_PER_ARTIST))
    pool = _artist_pool(max(1, target_artists - len(artists) - 1), covers)
    base = len(releases)
    for g in range(generated):
        releases.append(_generated_release(base + g, g, anchor, pool, covers))
    used = {a for r in releases for a in r.artist_ids}
    for artist in pool:
        if artist.id in used:
            artists[artist.id] = artist
    if VARIOUS_ARTISTS_ID in used:
        artists[VARIOUS_ARTISTS_ID] = _various_artists()
    if cover_base_url is not None:
        releases = [replace(r, images=_cover(r.id, r.images, cover_base_url)) for r in releases]
        artists = {
            key: replace(a, images=_cover(a.id, a.images, cover_base_url))
            for key, a in artists.items()
        }
    return Dataset(releases, artists, anchor)


def _cover(key: str, images: tuple[Image, ...], base_url: str) -> tuple[Image, ...]:
    """One generated cover, picked by id; what had no picture still has none."""
    if not images:
        return ()
    number = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big")
    return (Image(f"{base_url}{number % COVER_COUNT:02d}.svg", 640, 640),)


def growth_releases(anchor: date, run: int) -> int:
    """How many releases the demo's `run`-th listing of day `anchor` adds: 1 to 5."""
    return 1 + _rng(f"growth:{anchor.isoformat()}:{run}").randrange(5)


@lru_cache(maxsize=4)
def get_dataset(
    release_count: int, anchor: date, *, extra: int = 0, cover_base_url: str | None = None
) -> Dataset:
    """Shared across FakeSpotify instances: datasets are immutable apart from the track cache."""
    return build_dataset(release_count, anchor, extra=extra, cover_base_url=cover_base_url)

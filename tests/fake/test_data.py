"""The bundled dataset: realistic variety, stable ids, dates relative to today, cheap scaling."""

import json
import re
import time
from collections import Counter
from datetime import date, timedelta

import pytest

from spotify.fake.data import (
    DATA_DIR,
    VARIOUS_ARTISTS_ID,
    Dataset,
    build_dataset,
    recorded,
)

BASE62_ID = re.compile(r"[0-9A-Za-z]{22}")
TODAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return build_dataset(100, TODAY)


def test_about_100_releases_with_unique_base62_ids(dataset):
    ids = [r.id for r in dataset.releases]

    assert len(ids) == 100
    assert len(set(ids)) == 100
    assert all(BASE62_ID.fullmatch(i) for i in ids)
    assert all(BASE62_ID.fullmatch(a) for a in dataset.artists)


def test_track_ids_are_unique_base62(dataset):
    ids = [t.id for r in dataset.releases for t in dataset.tracks(r)]

    assert len(ids) == len(set(ids))
    assert all(BASE62_ID.fullmatch(i) for i in ids)


def test_recorded_releases_keep_names_covers_and_artists(dataset):
    for raw in recorded()["new_releases"]:
        release = dataset.release(raw["id"])
        assert release is not None
        assert release.name == raw["name"]
        assert release.images[0].url == raw["images"][0]["url"]
        assert [dataset.artists[a].name for a in release.artist_ids] == [
            a["name"] for a in raw["artists"]
        ]


def test_release_dates_are_within_the_last_two_weeks(dataset):
    for release in dataset.releases:
        assert TODAY - timedelta(days=14) < release.released <= TODAY


def test_release_date_precisions(dataset):
    by_precision = Counter(r.precision for r in dataset.releases)

    assert set(by_precision) == {"day", "month", "year"}
    for release in dataset.releases:
        pattern = {"day": r"\d{4}-\d{2}-\d{2}", "month": r"\d{4}-\d{2}", "year": r"\d{4}"}
        assert re.fullmatch(pattern[release.precision], release.release_date)


def test_unicode_names(dataset):
    artist_names = [a.name for a in dataset.artists.values()]
    scripts = {
        "latin accents": re.compile(r"[À-ɏ]"),
        "cyrillic": re.compile(r"[Ѐ-ӿ]"),
        "japanese": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"),
    }

    for name, pattern in scripts.items():
        assert any(pattern.search(n) for n in artist_names), name
    assert any(not r.name.isascii() for r in dataset.releases)


def test_variety_of_releases(dataset):
    types = Counter(r.album_type for r in dataset.releases)
    artist_counts = Counter(len(r.artist_ids) for r in dataset.releases)

    assert {"album", "single", "compilation"} <= set(types)
    assert 1 <= sum(1 for r in dataset.releases if not r.images) <= 15
    assert artist_counts[2] >= 3
    assert artist_counts[3] >= 1
    assert max(artist_counts) == 3
    assert sum(1 for r in dataset.releases if not r.lists_total_tracks) >= 3


def test_various_artists_compilation(dataset):
    various = [r for r in dataset.releases if VARIOUS_ARTISTS_ID in r.artist_ids]

    assert any(r.album_type == "compilation" for r in various)
    assert dataset.artists[VARIOUS_ARTISTS_ID].name == "Various Artists"
    tracks = dataset.tracks(various[0])
    assert all(VARIOUS_ARTISTS_ID not in t.artist_ids for t in tracks)
    assert all(a in dataset.artists for t in tracks for a in t.artist_ids)


def test_artists_are_full_and_some_lack_genres(dataset):
    artists = list(dataset.artists.values())

    assert any(not a.genres for a in artists)
    assert sum(1 for a in artists if a.genres) > len(artists) / 2
    assert all(0 <= a.popularity <= 100 and a.followers >= 0 for a in artists)
    assert sum(1 for a in artists if a.images) > len(artists) / 2


def test_about_one_artist_per_1_2_releases(dataset):
    ratio = len(dataset.releases) / len(dataset.artists)

    assert 1.1 <= ratio <= 1.3


def test_generated_albums_have_2_to_12_tracks(dataset):
    recorded_ids = {r["id"] for r in recorded()["new_releases"]} | {recorded()["album"]["id"]}
    for release in dataset.releases:
        tracks = dataset.tracks(release)
        assert len(tracks) == release.total_tracks
        assert [t.track_number for t in tracks] == list(range(1, len(tracks) + 1))
        if release.id not in recorded_ids:
            assert 2 <= len(tracks) <= 12


def test_dataset_is_deterministic_and_a_prefix_of_larger_ones(dataset):
    again = build_dataset(100, TODAY)
    larger = build_dataset(1000, TODAY)

    assert [r.id for r in again.releases] == [r.id for r in dataset.releases]
    assert {r.id for r in dataset.releases} <= {r.id for r in larger.releases}
    assert [t.name for t in again.tracks(again.releases[5])] == [
        t.name for t in dataset.tracks(dataset.releases[5])
    ]


def test_newest_first_ordering(dataset):
    dates = [r.released for r in dataset.releases]

    assert dates == sorted(dates, reverse=True)


def test_ten_thousand_releases_build_quickly():
    started = time.perf_counter()
    big = build_dataset(10_000, TODAY)
    elapsed = time.perf_counter() - started

    assert len(big.releases) == 10_000
    assert len({r.id for r in big.releases}) == 10_000
    assert 1.1 <= len(big.releases) / len(big.artists) <= 1.3
    assert elapsed < 2.0


def test_bundled_data_files_are_small_json():
    for path in DATA_DIR.glob("*.json"):
        assert path.stat().st_size < 50_000, path.name
        json.loads(path.read_text(encoding="utf-8"))


def test_extra_releases_add_to_the_catalogue_without_changing_what_was_there():
    base = build_dataset(100, TODAY)
    grown = build_dataset(100, TODAY, extra=7)

    assert len(grown.releases) == 107
    before = {release.id: release for release in base.releases}
    kept = [release for release in grown.releases if release.id in before]
    assert all(release == before[release.id] for release in kept)
    assert len(kept) == 100
    assert set(base.artists).issubset(grown.artists)


def test_cover_base_url_replaces_every_picture_with_a_generated_cover():
    grown = build_dataset(100, TODAY, cover_base_url="/static/demo/covers/")
    plain = build_dataset(100, TODAY)

    urls = {image.url for release in grown.releases for image in release.images}
    urls |= {image.url for artist in grown.artists.values() for image in artist.images}
    assert urls
    assert all(url.startswith("/static/demo/covers/") and url.endswith(".svg") for url in urls)
    assert [bool(r.images) for r in grown.releases] == [bool(r.images) for r in plain.releases]

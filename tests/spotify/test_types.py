from datetime import date

import pytest

from spotify.types import Album, Artist, FullAlbum, parse_release_date
from tests.conftest import load_fixture


def test_recorded_new_release_parses_with_its_artists():
    item = load_fixture("new_releases.json")["albums"]["items"][0]
    album = Album.model_validate(item)
    assert album.id == "5SGtrmYbIo0Dsg4kJ4qjM6"
    assert album.name == "Moon Music"
    assert [artist.name for artist in album.artists] == ["Coldplay"]
    assert album.spotify_url == "https://open.spotify.com/album/5SGtrmYbIo0Dsg4kJ4qjM6"
    assert album.release_date_sortable == date(2024, 10, 4)


def test_album_missing_what_2026_spotify_omits_still_parses():
    album = Album.model_validate(
        {"id": "x", "name": "Bare", "release_date": "2026", "release_date_precision": "year"}
    )
    assert album.images == []
    assert album.total_tracks is None
    assert album.artists == []
    assert album.release_date_sortable == date(2026, 1, 1)


def test_full_artist_followers_are_unnested():
    artist = Artist.model_validate(load_fixture("artist.json"))
    assert artist.followers == load_fixture("artist.json")["followers"]["total"]
    assert artist.popularity is not None


def test_artist_without_followers_popularity_or_genres_keeps_them_unknown():
    data = load_fixture("artist_post_feb2026.json")
    for key in ("followers", "popularity", "genres", "images"):
        data.pop(key, None)
    artist = Artist.model_validate(data)
    assert artist.followers is None
    assert artist.popularity is None
    assert artist.genres == []


def test_post_feb2026_album_parses_without_label_or_popularity():
    data = load_fixture("get_album_post_feb2026.json")
    data.pop("label", None)
    data.pop("popularity", None)
    album = FullAlbum.model_validate(data)
    assert album.label is None
    assert album.popularity is None
    assert len(album.tracks.items) == album.total_tracks


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-11-28", date(2026, 11, 28)),
        ("2026-11", date(2026, 11, 1)),
        ("2026", date(2026, 1, 1)),
        ("0000", None),
        ("", None),
        ("2026-02-30", None),
    ],
)
def test_release_date_is_the_first_day_of_its_period(raw, expected):
    assert parse_release_date(raw) == expected

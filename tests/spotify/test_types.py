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


# --- untrusted URLs: only Spotify's own, on https --------------------------------------------

UNSAFE_LINKS = [
    "javascript:alert(document.cookie)",
    "JavaScript:alert(1)",
    "http://open.spotify.com/album/x",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "https://evil.example/album/x",
    "https://open.spotify.com.evil.example/album/x",
    "https://open.spotify.com@evil.example/album/x",
    "https://evil.example\\@open.spotify.com/album/x",
    "https://open.spotify.com:8443/album/x",
    "//open.spotify.com/album/x",
    "https://open.spotify.com/album/x\njavascript:alert(1)",
    "https://open.spotify.com/" + "x" * 300,
]


@pytest.mark.parametrize("link", UNSAFE_LINKS)
def test_an_unsafe_spotify_link_is_kept_as_no_link(link):
    item = load_fixture("new_releases.json")["albums"]["items"][0]
    item = item | {"external_urls": {"spotify": link}}
    item["artists"] = [item["artists"][0] | {"external_urls": {"spotify": link}}]

    album = Album.model_validate(item)

    assert album.spotify_url == ""
    assert album.artists[0].spotify_url == ""
    assert Artist.model_validate(load_fixture("artist.json") | item["artists"][0]).spotify_url == ""


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "http://i.scdn.co/image/ab67616d0000b273",
        "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=",
        "https://evil.example/image.png",
        "https://i.scdn.co.evil.example/image/x",
        "https://scdn.co@evil.example/image/x",
        "https://evilscdn.co/image/x",
    ],
)
def test_images_not_on_spotifys_https_image_hosts_are_dropped(url):
    good = {"url": "https://i.scdn.co/image/ab67616d0000b273", "width": 640, "height": 640}
    item = load_fixture("new_releases.json")["albums"]["items"][0]

    album = Album.model_validate(item | {"images": [{"url": url, "width": 300}, good]})
    artist = Artist.model_validate(load_fixture("artist.json") | {"images": [{"url": url}]})

    assert [image.url for image in album.images] == [good["url"]]
    assert artist.images == []


@pytest.mark.parametrize(
    "url",
    [
        "https://i.scdn.co/image/ab67616d0000b2736ff6ec6ab6ae4c1b1be9a3e9",
        "https://mosaic.scdn.co/640/ab67616d0000b273",
        "https://image-cdn-ak.spotifycdn.com/image/ab67706c0000da84",
        "https://image-cdn-fa.spotifycdn.com/image/ab67706c0000da84",
    ],
)
def test_spotifys_own_image_hosts_are_kept(url):
    artist = Artist.model_validate(load_fixture("artist.json") | {"images": [{"url": url}]})

    assert [image.url for image in artist.images] == [url]


def test_recorded_links_and_images_are_all_kept():
    for item in load_fixture("new_releases.json")["albums"]["items"]:
        album = Album.model_validate(item)
        assert album.spotify_url == item["external_urls"]["spotify"]
        assert len(album.images) == len(item["images"])

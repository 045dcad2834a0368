"""Demo mode end to end: no client id -> the bundled fake Spotify, in process, visibly so."""

from base64 import b64decode
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog.models import Release, Snapshot, SyncRun
from spotify.conf import DEMO_CLIENT_ID, spotify_settings
from spotify.fake.data import growth_releases
from spotify.models import DemoGrowth
from spotify.types import Album
from tests.conftest import API, artists_route, new_release_pages, release_items, token_route

pytestmark = pytest.mark.django_db

STATIC_DIR = Path(__file__).resolve().parents[2] / "static"


def test_sync_and_api_without_credentials_serve_the_demo(demo_mode, client, spotify_mock):
    # spotify_mock refuses any real network call: the fake must be answering in process.
    call_command("sync_releases")

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.release_count == 100
    body = client.get("/api/artists/", {"limit": 200}).json()
    assert body["snapshot"]["source"] == "demo"
    assert body["count"] == run.artist_count
    assert 50 <= body["count"] <= 100
    assert len(body["items"]) == body["count"]
    assert all(artist["releases"] for artist in body["items"])
    assert not spotify_mock.calls
    assert client.get("/api/health/").json()["spotify_mode"] == "demo"


def test_demo_is_never_used_when_a_client_id_is_set(settings, spotify_mock):
    settings.SPOTIFY_CLIENT_ID = "real-client-id"
    settings.SPOTIFY_CLIENT_SECRET = ""  # a half-configured app fails; it does not become a demo

    conf = spotify_settings()

    assert conf.demo is False
    assert conf.client_id == "real-client-id"
    assert conf.api_base_url == API


def test_with_credentials_the_sync_calls_the_configured_spotify(client, spotify_mock):
    token_route(spotify_mock)
    new_release_pages(spotify_mock, release_items(3))
    artists_route(spotify_mock)

    call_command("sync_releases")

    assert Snapshot.objects.get().source == Snapshot.Source.NEW_RELEASES
    assert spotify_mock.calls
    token_call = next(call for call in spotify_mock.calls if call.request.url.path == "/api/token")
    credentials = b64decode(token_call.request.headers["Authorization"].split()[1]).decode()
    assert credentials.split(":")[0] == "test-client-id" != DEMO_CLIENT_ID
    assert client.get("/api/artists/").json()["snapshot"]["source"] == "new-releases"


def test_each_demo_sync_brings_one_to_five_new_releases_deterministically(demo_mode, spotify_mock):
    runs = []
    for _ in range(4):
        call_command("sync_releases")
        runs.append(SyncRun.objects.latest())

    assert [run.status for run in runs] == [SyncRun.Status.SUCCEEDED] * 4
    assert runs[0].new_release_count == 100
    today = timezone.localdate()
    expected = [growth_releases(today, run) for run in (1, 2, 3)]
    assert [run.new_release_count for run in runs[1:]] == expected
    assert all(1 <= count <= 5 for count in expected)
    assert runs[-1].release_count == 100 + sum(expected)
    assert DemoGrowth.objects.get().listings == 4
    assert not spotify_mock.calls


def test_demo_covers_are_our_own_static_files(demo_mode, client, spotify_mock):
    call_command("sync_releases")

    images = [url for url in Release.objects.values_list("image_url", flat=True) if url]
    assert len(images) > 80
    assert all(url.startswith("/static/demo/covers/") for url in images)
    for url in set(images):
        assert (STATIC_DIR / url.removeprefix("/static/")).is_file()
    page = client.get("/").content.decode()
    assert 'src="/static/demo/covers/' in page
    assert "scdn.co/image" not in page


def test_covers_on_our_own_path_are_refused_outside_demo_mode(spotify_mock):
    album = Album.model_validate(
        release_items(1)[0] | {"images": [{"url": "/static/demo/covers/01.svg"}]}
    )
    assert album.images == []

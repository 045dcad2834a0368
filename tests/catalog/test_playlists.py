"""The playlist that keeps itself, against the fake Spotify over HTTP: created once, rewritten
only when its tracks change, recreated once when deleted, and a revoked scope handled."""

import pytest
from django.contrib.auth import get_user_model

from catalog.models import PlaylistLink, Track
from catalog.playlist_selectors import playlist_track_uris
from catalog.playlists import (
    RECREATED_NOTICE,
    SCOPE_REFUSED_NOTICE,
    STOPPED_NOTICE,
    playlist_enable,
)
from spotify.client import user_client
from spotify.models import UserConnection
from tests.catalog import following_support
from tests.catalog.following_support import connect, signed_in, sync
from tests.e2e.conftest import FakeServer

pytestmark = pytest.mark.django_db(transaction=True)

fake = following_support.fake

PLAYLIST_SCOPE = "playlist-modify-private"
WRITES = ("POST /v1/me/playlists", "PUT /v1/playlists/{id}/items", "POST /v1/playlists/{id}/items")


def _writes(fake: FakeServer) -> dict[str, int]:
    stats = fake.app.stats()
    return {name: stats.get(name, 0) for name in WRITES}


def _user_with_playlist(name: str = "alice") -> PlaylistLink:
    client = signed_in(name)
    connect(client, account="fakeuser2", scopes=(PLAYLIST_SCOPE,))
    user = get_user_model().objects.get(username=name)
    outcome = playlist_enable(user=user)
    assert not outcome.needs_consent
    return outcome.link


def _link() -> PlaylistLink:
    return PlaylistLink.objects.select_related("connection__user").get()


def _change_the_tracks(link: PlaylistLink) -> None:
    """One track fewer: what a sync finding another release does to the list."""
    first = playlist_track_uris(user=link.connection.user, days=link.days)[0]
    Track.objects.filter(spotify_id=first.removeprefix("spotify:track:")).delete()


def test_the_playlist_is_created_once_and_rewritten_only_when_its_tracks_change(
    fake: FakeServer,
):
    _user_with_playlist()

    sync()

    link = _link()
    wanted = playlist_track_uris(user=link.connection.user, days=14)
    assert wanted
    (playlist,) = fake.app.playlists()
    assert (playlist.id, playlist.public) == (link.spotify_id, False)
    assert playlist.name == "New from artists I follow"
    assert playlist.items == wanted
    assert link.track_count == len(wanted)
    assert _writes(fake)["POST /v1/me/playlists"] == 1
    written = _writes(fake)

    sync()
    assert _writes(fake) == written  # nothing changed: not rewritten

    _change_the_tracks(link)
    sync()
    (playlist,) = fake.app.playlists()
    assert playlist.items == wanted[1:]
    assert _writes(fake)["POST /v1/me/playlists"] == 1
    assert (
        _writes(fake)["PUT /v1/playlists/{id}/items"] == written["PUT /v1/playlists/{id}/items"] + 1
    )


def test_a_playlist_deleted_on_spotify_is_recreated_once_and_the_user_is_told(fake: FakeServer):
    _user_with_playlist()
    sync()
    first_id = _link().spotify_id
    fake.app.state.playlist_delete(first_id)

    _change_the_tracks(_link())
    sync()

    link = _link()
    (playlist,) = fake.app.playlists()
    assert link.spotify_id == playlist.id != first_id
    assert playlist.items == playlist_track_uris(user=link.connection.user, days=14)
    assert link.notice == RECREATED_NOTICE
    assert link.recreated_at is not None

    # Deleted again: the user means it. No third playlist, and no more calls for it.
    fake.app.state.playlist_delete(link.spotify_id)
    _change_the_tracks(link)
    sync()
    link = _link()
    assert fake.app.playlists() == []
    assert (link.active, link.notice) == (False, STOPPED_NOTICE)
    written = _writes(fake)
    _change_the_tracks(link)
    sync()
    assert _writes(fake) == written
    assert _writes(fake)["POST /v1/me/playlists"] == 2


def test_a_revoked_scope_asks_the_user_to_reconnect_and_is_not_retried(fake: FakeServer):
    _user_with_playlist()
    sync()
    fake.configure(revoked_scopes=[PLAYLIST_SCOPE])

    _change_the_tracks(_link())
    sync()

    connection = UserConnection.objects.get()
    assert connection.needs_reconnect
    assert connection.reconnect_reason == SCOPE_REFUSED_NOTICE
    assert _link().notice == SCOPE_REFUSED_NOTICE
    written = _writes(fake)
    _change_the_tracks(_link())
    sync()
    sync()
    assert _writes(fake) == written  # no retry loop


def test_no_playlist_call_before_the_user_allows_the_scope(fake: FakeServer):
    client = signed_in("bob")
    connect(client, account="fakeuser3")
    outcome = playlist_enable(user=get_user_model().objects.get(username="bob"))
    assert outcome.needs_consent

    sync()

    assert _writes(fake) == dict.fromkeys(WRITES, 0)
    assert _link().spotify_id == ""


def test_more_than_100_tracks_take_one_put_then_posts_of_100(fake: FakeServer):
    client = signed_in("carol")
    connect(client, account="fakeuser2", scopes=(PLAYLIST_SCOPE,))
    spotify = user_client(UserConnection.objects.get())
    playlist = spotify.playlist_create(name="Mine", description="")
    uris = [f"spotify:track:{n:022d}" for n in range(250)]

    spotify.playlist_items_replace(playlist.id, uris)

    (stored,) = fake.app.playlists()
    assert stored.items == uris
    writes = _writes(fake)
    assert writes["PUT /v1/playlists/{id}/items"] == 1
    assert writes["POST /v1/playlists/{id}/items"] == 2

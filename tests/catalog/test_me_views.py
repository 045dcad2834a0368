"""The signed-in user's pages: the Following view, the user's page and its POST actions (CSRF,
POST only, another user's data never shown), and the "You follow" marks' ids on the dashboard."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ

from catalog.access_tokens import personal_token_create
from catalog.models import (
    FeedToken,
    FollowedArtist,
    PersonalToken,
    PlaylistLink,
    Release,
    SyncRun,
)
from catalog.scheduling import PLAYLIST_TASK
from spotify.models import UserConnection
from tests.factories import ArtistFactory, ReleaseFactory, SyncRunFactory, credit, snapshot_with

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ACTIONS = [
    "/me/follows/refresh/",
    "/me/tokens/",
    "/me/tokens/revoke/",
    "/me/feed/",
    "/me/feed/revoke/",
    "/me/playlist/on/",
    "/me/playlist/update/",
    "/me/playlist/off/",
]


def _user(name: str, *, scope: str = "user-follow-read") -> tuple[Client, UserConnection]:
    user = get_user_model().objects.create_user(username=name, password="unused-password-1")
    connection = UserConnection.objects.create(
        user=user,
        account_id=f"spotify-{name}",
        display_name=f"{name} on Spotify",
        scope=scope,
        access_token="access",
        refresh_token="refresh",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    client = Client()
    client.force_login(user)
    return client, connection


def _followed_release(connection: UserConnection, name: str, *, days_ago: int = 2):
    artist = ArtistFactory.create(name=name)
    release = ReleaseFactory.create(
        name=f"{name} record", release_date_sort=timezone.localdate() - timedelta(days=days_ago)
    )
    credit(release, artist)
    FollowedArtist.objects.create(connection=connection, artist=artist)
    return artist, release


def _card_names(html: str) -> list[str]:
    return re.findall(r'class="artist-card__name"><a href="[^"]+">([^<]+)</a>', html)


def test_the_following_view_shows_only_the_signed_in_users_artists():
    alice, alice_connection = _user("alice")
    bob, bob_connection = _user("bob")
    _followed_release(alice_connection, "Alice Band")
    _followed_release(bob_connection, "Bob Band")
    _followed_release(alice_connection, "Too Old", days_ago=40)

    alice_page = alice.get("/following/").content.decode()
    bob_page = bob.get("/following/").content.decode()

    assert _card_names(alice_page) == ["Alice Band"]
    assert _card_names(bob_page) == ["Bob Band"]
    assert "Too Old" in _card_names(alice.get("/following/", {"days": 90}).content.decode())


def test_the_following_view_badges_what_the_latest_successful_sync_brought():
    client, connection = _user("alice")
    SyncRunFactory.create(
        status=SyncRun.Status.SUCCEEDED, started_at=timezone.now() - timedelta(hours=1)
    )
    _, fresh = _followed_release(connection, "Fresh Band")
    _, known = _followed_release(connection, "Known Band", days_ago=3)
    fresh.first_seen_at = timezone.now() - timedelta(minutes=30)
    known.first_seen_at = timezone.now() - timedelta(days=2)
    Release.objects.bulk_update([fresh, known], ["first_seen_at"])

    cards = re.split(r'<li class="artist-card"', client.get("/following/").content.decode())[1:]

    badged = {
        _card_names(f'<li class="artist-card"{card}')[0]: "new-badge" in card for card in cards
    }
    assert badged == {"Fresh Band": True, "Known Band": False}


def test_the_following_view_searches_and_filters_as_the_grid_does():
    client, connection = _user("alice")
    _followed_release(connection, "Aurora")
    _, single = _followed_release(connection, "Boreal")
    single.album_type = "single"
    single.save()

    searched = client.get("/following/", {"q": "auro"}, headers=HTMX)
    typed = client.get("/following/", {"type": "single"}, headers=HTMX)

    assert _card_names(searched.content.decode()) == ["Aurora"]
    assert "<html" not in searched.content.decode()  # the fragment alone
    assert _card_names(typed.content.decode()) == ["Boreal"]
    assert client.get("/following/", {"days": 0}).status_code == 400


def test_the_following_view_and_the_users_page_ask_anonymous_visitors_to_sign_in(client):
    for path in ("/following/", "/me/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_the_users_page_shows_the_connection_follows_and_rotation():
    client, connection = _user("alice")
    artist, _ = _followed_release(connection, "Aurora")
    _followed_release(connection, "Boreal")
    artist.albums_checked_at = timezone.now()
    artist.save()

    page = client.get("/me/").content.decode()

    assert "alice on Spotify" in page
    assert "1 of 2 in the last 24 h" in page
    assert "Refresh my follows" in page


@pytest.mark.parametrize("path", ACTIONS)
def test_the_actions_are_post_only(path):
    client, _ = _user("alice")
    assert client.get(path).status_code == 405


@pytest.mark.parametrize("path", ACTIONS)
def test_the_actions_need_a_csrf_token(path):
    user = get_user_model().objects.create_user(username="carol", password="pw")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(path).status_code == 403


def test_a_new_token_is_shown_once_and_works():
    client, _ = _user("alice")

    page = client.post("/me/tokens/", {"name": "laptop"}).content.decode()

    (token,) = re.findall(r'data-testid="new-token">([^<]+)<', page)
    api = Client().get("/api/me/releases/", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert token not in client.get("/me/").content.decode()


def test_revoking_another_users_token_is_a_404_and_keeps_it():
    alice, _ = _user("alice")
    _user("bob")
    personal_token_create(user=get_user_model().objects.get(username="bob"))
    bobs = PersonalToken.objects.get()

    assert alice.post("/me/tokens/revoke/", {"token": bobs.pk}).status_code == 404
    assert alice.post("/me/tokens/revoke/", {"token": "x"}).status_code == 404
    assert PersonalToken.objects.filter(pk=bobs.pk).exists()


def test_revoking_ones_own_token():
    client, connection = _user("alice")
    personal_token_create(user=connection.user)
    token = PersonalToken.objects.get()

    assert client.post("/me/tokens/revoke/", {"token": token.pk}).status_code == 302
    assert not PersonalToken.objects.exists()


def test_the_feed_url_is_created_rotated_and_turned_off():
    client, _ = _user("alice")
    assert 'data-testid="feed-url"' not in client.get("/me/").content.decode()

    client.post("/me/feed/")
    first = FeedToken.objects.get().token
    assert f"/feeds/me/{first}.atom" in client.get("/me/").content.decode()
    client.post("/me/feed/")
    second = FeedToken.objects.get().token
    assert second != first
    assert Client().get(f"/feeds/me/{first}.atom").status_code == 404

    client.post("/me/feed/revoke/")
    assert not FeedToken.objects.exists()


def test_turning_the_playlist_on_without_its_scope_asks_spotify_first():
    client, _ = _user("alice")

    page = client.post("/me/playlist/on/").content.decode()

    assert 'action="/auth/login/"' in page
    assert 'name="scope" value="playlist-modify-private"' in page
    assert 'name="connection" value="mine"' in page
    assert PlaylistLink.objects.get().spotify_id == ""
    assert "waiting for Spotify" in client.get("/me/").content.decode()


def test_turning_the_playlist_on_without_a_connection_is_refused():
    user = get_user_model().objects.create_user(username="dave", password="pw")
    client = Client()
    client.force_login(user)

    response = client.post("/me/playlist/on/", follow=True)

    assert "Connect your Spotify account first" in response.content.decode()
    assert not PlaylistLink.objects.exists()


def test_turning_the_playlist_off_unlinks_it_for_this_user_only():
    alice, alice_connection = _user("alice")
    _, bob_connection = _user("bob")
    PlaylistLink.objects.create(connection=alice_connection, spotify_id="a" * 22)
    PlaylistLink.objects.create(connection=bob_connection, spotify_id="b" * 22)

    alice.post("/me/playlist/off/")

    assert list(PlaylistLink.objects.values_list("spotify_id", flat=True)) == ["b" * 22]


@pytest.mark.parametrize("path", ["/me/playlist/update/", "/me/playlist/on/"])
def test_updating_the_playlist_queues_it_for_the_worker_and_calls_no_spotify(path, spotify_mock):
    """A request never calls Spotify (respx refuses any call here): the worker does."""
    client, connection = _user("alice", scope="user-follow-read playlist-modify-private")
    PlaylistLink.objects.create(connection=connection)

    response = client.post(path, follow=True)

    assert "being updated" in response.content.decode()
    (task,) = OrmQ.objects.all()
    assert task.func() == PLAYLIST_TASK
    assert task.task["args"] == (connection.user_id,)
    assert not spotify_mock.calls


def test_the_users_page_tells_of_a_recreated_playlist():
    client, connection = _user("alice", scope="user-follow-read playlist-modify-private")
    PlaylistLink.objects.create(
        connection=connection, spotify_id="a" * 22, notice="it was created again"
    )

    page = client.get("/me/").content.decode()

    assert "it was created again" in page
    assert "Update now" in page


def test_you_follow_ids_are_on_signed_in_pages_only():
    client, connection = _user("alice")
    artist, release = _followed_release(connection, "Aurora")
    snapshot_with([release])

    # Whichever comes first fills the caches (the anonymous page, the shared artist list).
    anonymous_before = Client().get("/").content.decode()
    signed_in = client.get("/").content.decode()
    anonymous = Client().get("/").content.decode()

    assert "followed-artists" not in anonymous_before
    ids = re.search(
        r'<script id="followed-artists" type="application/json">(.*?)</script>', signed_in
    )
    assert ids is not None
    assert json.loads(ids.group(1)) == [artist.spotify_id]
    assert "followed-artists" not in anonymous
    assert "You follow" not in anonymous
    assert f'data-artist-id="{artist.spotify_id}"' in anonymous


def test_navigation_links_for_signed_in_and_anonymous_visitors():
    client, _ = _user("alice")
    signed_in = client.get("/").content.decode()
    anonymous = Client().get("/").content.decode()

    assert 'href="/following/"' in signed_in
    assert 'href="/me/"' in signed_in
    assert 'href="/following/"' not in anonymous
    assert "/accounts/login/" in anonymous

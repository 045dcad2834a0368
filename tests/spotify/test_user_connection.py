"""Any signed-in user connects their own Spotify account (beside the site's), with the scopes
asked incrementally; sign-in for everyone at /accounts/login/."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from catalog.models import FollowedArtist
from spotify.client import user_client
from spotify.errors import ReconnectNeededError
from spotify.models import SpotifyConnection, UserConnection
from spotify.services import user_connection_scopes_request
from tests.catalog import following_support
from tests.catalog.following_support import connect, signed_in
from tests.factories import ArtistFactory

pytestmark = pytest.mark.django_db(transaction=True)

fake = following_support.fake

PASSWORD = "correct-horse-battery-staple"


def _asked_scopes(response) -> list[str]:
    assert response.status_code == 302
    scope: str = parse_qs(urlsplit(response["Location"]).query)["scope"][0]
    return scope.split()


def test_a_user_who_is_not_staff_connects_their_own_account(fake):
    user = signed_in("ivy")

    done = connect(user, account="fakeuser2")

    assert done.status_code == 302
    connection = UserConnection.objects.get()
    assert connection.user.username == "ivy"
    assert connection.account_id == "fakeuser2"
    assert connection.has_scope("user-follow-read")
    assert not connection.has_scope("playlist-modify-private")
    assert connection.refresh_token
    assert not SpotifyConnection.objects.exists()  # the site's connection is another thing


def test_the_playlist_scope_is_asked_only_when_wanted_and_then_kept(fake):
    user = signed_in("jo")

    assert _asked_scopes(user.post("/auth/login/", {"connection": "mine"})) == ["user-follow-read"]
    connect(user, account="fakeuser2", scopes=("playlist-modify-private",))

    connection = UserConnection.objects.get()
    assert connection.has_scope("playlist-modify-private")
    # A later reconnect asks for what was granted, so the playlist keeps working.
    again = _asked_scopes(user.post("/auth/login/", {"connection": "mine"}))
    assert again == ["user-follow-read", "playlist-modify-private"]
    assert user_connection_scopes_request(user=connection.user) == again


def test_a_scope_a_user_connection_never_needs_is_refused(fake):
    user = signed_in("kim")

    response = user.post("/auth/login/", {"connection": "mine", "scope": "user-read-email"})

    assert response.status_code == 400


def test_the_site_connection_still_needs_the_permission(fake):
    user = signed_in("lee")

    assert user.post("/auth/login/").status_code == 403
    assert user.post("/auth/login/", {"connection": "site"}).status_code == 403
    assert user.post("/auth/logout/").status_code == 403


def test_anonymous_visitors_cannot_connect(fake):
    response = Client().post("/auth/login/", {"connection": "mine"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not UserConnection.objects.exists()


def test_connecting_another_spotify_account_forgets_the_old_ones_follows(fake):
    user = signed_in("max")
    connect(user, account="fakeuser2")
    FollowedArtist.objects.create(
        connection=UserConnection.objects.get(), artist=ArtistFactory.create()
    )

    connect(user, account="fakeuser3")

    assert UserConnection.objects.get().account_id == "fakeuser3"
    assert not FollowedArtist.objects.exists()


def test_a_user_token_near_expiry_is_refreshed_once_and_stored(fake):
    user = signed_in("ned")
    connect(user, account="fakeuser2")
    connection = UserConnection.objects.get()
    old = connection.access_token
    UserConnection.objects.update(expires_at=timezone.now() + timedelta(seconds=30))

    pages = list(user_client(connection).followed_artists())
    list(user_client(connection).followed_artists())

    assert pages[0].items
    assert fake.calls("POST /api/token refresh_token") == 1
    assert UserConnection.objects.get().access_token not in ("", old)


def test_a_connection_that_needs_reconnecting_is_not_used(fake):
    user = signed_in("oz")
    connect(user, account="fakeuser2")
    UserConnection.objects.update(needs_reconnect=True)

    with pytest.raises(ReconnectNeededError):
        list(user_client(UserConnection.objects.get()).followed_artists())
    assert fake.calls("GET /v1/me/following") == 0


@pytest.fixture
def member(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_FAILURE_LIMIT = 3
    return get_user_model().objects.create_user(username="pat", password=PASSWORD)


def test_anyone_with_an_account_signs_in_at_accounts_login(member):
    client = Client()

    assert client.get("/accounts/login/").status_code == 200
    response = client.post("/accounts/login/", {"username": "pat", "password": PASSWORD})

    assert response.status_code == 302
    assert client.get("/api/me/artists/").status_code == 200


def test_signing_out_is_post_only(member):
    client = Client()
    client.force_login(member)

    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/api/me/artists/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/api/me/artists/").status_code == 401


def test_password_guessing_at_accounts_login_is_locked_out(member):
    client = Client()
    for _ in range(2):
        client.post("/accounts/login/", {"username": "pat", "password": "guess"})

    assert (
        client.post("/accounts/login/", {"username": "pat", "password": "guess"}).status_code == 429
    )
    assert (
        client.post("/accounts/login/", {"username": "pat", "password": PASSWORD}).status_code
        == 429
    )

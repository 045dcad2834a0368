import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from catalog.access_tokens import feed_token_get_or_create
from catalog.models import FeedToken
from spotify.models import AppToken, SpotifyConnection, UserConnection

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def _raw(table: str, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")
        return str(cursor.fetchone()[0])


def _store_tokens() -> None:
    SpotifyConnection.objects.create(
        account_id="wizzler",
        access_token="user-access-secret",
        refresh_token="user-refresh-secret",
        expires_at=timezone.now(),
    )
    AppToken.objects.create(client_id="test-client-id", access_token="app-access-secret")


def test_rotation_re_encrypts_every_token_with_the_first_key(settings, capsys):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    _store_tokens()
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    call_command("rotate_token_key")

    assert "Re-encrypted 3 stored token(s)" in capsys.readouterr().out
    new_only = Fernet(NEW_KEY.encode())
    assert new_only.decrypt(_raw("spotify_spotifyconnection", "access_token").encode()) == (
        b"user-access-secret"
    )
    assert new_only.decrypt(_raw("spotify_spotifyconnection", "refresh_token").encode()) == (
        b"user-refresh-secret"
    )
    assert new_only.decrypt(_raw("spotify_apptoken", "access_token").encode()) == (
        b"app-access-secret"
    )
    # The old key can now be dropped from the setting.
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    assert SpotifyConnection.objects.get().refresh_token == "user-refresh-secret"
    assert AppToken.objects.get().access_token == "app-access-secret"


def test_cleared_tokens_are_left_alone(settings, capsys):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    SpotifyConnection.objects.create(account_id="wizzler", needs_reconnect=True)
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    call_command("rotate_token_key")

    assert "Re-encrypted 0 stored token(s)" in capsys.readouterr().out
    assert _raw("spotify_spotifyconnection", "access_token") == ""


def test_rotation_without_the_old_key_fails_clearly_and_changes_nothing(settings):
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    AppToken.objects.create(client_id="test-client-id", access_token="app-access-secret")
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    SpotifyConnection.objects.create(account_id="wizzler", refresh_token="user-refresh-secret")
    app_before = _raw("spotify_apptoken", "access_token")
    connection_before = _raw("spotify_spotifyconnection", "refresh_token")
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]  # the old key was dropped too early

    with pytest.raises(CommandError, match="keep the old one after it"):
        call_command("rotate_token_key")

    # The app token (readable with the new key) was rolled back with the rest.
    assert _raw("spotify_apptoken", "access_token") == app_before
    assert _raw("spotify_spotifyconnection", "refresh_token") == connection_before


def test_rotation_re_encrypts_user_connections_and_feed_tokens_too(settings, capsys):
    settings.TOKEN_ENCRYPTION_KEYS = [OLD_KEY]
    user = get_user_model().objects.create_user(username="quinn", password="unused-password-1")
    UserConnection.objects.create(
        user=user, account_id="quinn", access_token="mine-access", refresh_token="mine-refresh"
    )
    feed_token = feed_token_get_or_create(user=user)
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY, OLD_KEY]

    call_command("rotate_token_key")

    assert "Re-encrypted 3 stored token(s)" in capsys.readouterr().out
    settings.TOKEN_ENCRYPTION_KEYS = [NEW_KEY]
    assert UserConnection.objects.get().refresh_token == "mine-refresh"
    assert FeedToken.objects.get().token == feed_token

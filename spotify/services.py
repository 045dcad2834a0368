"""Writes about the site's Spotify connection: connecting, disconnecting, re-keying tokens at rest."""

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import connection as db_connection
from django.db import models, transaction
from django.utils import timezone

from spotify.accounts import FOLLOW_SCOPE, USER_CONNECTION_EXTRA_SCOPES, AccountsClient
from spotify.client import SpotifyClient
from spotify.conf import spotify_settings
from spotify.crypto import EncryptedTextField, token_fernet
from spotify.errors import BadResponseError
from spotify.http import SpotifyHttp, process_client
from spotify.models import SpotifyConnection, UserConnection
from spotify.tokens import StaticTokenSource, mark_needs_reconnect, token_expiry
from spotify.types import TokenGrant, User

logger = logging.getLogger(__name__)


def connection_connect(*, code: str, code_verifier: str) -> SpotifyConnection:
    """Trades the consent code (with the PKCE verifier of the request that asked for it) for
    tokens, asks Spotify who they belong to, and stores them as the site's connection.

    Raises a SpotifyError (InvalidGrantError for a spent or refused code) before storing anything.
    """
    grant, user, requested_at = _consent_redeem(code=code, code_verifier=code_verifier)
    return connection_store(grant=grant, user=user, requested_at=requested_at)


def _consent_redeem(*, code: str, code_verifier: str) -> tuple[TokenGrant, User, datetime]:
    conf = spotify_settings()
    http = SpotifyHttp(conf=conf, client=process_client(conf))
    requested_at = timezone.now()
    grant = AccountsClient(http).exchange_code(code, code_verifier=code_verifier)
    if not grant.refresh_token:
        raise BadResponseError("Spotify's token endpoint answered a code without a refresh token")
    # The new user token, not the app token: /v1/me must name the account that just consented.
    user = SpotifyClient(http=http, tokens=StaticTokenSource(grant.access_token)).me()
    return grant, user, requested_at


def connection_store(
    *, grant: TokenGrant, user: User, requested_at: datetime | None = None
) -> SpotifyConnection:
    """Replaces whatever connection the site had; a reconnect clears `needs_reconnect`."""
    with transaction.atomic():
        stored, _ = SpotifyConnection.objects.select_for_update().update_or_create(
            slot=SpotifyConnection.SLOT,
            defaults=_connection_fields(grant=grant, user=user, requested_at=requested_at),
        )
    logger.info("Connected the Spotify account %s", user.id)
    return stored


def connection_delete() -> bool:
    """Disconnects: the stored tokens are deleted with the row. False if there was none."""
    deleted, _ = SpotifyConnection.objects.filter(slot=SpotifyConnection.SLOT).delete()
    if deleted:
        logger.info("Disconnected the Spotify account")
    return bool(deleted)


def user_connection_scopes_request(*, user: Any, extra: Iterable[str] = ()) -> list[str]:
    """The scopes a user's consent asks for: reading follows always, what the connection was
    already granted (a re-consent must not lose it), and `extra` (the playlist's scope when the
    user turns the playlist on). Raises ValueError for a scope a user connection never needs."""
    unknown = set(extra) - USER_CONNECTION_EXTRA_SCOPES
    if unknown:
        raise ValueError(f"Not a scope a user connection asks for: {', '.join(sorted(unknown))}")
    granted = (
        UserConnection.objects.filter(user=user, needs_reconnect=False)
        .values_list("scope", flat=True)
        .first()
    )
    kept = [s for s in (granted or "").split() if s in USER_CONNECTION_EXTRA_SCOPES]
    return list(dict.fromkeys([FOLLOW_SCOPE, *kept, *extra]))


def user_connection_connect(*, user: Any, code: str, code_verifier: str) -> UserConnection:
    """As connection_connect, for a signed-in user's own account; a reconnect keeps the
    follows when it is the same Spotify account, and drops them when it is another one."""
    grant, spotify_user, requested_at = _consent_redeem(code=code, code_verifier=code_verifier)
    return user_connection_store(
        user=user, grant=grant, spotify_user=spotify_user, requested_at=requested_at
    )


def user_connection_store(
    *, user: Any, grant: TokenGrant, spotify_user: User, requested_at: datetime | None = None
) -> UserConnection:
    fields = _connection_fields(grant=grant, user=spotify_user, requested_at=requested_at)
    with transaction.atomic():
        current = UserConnection.objects.select_for_update().filter(user=user).first()
        if current is not None and current.account_id != spotify_user.id:
            # Another Spotify account: its follows (and playlist) are not this one's.
            current.delete()
            current = None
        if current is None:
            stored = UserConnection.objects.create(user=user, **fields)
        else:
            for name, value in fields.items():
                setattr(current, name, value)
            current.save()
            stored = current
    logger.info("User %s connected the Spotify account %s", user.pk, spotify_user.id)
    return stored


def _connection_fields(
    *, grant: TokenGrant, user: User, requested_at: datetime | None
) -> dict[str, Any]:
    """A fresh consent's fields, the site's connection and a user's alike: a reconnect clears
    `needs_reconnect`."""
    return {
        "account_id": user.id,
        "display_name": user.display_name or "",
        "scope": grant.scope,
        "access_token": grant.access_token,
        "refresh_token": grant.refresh_token or "",
        "expires_at": token_expiry(grant, requested_at=requested_at or timezone.now()),
        "needs_reconnect": False,
        "reconnect_reason": "",
        "connected_at": timezone.now(),
        "refreshed_at": None,
    }


def user_connection_delete(*, user: Any) -> bool:
    """Disconnects the user's own account: the tokens go with the row, and the database deletes
    the follows and the playlist link with it. False if there was none."""
    deleted, _ = UserConnection.objects.filter(user=user).delete()
    if deleted:
        logger.info("User %s disconnected their Spotify account", user.pk)
    return bool(deleted)


def user_connection_needs_reconnect(*, connection: UserConnection, reason: str) -> None:
    """Spotify refused the connection something only a new consent can fix (a scope taken
    back): the tokens are dropped and nothing uses the connection until the user reconnects."""
    mark_needs_reconnect(connection, reason=reason)


def token_key_rotate() -> int:
    """Re-encrypts every stored secret with the first TOKEN_ENCRYPTION_KEYS key; returns how many.

    Works on the ciphertext (MultiFernet.rotate) so that plaintext tokens never leave the database
    layer; every listed key must still decrypt until this has run.
    """
    fernet = token_fernet()
    rotated = 0
    quote = db_connection.ops.quote_name
    with transaction.atomic(), db_connection.cursor() as cursor:
        for model in models_with_encrypted_fields():
            table = quote(model._meta.db_table)
            pk = quote(_column(model._meta.pk))
            for field in model._meta.concrete_fields:
                if not isinstance(field, EncryptedTextField):
                    continue
                column = quote(_column(field))
                cursor.execute(
                    f"SELECT {pk}, {column} FROM {table} WHERE {column} <> '' FOR UPDATE"  # noqa: S608
                )
                for row_pk, ciphertext in cursor.fetchall():
                    fresh = fernet.rotate(ciphertext.encode()).decode()
                    cursor.execute(
                        f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                        [fresh, row_pk],
                    )
                    rotated += 1
    logger.info("Re-encrypted %s stored tokens with the current key", rotated)
    return rotated


def models_with_encrypted_fields() -> list[type[models.Model]]:
    """Every installed model with an encrypted column: Spotify's tokens, and whatever other app
    keeps its secrets with EncryptedTextField (feed tokens, webhook secrets)."""
    return [
        model
        for model in apps.get_models()
        if any(isinstance(field, EncryptedTextField) for field in model._meta.concrete_fields)
    ]


def _column(field: models.Field[Any, Any] | None) -> str:
    # Concrete fields always have a column; the stubs allow None for the others.
    assert field is not None
    assert field.column is not None
    return field.column

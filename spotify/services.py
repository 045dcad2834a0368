"""Writes about the site's Spotify connection: connecting, disconnecting, re-keying tokens at rest."""

import logging
from datetime import datetime
from typing import Any

from django.db import connection as db_connection
from django.db import models, transaction
from django.utils import timezone

from spotify.accounts import AccountsClient
from spotify.client import SpotifyClient
from spotify.conf import spotify_settings
from spotify.crypto import EncryptedTextField, token_fernet
from spotify.errors import BadResponseError
from spotify.http import SpotifyHttp, process_client
from spotify.models import AppToken, SpotifyConnection
from spotify.tokens import StaticTokenSource, token_expiry
from spotify.types import TokenGrant, User

logger = logging.getLogger(__name__)

MODELS_WITH_TOKENS: tuple[type[models.Model], ...] = (AppToken, SpotifyConnection)


def connection_connect(*, code: str, code_verifier: str) -> SpotifyConnection:
    """Trades the consent code (with the PKCE verifier of the request that asked for it) for
    tokens, asks Spotify who they belong to, and stores them.

    Raises a SpotifyError (InvalidGrantError for a spent or refused code) before storing anything.
    """
    conf = spotify_settings()
    http = SpotifyHttp(conf=conf, client=process_client(conf))
    requested_at = timezone.now()
    grant = AccountsClient(http).exchange_code(code, code_verifier=code_verifier)
    if not grant.refresh_token:
        raise BadResponseError("Spotify's token endpoint answered a code without a refresh token")
    # The new user token, not the app token: /v1/me must name the account that just consented.
    user = SpotifyClient(http=http, tokens=StaticTokenSource(grant.access_token)).me()
    return connection_store(grant=grant, user=user, requested_at=requested_at)


def connection_store(
    *, grant: TokenGrant, user: User, requested_at: datetime | None = None
) -> SpotifyConnection:
    """Replaces whatever connection the site had; a reconnect clears `needs_reconnect`."""
    requested_at = requested_at or timezone.now()
    with transaction.atomic():
        stored, _ = SpotifyConnection.objects.select_for_update().update_or_create(
            slot=SpotifyConnection.SLOT,
            defaults={
                "account_id": user.id,
                "display_name": user.display_name or "",
                "scope": grant.scope,
                "access_token": grant.access_token,
                "refresh_token": grant.refresh_token or "",
                "expires_at": token_expiry(grant, requested_at=requested_at),
                "needs_reconnect": False,
                "reconnect_reason": "",
                "connected_at": timezone.now(),
                "refreshed_at": None,
            },
        )
    logger.info("Connected the Spotify account %s", user.id)
    return stored


def connection_delete() -> bool:
    """Disconnects: the stored tokens are deleted with the row. False if there was none."""
    deleted, _ = SpotifyConnection.objects.filter(slot=SpotifyConnection.SLOT).delete()
    if deleted:
        logger.info("Disconnected the Spotify account")
    return bool(deleted)


def token_key_rotate() -> int:
    """Re-encrypts every stored token with the first TOKEN_ENCRYPTION_KEYS key; returns how many.

    Works on the ciphertext (MultiFernet.rotate) so that plaintext tokens never leave the database
    layer; every listed key must still decrypt until this has run.
    """
    fernet = token_fernet()
    rotated = 0
    quote = db_connection.ops.quote_name
    with transaction.atomic(), db_connection.cursor() as cursor:
        for model in MODELS_WITH_TOKENS:
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


def _column(field: models.Field[Any, Any] | None) -> str:
    # Concrete fields always have a column; the stubs allow None for the others.
    assert field is not None
    assert field.column is not None
    return field.column

"""Access tokens: reused until they near expiry, renewed by exactly one caller at a time.

Renewal is single-flight across threads and processes: the caller that wants a new token locks the
token's row; whoever waited on that lock finds the fresh token and reuses it.
"""

import logging
from datetime import datetime, timedelta
from typing import Literal, Protocol

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from spotify.accounts import AccountsClient
from spotify.errors import InvalidGrantError, ReconnectNeededError, SpotifyAuthError
from spotify.models import AppToken, SpotifyConnection, TokenConnection, UserConnection
from spotify.types import TokenGrant

logger = logging.getLogger(__name__)

TokenMode = Literal["user", "app"]


class TokenSource(Protocol):
    def access_token(self) -> str: ...

    def renew(self, rejected: str) -> str:
        """A token other than `rejected`, which Spotify just answered 401 to."""
        ...


class AppTokenSource:
    """Client Credentials: one token request per token lifetime, whoever asks."""

    def __init__(self, accounts: AccountsClient) -> None:
        self.accounts = accounts
        self.client_id = accounts.conf.client_id
        self._cached: AppToken | None = None

    def access_token(self) -> str:
        if self._cached is not None and self._cached.is_usable():
            return self._cached.access_token
        return self._locked_get(rejected=None)

    def renew(self, rejected: str) -> str:
        return self._locked_get(rejected=rejected)

    def _locked_get(self, *, rejected: str | None) -> str:
        AppToken.objects.get_or_create(client_id=self.client_id)
        with transaction.atomic():
            row = AppToken.objects.select_for_update().get(client_id=self.client_id)
            if not (row.is_usable() and row.access_token != rejected):
                requested_at = timezone.now()
                grant = self.accounts.client_credentials()
                row.access_token = grant.access_token
                row.expires_at = token_expiry(grant, requested_at=requested_at)
                row.save(update_fields=["access_token", "expires_at", "updated_at"])
                logger.info("Obtained a new app token, valid for %s s", grant.expires_in)
        self._cached = row
        return row.access_token


class UserTokenSource:
    """A connected account's token (the site's by default), refreshed only when due or after a
    401. A source lives for one unit of work (a sync): once it finds no usable connection it stops
    looking, rather than query the database before every Spotify call; the next unit of work
    looks again."""

    def __init__(
        self,
        accounts: AccountsClient,
        connections: QuerySet[SpotifyConnection] | QuerySet[UserConnection] | None = None,
    ) -> None:
        self.accounts = accounts
        # The one row this source reads; re-evaluated (`.all()`) on every look.
        self.connections: QuerySet[SpotifyConnection] | QuerySet[UserConnection] = (
            connections
            if connections is not None
            else SpotifyConnection.objects.filter(slot=SpotifyConnection.SLOT)
        )
        self._cached: TokenConnection | None = None
        self._no_connection = False

    def access_token(self) -> str | None:
        if self._no_connection:
            return None
        if self._cached is not None and self._cached.is_usable():
            return self._cached.access_token
        connection: TokenConnection | None = self.connections.all().first()
        if connection is None or connection.needs_reconnect:
            self._no_connection = True
            return None
        if connection.is_usable():
            self._cached = connection
            return connection.access_token
        return self._locked_refresh(rejected=None)

    def renew(self, rejected: str) -> str | None:
        return self._locked_refresh(rejected=rejected)

    def owns(self, token: str) -> bool:
        return self._cached is not None and self._cached.access_token == token

    def _locked_refresh(self, *, rejected: str | None) -> str | None:
        self._cached = None
        with transaction.atomic():
            connection: TokenConnection | None = self.connections.select_for_update().first()
            if connection is None or connection.needs_reconnect:
                self._no_connection = True
                return None
            if not (connection.is_usable() and connection.access_token != rejected):
                requested_at = timezone.now()
                try:
                    grant = self.accounts.refresh(connection.refresh_token)
                except InvalidGrantError as error:
                    # Not raised on: the flag must commit, and retrying would only fail again.
                    mark_needs_reconnect(connection, reason=str(error))
                    self._no_connection = True
                    return None
                _store_refreshed(connection, grant, requested_at=requested_at)
        self._cached = connection
        return connection.access_token


class SiteTokenSource:
    """The connected user's token when there is a usable connection, else the app token."""

    def __init__(self, accounts: AccountsClient) -> None:
        self.user = UserTokenSource(accounts)
        self.app = AppTokenSource(accounts)
        self.mode: TokenMode = "app"

    def access_token(self) -> str:
        if (token := self.user.access_token()) is not None:
            self.mode = "user"
            return token
        self.mode = "app"
        return self.app.access_token()

    def renew(self, rejected: str) -> str:
        if self.user.owns(rejected):
            if (token := self.user.renew(rejected)) is not None:
                return token
            # The user token cannot be renewed (reconnect needed): fall back to the app token.
            self.mode = "app"
            return self.app.access_token()
        return self.app.renew(rejected)


class ConnectionTokenSource:
    """One user's own connection, with no app-token fallback: their data needs their consent."""

    def __init__(self, accounts: AccountsClient, *, connection_pk: int) -> None:
        self.user = UserTokenSource(
            accounts, connections=UserConnection.objects.filter(pk=connection_pk)
        )

    def access_token(self) -> str:
        if (token := self.user.access_token()) is None:
            raise ReconnectNeededError("Your Spotify connection needs reconnecting")
        return token

    def renew(self, rejected: str) -> str:
        if (token := self.user.renew(rejected)) is None:
            raise ReconnectNeededError("Spotify no longer accepts your connection: reconnect")
        return token


class StaticTokenSource:
    """One token just obtained (the Connect flow's first `/v1/me`); it cannot be renewed."""

    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self) -> str:
        return self.token

    def renew(self, rejected: str) -> str:
        raise SpotifyAuthError("Spotify refused the token it had just issued")


def token_expiry(grant: TokenGrant, *, requested_at: datetime) -> datetime:
    """Counted from when we asked, not when the answer arrived: never later than Spotify's clock."""
    return requested_at + timedelta(seconds=grant.expires_in)


def _store_refreshed(
    connection: TokenConnection, grant: TokenGrant, *, requested_at: datetime
) -> None:
    connection.access_token = grant.access_token
    # Spotify rotates the refresh token only sometimes; without a new one the old one stays valid.
    if grant.refresh_token:
        connection.refresh_token = grant.refresh_token
    if grant.scope:
        connection.scope = grant.scope
    connection.expires_at = token_expiry(grant, requested_at=requested_at)
    connection.refreshed_at = timezone.now()
    connection.save(
        update_fields=["access_token", "refresh_token", "scope", "expires_at", "refreshed_at"]
    )
    logger.info("Refreshed the user token, valid for %s s", grant.expires_in)


def mark_needs_reconnect(connection: TokenConnection, *, reason: str) -> None:
    # Both tokens are dead: keep nothing that a leak could reveal, only the account and the reason.
    connection.needs_reconnect = True
    connection.reconnect_reason = reason[:300]
    connection.access_token = ""
    connection.refresh_token = ""
    connection.expires_at = None
    connection.save(
        update_fields=[
            "needs_reconnect",
            "reconnect_reason",
            "access_token",
            "refresh_token",
            "expires_at",
        ]
    )
    logger.warning("The Spotify connection needs reconnecting: %s", reason)

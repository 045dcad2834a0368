"""Reads about the site's Spotify connection, for the status API and the dashboard."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from spotify.conf import is_demo_mode
from spotify.models import SpotifyConnection, UserConnection

ConnectionMode = Literal["user", "app", "demo"]

# Never the token columns: the status must not even decrypt them.
_STATUS_FIELDS = (
    "account_id",
    "display_name",
    "scope",
    "expires_at",
    "needs_reconnect",
    "reconnect_reason",
)


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    mode: ConnectionMode
    connected: bool
    display_name: str
    account_id: str
    expires_at: datetime | None
    needs_reconnect: bool
    reconnect_reason: str
    scope: str


def connection_status() -> ConnectionStatus:
    """Which token the sync will use: `demo` (the bundled fake), `user` (the connected account's)
    or `app` (Client Credentials: no connection, or one that needs reconnecting)."""
    row = (
        SpotifyConnection.objects.filter(slot=SpotifyConnection.SLOT)
        .values(*_STATUS_FIELDS)
        .first()
    )
    if row is None:
        return ConnectionStatus(
            mode="demo" if is_demo_mode() else "app",
            connected=False,
            display_name="",
            account_id="",
            expires_at=None,
            needs_reconnect=False,
            reconnect_reason="",
            scope="",
        )
    mode: ConnectionMode = "demo" if is_demo_mode() else "app" if row["needs_reconnect"] else "user"
    return ConnectionStatus(mode=mode, connected=True, **row)


def user_connection_get(*, user: Any) -> UserConnection | None:
    """The user's own Spotify connection, if they made one."""
    if not getattr(user, "is_authenticated", False):
        return None
    return UserConnection.objects.filter(user=user).first()

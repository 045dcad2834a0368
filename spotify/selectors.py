"""Reads about the site's Spotify connection, for the status API and the dashboard."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from common.db import prepared_cursor
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


# Prepared (common.db.prepared_cursor): every page's header reads it. Plain fields, whose
# columns are their names; the first row by id, as `.first()` read it.
_STATUS_SQL = (
    f"SELECT {', '.join(_STATUS_FIELDS)} FROM {SpotifyConnection._meta.db_table}"  # noqa: S608 (names from the model, the slot as a parameter)
    " WHERE slot = %s ORDER BY id LIMIT 1"
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
    with prepared_cursor() as cursor:
        cursor.execute(_STATUS_SQL, [SpotifyConnection.SLOT])
        values = cursor.fetchone()
    if values is None:
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
    row = dict(zip(_STATUS_FIELDS, values, strict=True))
    mode: ConnectionMode = "demo" if is_demo_mode() else "app" if row["needs_reconnect"] else "user"
    return ConnectionStatus(mode=mode, connected=True, **row)


def user_connection_get(*, user: Any) -> UserConnection | None:
    """The user's own Spotify connection, if they made one."""
    if not getattr(user, "is_authenticated", False):
        return None
    return UserConnection.objects.filter(user=user).first()

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from spotify import selectors

router = Router(tags=["spotify"])


class ConnectionStatusOut(Schema):
    mode: Literal["user", "app", "demo"] = Field(
        description="Whose token the sync uses: the connected account's, the app's, or the "
        "bundled fake Spotify's (demo mode, no credentials configured)."
    )
    connected: bool = Field(description="Whether a Spotify account is connected.")
    display_name: str
    account_id: str
    expires_at: datetime | None = Field(
        description="When the current user access token expires; it is refreshed when needed."
    )
    needs_reconnect: bool = Field(
        description="Spotify refused the refresh token (they expire after 6 months): a staff "
        "user must connect again; until then the sync uses the app token."
    )
    reconnect_reason: str
    scope: str


@router.get("/status/", response=ConnectionStatusOut, summary="How the site is connected")
def connection_status(request: HttpRequest) -> selectors.ConnectionStatus:
    return selectors.connection_status()

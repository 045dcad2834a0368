from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from spotify import selectors

router = Router(tags=["spotify"])


STAFF_ONLY = "Staff only: absent for anonymous visitors and users who are not staff."


class ConnectionStatusOut(Schema):
    mode: Literal["user", "app", "demo"] = Field(
        description="Whose token the sync uses: the connected account's, the app's, or the "
        "bundled fake Spotify's (demo mode, no credentials configured). The only field shown to "
        "anonymous visitors."
    )
    connected: bool | None = Field(
        None, description=f"Whether a Spotify account is connected. {STAFF_ONLY}"
    )
    display_name: str | None = Field(None, description=STAFF_ONLY)
    account_id: str | None = Field(None, description=STAFF_ONLY)
    expires_at: datetime | None = Field(
        None,
        description="When the current user access token expires; it is refreshed when needed. "
        f"{STAFF_ONLY}",
    )
    needs_reconnect: bool | None = Field(
        None,
        description="Spotify refused the refresh token (they expire after 6 months): a staff "
        f"user must connect again; until then the sync uses the app token. {STAFF_ONLY}",
    )
    reconnect_reason: str | None = Field(None, description=STAFF_ONLY)
    scope: str | None = Field(None, description=STAFF_ONLY)


@router.get(
    "/status/",
    response=ConnectionStatusOut,
    # Fields the view leaves out stay out of the answer, rather than showing as null.
    exclude_unset=True,
    summary="How the site is connected",
)
def connection_status(request: HttpRequest) -> selectors.ConnectionStatus | dict[str, str]:
    status = selectors.connection_status()
    if request.user.is_staff:
        return status
    return {"mode": status.mode}

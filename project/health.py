"""GET /api/health/: is the database reachable, how did the last sync end, which Spotify is used."""

import logging
from datetime import datetime
from typing import Literal

from django.db import DatabaseError, connection
from django.http import HttpRequest
from ninja import Router, Schema, Status

from catalog.models import SyncRun
from spotify.conf import is_demo_mode
from spotify.selectors import ConnectionMode, connection_status

logger = logging.getLogger(__name__)

router = Router(tags=["health"])


class LastSyncOut(Schema):
    """Public, so no error text: why a run failed is on the dashboard and the admin, for staff."""

    id: int
    status: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    release_count: int
    artist_count: int


class HealthOut(Schema):
    status: Literal["ok", "error"]
    database: Literal["ok", "unavailable"]
    last_sync: LastSyncOut | None
    # None when the database is down: whether an account is connected cannot be told then.
    spotify_mode: ConnectionMode | None


class LiveOut(Schema):
    status: Literal["ok"]


@router.get(
    "/health/live",
    response=LiveOut,
    url_name="health_live",
    summary="Liveness: the process answers (no database asked, so an outage restarts nothing)",
)
def health_live(request: HttpRequest) -> LiveOut:
    return LiveOut(status="ok")


@router.get(
    "/health/",
    response={200: HealthOut, 503: HealthOut},
    summary="Liveness and readiness: database, last sync, Spotify mode",
)
def health(request: HttpRequest) -> Status[HealthOut]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        last_sync = SyncRun.objects.order_by("-started_at").first()
        mode = connection_status().mode
    except DatabaseError as error:
        logger.warning("Health check: database unavailable (%s)", type(error).__name__)
        return Status(
            503,
            HealthOut(
                status="error",
                database="unavailable",
                last_sync=None,
                spotify_mode="demo" if is_demo_mode() else None,
            ),
        )
    return Status(
        200,
        HealthOut(
            status="ok",
            database="ok",
            last_sync=LastSyncOut.from_orm(last_sync) if last_sync else None,
            spotify_mode=mode,
        ),
    )

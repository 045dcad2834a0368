"""Endpoints Spotify refused us (Development Mode, 2026), remembered so that later runs go straight
to the fallback instead of paying the 403 again."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from spotify.errors import ForbiddenEndpointError
from spotify.models import ForbiddenEndpoint


def endpoint_forbidden_until(endpoint: str) -> datetime | None:
    """When Spotify may be asked again, or None if the endpoint is not known to be forbidden."""
    return (
        ForbiddenEndpoint.objects.filter(endpoint=endpoint, until__gt=timezone.now())
        .values_list("until", flat=True)
        .first()
    )


def endpoint_forbidden(endpoint: str) -> bool:
    return endpoint_forbidden_until(endpoint) is not None


def endpoint_forbid(
    *, endpoint: str, error: ForbiddenEndpointError, for_: timedelta | None = None
) -> ForbiddenEndpoint:
    """Remembers the refusal. Call it outside the sync's write transaction (the fetch stage is), so
    that it commits on its own even if the sync fails later."""
    for_ = for_ if for_ is not None else timedelta(hours=settings.FORBIDDEN_ENDPOINT_MEMORY_HOURS)
    record, _ = ForbiddenEndpoint.objects.update_or_create(
        endpoint=endpoint,
        defaults={
            "status_code": error.status_code,
            "message": str(error)[:500],
            "until": timezone.now() + for_,
        },
    )
    return record

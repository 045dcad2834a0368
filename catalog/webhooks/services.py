"""Writes around webhooks: queue the deliveries of a sync, run one attempt (claim, sign, send,
record), schedule the next one, and pick up deliveries that a killed worker left pending."""

import base64
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from time import monotonic
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from catalog.models import (
    Release,
    SyncRun,
    WebhookDelivery,
    WebhookEndpoint,
    webhook_secret_default,
)
from catalog.schemas import ReleaseSummaryOut
from catalog.selectors import releases_by_ids, releases_new_in_run
from catalog.webhooks.transport import WebhookSendError, webhook_post
from catalog.webhooks.validators import webhook_target_resolve

logger = logging.getLogger(__name__)

EVENT = "releases.new"
USER_AGENT = "spotify-new-releases-webhooks/2.0"
ATTEMPT_TASK = "catalog.webhooks.tasks.webhook_delivery_attempt"
SECRET_PREFIX = "whsec_"
# An attempt ends by WEBHOOK_TIMEOUT_SECONDS; one still pending this long after it started (or
# was due) lost its worker, or its queued task was lost. Longer than django-q2's own re-delivery
# (Q_RETRY_SECONDS, 16 min), which the attempt number makes harmless anyway.
STALE_AFTER = timedelta(minutes=20)


@dataclass(frozen=True)
class AttemptOutcome:
    response_status: int | None
    error: str
    duration_ms: int
    retryable: bool = True

    @property
    def succeeded(self) -> bool:
        return not self.error


def webhook_signature(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks: `v1,` and the base64 HMAC-SHA256 of "{id}.{timestamp}.{body}", keyed
    with the base64-decoded part of the secret after `whsec_`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def webhook_headers(*, delivery: WebhookDelivery, body: bytes, timestamp: int) -> dict[str, str]:
    # webhook-id is the delivery's: the same on every attempt, so receivers can drop duplicates.
    message_id = str(delivery.delivery_id)
    return {
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook_signature(
            secret=delivery.endpoint.secret, message_id=message_id, timestamp=timestamp, body=body
        ),
    }


def webhook_deliveries_enqueue(*, run_pk: int) -> list[WebhookDelivery]:
    run = SyncRun.objects.get(pk=run_pk)
    releases = releases_new_in_run(run=run)
    # The ORM broker writes to this database: a delivery row and its queued task commit together.
    with transaction.atomic():
        deliveries = webhook_deliveries_create(run=run, releases=releases)
        for delivery in deliveries:
            _attempt_enqueue(delivery=delivery, attempt=1)
    return deliveries


def webhook_deliveries_create(
    *, run: SyncRun | None, releases: list[Release]
) -> list[WebhookDelivery]:
    """One pending delivery per active endpoint whose filter keeps at least one release."""
    credited = {
        release.pk: [credit.artist.spotify_id for credit in release.credits.all()]
        for release in releases
    }
    deliveries = []
    for endpoint in WebhookEndpoint.objects.filter(active=True):
        release_ids = [
            release.spotify_id
            for release in releases
            if endpoint.matches(album_type=release.album_type, artist_ids=credited[release.pk])
        ]
        if release_ids:
            deliveries.append(
                WebhookDelivery(
                    endpoint=endpoint,
                    sync_run=run,
                    release_ids=release_ids,
                    release_count=len(release_ids),
                )
            )
    return WebhookDelivery.objects.bulk_create(deliveries)


def _attempt_enqueue(*, delivery: WebhookDelivery, attempt: int) -> None:
    async_task(
        ATTEMPT_TASK,
        delivery.pk,
        attempt,
        task_name=f"webhook {delivery.delivery_id} attempt {attempt}",
    )


def webhook_attempt_run(*, delivery_pk: int, attempt: int) -> None:
    """Attempt number `attempt` of a delivery: one POST, then success, failure, or the next
    attempt scheduled for later (the worker never waits out a backoff)."""
    delivery = _attempt_claim(delivery_pk=delivery_pk, attempt=attempt)
    if delivery is None:
        return
    outcome = _attempt_send(delivery=delivery)
    _attempt_record(delivery=delivery, outcome=outcome)


def _attempt_claim(*, delivery_pk: int, attempt: int) -> WebhookDelivery | None:
    """Marks the attempt as started, or returns None when it must not run: the delivery is over,
    or this attempt already ran (a task delivered twice, or one recovered while merely late)."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_pk)
            .first()
        )
        if (
            delivery is None
            or delivery.status != WebhookDelivery.Status.PENDING
            or delivery.attempts != attempt - 1
        ):
            return None
        if not delivery.endpoint.active:
            delivery.last_error = "The endpoint was disabled before delivery"
            _delivery_finish(delivery=delivery, status=WebhookDelivery.Status.FAILED)
            return None
        delivery.attempts = attempt
        delivery.attempt_at = timezone.now()
        delivery.save(update_fields=["attempts", "attempt_at"])
    return delivery


def _attempt_send(*, delivery: WebhookDelivery) -> AttemptOutcome:
    body = _body(delivery)
    started = monotonic()
    try:
        # Resolved and checked at each attempt; the POST connects to the address checked here.
        target = webhook_target_resolve(delivery.endpoint.url)
        response = webhook_post(
            url=delivery.endpoint.url,
            target=target,
            headers=webhook_headers(delivery=delivery, body=body, timestamp=int(time.time())),
            body=body,
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        )
    except ValidationError as refused:
        return AttemptOutcome(None, " ".join(refused.messages), _ms_since(started), False)
    except WebhookSendError as failure:
        return AttemptOutcome(None, str(failure), _ms_since(started))
    error = "" if 200 <= response.status < 300 else f"The receiver answered HTTP {response.status}"
    return AttemptOutcome(response.status, error, _ms_since(started))


def _ms_since(started: float) -> int:
    return round((monotonic() - started) * 1000)


def _attempt_record(*, delivery: WebhookDelivery, outcome: AttemptOutcome) -> None:
    delivery.response_status = outcome.response_status
    delivery.last_error = outcome.error
    delivery.duration_ms = (delivery.duration_ms or 0) + outcome.duration_ms
    if outcome.succeeded:
        _delivery_finish(delivery=delivery, status=WebhookDelivery.Status.SUCCEEDED)
        _endpoint_record(endpoint_pk=delivery.endpoint_id, succeeded=True, error="")
    elif outcome.retryable and delivery.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
        _retry_schedule(delivery=delivery)
    else:
        _delivery_finish(delivery=delivery, status=WebhookDelivery.Status.FAILED)
        _endpoint_record(endpoint_pk=delivery.endpoint_id, succeeded=False, error=outcome.error)


def _retry_schedule(*, delivery: WebhookDelivery) -> None:
    """The next attempt is a django-q2 schedule that runs once, after base x 2^(n-1) seconds."""
    delay = settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
    delivery.attempt_at = timezone.now() + timedelta(seconds=delay)
    with transaction.atomic():
        delivery.save(update_fields=["response_status", "last_error", "duration_ms", "attempt_at"])
        schedule(
            ATTEMPT_TASK,
            delivery.pk,
            delivery.attempts + 1,
            name=f"webhook {delivery.delivery_id} attempt {delivery.attempts + 1}",
            schedule_type=Schedule.ONCE,
            repeats=-1,  # a ONCE schedule is deleted once it has run
            next_run=delivery.attempt_at,
        )


def webhook_deliveries_recover_stale() -> int:
    """Deliveries pending long after their attempt started or was due: a killed worker's, or a
    lost task's. Each gets its next attempt queued, or fails if it had its last. Runs when an
    attempt starts and after every sync."""
    now = timezone.now()
    failed: list[WebhookDelivery] = []
    with transaction.atomic():
        stale = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True).filter(
                status=WebhookDelivery.Status.PENDING, attempt_at__lt=now - STALE_AFTER
            )
        )
        for delivery in stale:
            if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
                delivery.last_error = (
                    "Interrupted: the worker sending the last attempt stopped before it ended"
                )
                _delivery_finish(delivery=delivery, status=WebhookDelivery.Status.FAILED)
                failed.append(delivery)
                continue
            delivery.attempt_at = now
            delivery.save(update_fields=["attempt_at"])
            _attempt_enqueue(delivery=delivery, attempt=delivery.attempts + 1)
    for delivery in failed:
        _endpoint_record(
            endpoint_pk=delivery.endpoint_id, succeeded=False, error=delivery.last_error
        )
    if stale:
        logger.warning("Recovered %s webhook deliveries left pending", len(stale))
    return len(stale)


def _body(delivery: WebhookDelivery) -> bytes:
    releases = releases_by_ids(spotify_ids=delivery.release_ids)
    payload = {
        "event": EVENT,
        "delivery_id": str(delivery.delivery_id),
        "sync_run_id": delivery.sync_run_id,
        "count": len(releases),
        "releases": [webhook_release_as_dict(release) for release in releases],
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def webhook_release_as_dict(release: Release) -> dict[str, Any]:
    """The API's release shape (ReleaseSummaryOut, as /api/releases/ lists them)."""
    return ReleaseSummaryOut.from_orm(release).model_dump(mode="json")


def _delivery_finish(*, delivery: WebhookDelivery, status: WebhookDelivery.Status) -> None:
    delivery.status = status
    delivery.finished_at = timezone.now()
    delivery.save(
        update_fields=[
            "status",
            "attempts",
            "response_status",
            "last_error",
            "duration_ms",
            "finished_at",
        ]
    )
    if status == WebhookDelivery.Status.FAILED:
        logger.warning(
            "Webhook delivery %s to endpoint %s failed after %s attempts: %s",
            delivery.delivery_id,
            delivery.endpoint_id,
            delivery.attempts,
            delivery.last_error,
        )


def _endpoint_record(*, endpoint_pk: int, succeeded: bool, error: str) -> None:
    """Counts failures in a row under a row lock (two workers may finish at once) and disables
    the endpoint at the threshold."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_pk)
        if succeeded:
            endpoint.consecutive_failures = 0
            endpoint.save(update_fields=["consecutive_failures"])
            return
        endpoint.consecutive_failures += 1
        if endpoint.active and (
            endpoint.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
        ):
            endpoint.active = False
            endpoint.disabled_at = timezone.now()
            endpoint.disabled_reason = (
                f"{endpoint.consecutive_failures} failed deliveries in a row; last: {error}"
            )[:300]
            logger.warning(
                "Webhook endpoint %s disabled: %s", endpoint.pk, endpoint.disabled_reason
            )
        endpoint.save(
            update_fields=["consecutive_failures", "active", "disabled_at", "disabled_reason"]
        )


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint) -> None:
    endpoint.failures_reset()
    endpoint.save(
        update_fields=["active", "consecutive_failures", "disabled_at", "disabled_reason"]
    )


def webhook_endpoint_secret_replace(*, endpoint: WebhookEndpoint) -> str:
    """A new secret, returned so that the admin can show it, once; receivers need it from now."""
    endpoint.secret = webhook_secret_default()
    endpoint.save(update_fields=["secret"])
    return endpoint.secret

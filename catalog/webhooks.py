"""Webhooks: after a sync that finds releases never seen before, one signed POST per matching
endpoint, sent by a django-q2 worker so the sync never waits for a receiver."""

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from functools import partial
from time import monotonic, sleep
from typing import Any

import httpx
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from catalog.models import Release, ReleaseArtist, SyncRun, WebhookDelivery, WebhookEndpoint
from catalog.schemas import ReleaseSummaryOut
from catalog.selectors import release_as_dict
from catalog.webhook_urls import webhook_url_validate

logger = logging.getLogger(__name__)

EVENT = "releases.new"
USER_AGENT = "spotify-new-releases-webhooks/1.0"


@dataclass(frozen=True)
class AttemptsOutcome:
    attempts: int
    response_status: int | None
    error: str

    @property
    def succeeded(self) -> bool:
        return not self.error


def webhook_signature(*, body: bytes, secret: str) -> str:
    """The X-Signature-256 value: `sha256=` and the hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhooks_enqueue_for_run(*, run: SyncRun) -> None:
    """Called by the sync once its run is saved: deliveries are queued only once that commits,
    and a failure here is logged, never turned into a failed sync."""
    if run.status != SyncRun.Status.SUCCEEDED or not run.new_release_count:
        return
    transaction.on_commit(partial(webhook_deliveries_enqueue, run_pk=run.pk), robust=True)


def webhook_deliveries_enqueue(*, run_pk: int) -> list[WebhookDelivery]:
    run = SyncRun.objects.get(pk=run_pk)
    releases = list(_new_releases(run=run))
    # The ORM broker writes to this database: a delivery row and its queued task commit together.
    with transaction.atomic():
        deliveries = webhook_deliveries_create(run=run, releases=releases)
        for delivery in deliveries:
            async_task(
                "catalog.webhooks.webhook_delivery_send",
                delivery.pk,
                task_name=f"webhook {delivery.delivery_id}",
            )
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


def _new_releases(*, run: SyncRun) -> QuerySet[Release]:
    """Releases of the run's snapshot that this run inserted: their first_seen_at is set on
    insert only, never by a later update, and syncs never overlap."""
    return _with_credits(
        Release.objects.filter(entries__snapshot=run.snapshot, first_seen_at__gte=run.started_at)
    )


def _with_credits(releases: QuerySet[Release]) -> QuerySet[Release]:
    return releases.prefetch_related(
        Prefetch(
            "credits",
            queryset=ReleaseArtist.objects.select_related("artist").order_by("position"),
        )
    ).order_by("-release_date_sort", "name", "pk")


def webhook_delivery_send(delivery_pk: int) -> None:
    """The django-q2 task: tries a delivery up to WEBHOOK_MAX_ATTEMPTS times, then records it."""
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_pk)
    if delivery.status != WebhookDelivery.Status.PENDING:
        return  # already sent: a re-run task must not post twice
    endpoint = delivery.endpoint
    if not endpoint.active:
        _delivery_finish(
            delivery=delivery,
            outcome=AttemptsOutcome(0, None, "The endpoint was disabled before delivery"),
            duration_ms=0,
        )
        return
    body = _body(delivery)
    started = monotonic()
    outcome = _attempts(url=endpoint.url, secret=endpoint.secret, delivery=delivery, body=body)
    duration_ms = round((monotonic() - started) * 1000)
    _delivery_finish(delivery=delivery, outcome=outcome, duration_ms=duration_ms)
    _endpoint_record(endpoint_pk=endpoint.pk, succeeded=outcome.succeeded, error=outcome.error)


def _attempts(*, url: str, secret: str, delivery: WebhookDelivery, body: bytes) -> AttemptsOutcome:
    response_status: int | None = None
    error = ""
    attempt = 0
    with httpx.Client(
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
    ) as client:
        for attempt in range(1, settings.WEBHOOK_MAX_ATTEMPTS + 1):
            if attempt > 1 and settings.WEBHOOK_BACKOFF_SECONDS > 0:
                sleep(settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 2))
            try:
                # Checked again at send time: the host may resolve elsewhere than when saved.
                webhook_url_validate(url)
            except ValidationError as refused:
                return AttemptsOutcome(attempt, None, " ".join(refused.messages))
            try:
                response = client.post(
                    url, content=body, headers=_headers(delivery=delivery, body=body, secret=secret)
                )
            except httpx.HTTPError as failure:
                response_status, error = None, f"{type(failure).__name__}: {failure}"
                continue
            response_status = response.status_code
            if response.is_success:
                return AttemptsOutcome(attempt, response_status, "")
            error = f"The receiver answered HTTP {response_status}"
    return AttemptsOutcome(attempt, response_status, error)


def _headers(*, delivery: WebhookDelivery, body: bytes, secret: str) -> dict[str, str]:
    return {
        "X-Webhook-Event": EVENT,
        "X-Webhook-Delivery": str(delivery.delivery_id),
        "X-Webhook-Timestamp": str(int(time.time())),
        "X-Signature-256": webhook_signature(body=body, secret=secret),
    }


def _body(delivery: WebhookDelivery) -> bytes:
    releases = {
        release.spotify_id: release
        for release in _with_credits(Release.objects.filter(spotify_id__in=delivery.release_ids))
    }
    payload = {
        "event": EVENT,
        "delivery_id": str(delivery.delivery_id),
        "sync_run_id": delivery.sync_run_id,
        "count": len(releases),
        "releases": [
            webhook_release_as_dict(releases[spotify_id])
            for spotify_id in delivery.release_ids
            if spotify_id in releases
        ],
    }
    return json.dumps(payload, ensure_ascii=False).encode()


def webhook_release_as_dict(release: Release) -> dict[str, Any]:
    """The API's release shape (ReleaseSummaryOut, as /api/releases/ lists them)."""
    summary = release_as_dict(release) | {
        "label": release.label,
        "popularity": release.popularity,
        "first_seen_at": release.first_seen_at,
        "artists": [
            {
                "id": credit.artist.spotify_id,
                "name": credit.artist.name,
                "spotify_url": credit.artist.spotify_url,
            }
            for credit in release.credits.all()
        ],
    }
    return ReleaseSummaryOut.model_validate(summary).model_dump(mode="json")


def _delivery_finish(
    *, delivery: WebhookDelivery, outcome: AttemptsOutcome, duration_ms: int
) -> None:
    delivery.status = (
        WebhookDelivery.Status.SUCCEEDED if outcome.succeeded else WebhookDelivery.Status.FAILED
    )
    delivery.attempts = outcome.attempts
    delivery.response_status = outcome.response_status
    delivery.last_error = outcome.error
    delivery.duration_ms = duration_ms
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
    if not outcome.succeeded:
        logger.warning(
            "Webhook delivery %s to endpoint %s failed after %s attempts: %s",
            delivery.delivery_id,
            delivery.endpoint_id,
            outcome.attempts,
            outcome.error,
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

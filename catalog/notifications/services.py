"""Writes around notifications: the site-wide targets of NOTIFY_URLS, queueing a sync's message
or a digest for each target (each release at most once per target), running one attempt
(claim, send, log), scheduling the next one, and pausing a target that keeps failing."""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from time import monotonic

import apprise
from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django_q.models import Schedule
from django_q.tasks import async_task, schedule

from catalog.following_selectors import following_artist_spotify_ids
from catalog.models import (
    NotificationAttempt,
    NotificationDelivery,
    NotificationSent,
    NotificationTarget,
    Release,
    SyncRun,
)
from catalog.notifications.content import Message, notification_message
from catalog.notifications.transport import SendOutcome, notification_send
from catalog.notifications.validators import notification_plugin
from catalog.selectors import (
    VARIOUS_ARTISTS_ID,
    releases_by_ids,
    releases_first_seen_after,
    releases_new_in_run,
)

logger = logging.getLogger(__name__)

ATTEMPT_TASK = "catalog.notifications.tasks.notification_delivery_attempt"
REMOVED_FROM_SETTINGS = "Removed from NOTIFY_URLS"
# Weekly digests go out with the daily ones on this weekday (Monday).
WEEKLY_DIGEST_WEEKDAY = 0
DIGEST_PERIODS = {
    NotificationDelivery.Kind.DAILY: timedelta(days=1),
    NotificationDelivery.Kind.WEEKLY: timedelta(days=7),
}
# A digest also takes releases first seen a little before its period (a late schedule run):
# what was already sent is never sent again, so the overlap costs nothing.
DIGEST_SLACK = timedelta(hours=1)
TEST_TITLE = "Test from Spotify New Releases"
# A pending delivery whose attempt started (or was due) this long ago lost its worker or its
# queued task (as for webhooks: longer than django-q2's own re-delivery, Q_RETRY_SECONDS).
STALE_AFTER = timedelta(minutes=20)


def notification_target_digest(target: NotificationTarget) -> str:
    return target.digest or settings.NOTIFY_DIGEST


def notification_site_targets_sync() -> list[NotificationTarget]:
    """One row per URL of NOTIFY_URLS (found again by a keyed hash, the URL being encrypted):
    rows remember what each target was sent and how it fares. A URL removed from the setting
    has its row switched off; put back, it is on again. Unparseable URLs are logged and skipped."""
    wanted: dict[str, str] = {}
    for url in settings.NOTIFY_URLS:
        wanted.setdefault(salted_hmac("notify-url", url, algorithm="sha256").hexdigest(), url)
    targets = []
    with transaction.atomic():
        site = NotificationTarget.objects.select_for_update().filter(owner__isnull=True)
        existing = {target.url_digest: target for target in site}
        for digest, url in wanted.items():
            target = existing.get(digest)
            if target is None:
                try:
                    label = _label(url)
                except ValidationError:
                    logger.warning("NOTIFY_URLS: Apprise does not understand one of the URLs")
                    continue
                target = NotificationTarget.objects.create(url=url, url_digest=digest, label=label)
            elif not target.active and target.paused_reason == REMOVED_FROM_SETTINGS:
                target.active, target.paused_reason = True, ""
                target.save(update_fields=["active", "paused_reason"])
            targets.append(target)
        for digest, target in existing.items():
            if digest not in wanted and target.active:
                target.active, target.paused_reason = False, REMOVED_FROM_SETTINGS
                target.save(update_fields=["active", "paused_reason"])
    return targets


def _label(url: str) -> str:
    # Apprise's privacy form masks passwords and tokens; its query string only repeats options.
    masked = str(notification_plugin(url).url(privacy=True))  # type: ignore[no-untyped-call]
    return masked.split("?", 1)[0][:300]


def notification_target_create(
    *,
    owner: User,
    url: str,
    digest: str = "",
    album_types: Sequence[str] = (),
    exclude_various_artists: bool = False,
    only_followed_artists: bool = False,
) -> NotificationTarget:
    """A user's target, validated (Apprise, address rule) before it is stored."""
    target = NotificationTarget(
        owner=owner,
        url=url.strip(),
        digest=digest,
        album_types=list(album_types),
        exclude_various_artists=exclude_various_artists,
        only_followed_artists=only_followed_artists,
    )
    target.full_clean(exclude=["owner"])
    target.label = _label(target.url)
    target.save()
    return target


def notification_target_resume(*, target: NotificationTarget) -> None:
    target.active = True
    target.consecutive_failures = 0
    target.paused_at = None
    target.paused_reason = ""
    target.save(update_fields=["active", "consecutive_failures", "paused_at", "paused_reason"])


def notification_deliveries_enqueue(*, run_pk: int) -> list[NotificationDelivery]:
    """After a sync's snapshot commits: one message per target in `sync` mode, with the releases
    that sync saw first."""
    run = SyncRun.objects.get(pk=run_pk)
    notification_site_targets_sync()
    targets = [
        target
        for target in NotificationTarget.objects.filter(active=True)
        if notification_target_digest(target) == NotificationDelivery.Kind.SYNC
    ]
    if not targets:
        return []
    return _deliveries_create(
        kind=NotificationDelivery.Kind.SYNC,
        targets=targets,
        releases=releases_new_in_run(run=run),
        run=run,
        first_seen_after=run.started_at - timedelta(microseconds=1),
    )


def notification_digests_send(*, now: datetime) -> list[NotificationDelivery]:
    """The daily schedule's work: daily digests, and on Mondays the weekly ones too."""
    notification_site_targets_sync()
    kinds = [NotificationDelivery.Kind.DAILY]
    if timezone.localdate(now).weekday() == WEEKLY_DIGEST_WEEKDAY:
        kinds.append(NotificationDelivery.Kind.WEEKLY)
    active = list(NotificationTarget.objects.filter(active=True))
    deliveries = []
    for kind in kinds:
        targets = [target for target in active if notification_target_digest(target) == kind]
        if not targets:
            continue
        since = now - DIGEST_PERIODS[kind] - DIGEST_SLACK
        releases = releases_first_seen_after(moment=since)
        deliveries += _deliveries_create(
            kind=kind, targets=targets, releases=releases, run=None, first_seen_after=since
        )
    return deliveries


def _deliveries_create(
    *,
    kind: NotificationDelivery.Kind,
    targets: list[NotificationTarget],
    releases: list[Release],
    run: SyncRun | None,
    first_seen_after: datetime,
) -> list[NotificationDelivery]:
    """For each target, the releases its filters keep and that it was never sent, recorded as
    sent in the same transaction as the delivery and its queued task (the ORM broker's queue is
    in this database): a release is announced to a target once, whatever runs at the same time."""
    various = {
        release.pk
        for release in releases
        if any(credit.artist.spotify_id == VARIOUS_ARTISTS_ID for credit in release.credits.all())
    }
    deliveries = []
    for target in targets:
        followed = _followed_release_pks(target=target, releases=releases)
        with transaction.atomic():
            # One writer per target at a time: what was sent is read, then added to, under it.
            NotificationTarget.objects.select_for_update().filter(pk=target.pk).first()
            sent = set(
                NotificationSent.objects.filter(
                    target=target, release__in=[release.pk for release in releases]
                ).values_list("release_id", flat=True)
            )
            chosen = [
                release
                for release in releases
                if release.pk not in sent
                and (followed is None or release.pk in followed)
                and target.matches(
                    album_type=release.album_type, various_artists=release.pk in various
                )
            ]
            if not chosen:
                continue
            delivery = NotificationDelivery.objects.create(
                target=target,
                kind=kind,
                sync_run=run,
                release_ids=[release.spotify_id for release in chosen],
                release_count=len(chosen),
                first_seen_after=first_seen_after,
            )
            NotificationSent.objects.bulk_create(
                [NotificationSent(target=target, release=release) for release in chosen],
                ignore_conflicts=True,
            )
            _attempt_enqueue(delivery=delivery, attempt=1)
        deliveries.append(delivery)
    return deliveries


def _followed_release_pks(
    *, target: NotificationTarget, releases: list[Release]
) -> set[int] | None:
    """The releases crediting an artist the target's owner follows, or None when the target
    takes every artist (the option is off, or a site-wide target has no owner to follow any)."""
    if not target.only_followed_artists or target.owner is None:
        return None
    followed = following_artist_spotify_ids(user=target.owner)
    return {
        release.pk
        for release in releases
        if any(credit.artist.spotify_id in followed for credit in release.credits.all())
    }


def _attempt_enqueue(*, delivery: NotificationDelivery, attempt: int) -> None:
    async_task(
        ATTEMPT_TASK,
        delivery.pk,
        attempt,
        task_name=f"notification {delivery.pk} attempt {attempt}",
    )


def notification_attempt_run(*, delivery_pk: int, attempt: int) -> None:
    """Attempt number `attempt` of a delivery: one send, logged, then success, failure, or the
    next attempt scheduled for later (the worker never waits out a backoff)."""
    delivery = _attempt_claim(delivery_pk=delivery_pk, attempt=attempt)
    if delivery is None:
        return
    started = monotonic()
    outcome = _attempt_send(delivery=delivery)
    _attempt_record(delivery=delivery, outcome=outcome, duration_ms=_ms_since(started))


def _attempt_claim(*, delivery_pk: int, attempt: int) -> NotificationDelivery | None:
    """Marks the attempt as started, or None when it must not run: the delivery is over, this
    attempt already ran (a task delivered twice), or the target was paused or removed."""
    with transaction.atomic():
        delivery = (
            NotificationDelivery.objects.select_for_update(of=("self",))
            .select_related("target")
            .filter(pk=delivery_pk)
            .first()
        )
        if (
            delivery is None
            or delivery.status != NotificationDelivery.Status.PENDING
            or delivery.attempts != attempt - 1
        ):
            return None
        if not delivery.target.active:
            delivery.last_error = "The target was paused before delivery"
            _delivery_finish(delivery=delivery, status=NotificationDelivery.Status.FAILED)
            return None
        delivery.attempts = attempt
        delivery.attempt_at = timezone.now()
        delivery.save(update_fields=["attempts", "attempt_at"])
    return delivery


def _message(*, delivery: NotificationDelivery, plugin: apprise.plugins.NotifyBase) -> Message:
    return notification_message(
        releases=releases_by_ids(spotify_ids=delivery.release_ids),
        plugin=plugin,
        site_url=settings.SITE_URL,
        first_seen_after=delivery.first_seen_after,
    )


def _attempt_send(*, delivery: NotificationDelivery) -> SendOutcome:
    target = delivery.target
    try:
        plugin = notification_plugin(target.url)
    except ValidationError as refused:
        return SendOutcome(error=" ".join(refused.messages), retryable=False)
    if delivery.kind == NotificationDelivery.Kind.TEST:
        message = _test_message(target=target)
    else:
        message = _message(delivery=delivery, plugin=plugin)
    return notification_send(
        plugin=plugin,
        title=message.title,
        body=message.body,
        body_format=message.body_format,
        trusted=target.is_site_wide,
    )


def _test_message(*, target: NotificationTarget) -> Message:
    mode = dict(NotificationTarget.Digest.choices)[notification_target_digest(target)]
    return Message(
        title=TEST_TITLE,
        body=f"This target works. New releases will come here: {mode.lower()}.",
        body_format=apprise.NotifyFormat.TEXT,
    )


def _ms_since(started: float) -> int:
    return round((monotonic() - started) * 1000)


def _attempt_record(
    *, delivery: NotificationDelivery, outcome: SendOutcome, duration_ms: int
) -> None:
    NotificationAttempt.objects.create(
        delivery=delivery,
        target_id=delivery.target_id,
        number=delivery.attempts,
        succeeded=outcome.succeeded,
        error=outcome.error,
        duration_ms=duration_ms,
    )
    delivery.last_error = outcome.error
    if delivery.kind == NotificationDelivery.Kind.TEST:
        status = NotificationDelivery.Status.SUCCEEDED
        if not outcome.succeeded:
            status = NotificationDelivery.Status.FAILED
        _delivery_finish(delivery=delivery, status=status)
        return  # a test says whether the target works; it does not count towards a pause
    _target_record(target_pk=delivery.target_id, succeeded=outcome.succeeded, error=outcome.error)
    if outcome.succeeded:
        _delivery_finish(delivery=delivery, status=NotificationDelivery.Status.SUCCEEDED)
    elif outcome.retryable and delivery.attempts < settings.NOTIFY_MAX_ATTEMPTS:
        _retry_schedule(delivery=delivery)
    else:
        _delivery_finish(delivery=delivery, status=NotificationDelivery.Status.FAILED)


def _retry_schedule(*, delivery: NotificationDelivery) -> None:
    """The next attempt is a django-q2 schedule that runs once, after base x 2^(n-1) seconds."""
    delay = settings.NOTIFY_BACKOFF_SECONDS * 2 ** (delivery.attempts - 1)
    delivery.attempt_at = timezone.now() + timedelta(seconds=delay)
    with transaction.atomic():
        delivery.save(update_fields=["last_error", "attempt_at"])
        schedule(
            ATTEMPT_TASK,
            delivery.pk,
            delivery.attempts + 1,
            name=f"notification {delivery.pk} attempt {delivery.attempts + 1}",
            schedule_type=Schedule.ONCE,
            repeats=-1,  # a ONCE schedule is deleted once it has run
            next_run=delivery.attempt_at,
        )


def notification_deliveries_recover_stale() -> int:
    """Deliveries pending long after their attempt started or was due: each gets its next
    attempt queued, or fails if it had its last. Runs when an attempt starts and after every
    sync, like the webhooks' recovery."""
    now = timezone.now()
    with transaction.atomic():
        stale = list(
            NotificationDelivery.objects.select_for_update(skip_locked=True).filter(
                status=NotificationDelivery.Status.PENDING, attempt_at__lt=now - STALE_AFTER
            )
        )
        for delivery in stale:
            if delivery.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
                delivery.last_error = (
                    "Interrupted: the worker sending the last attempt stopped before it ended"
                )
                _delivery_finish(delivery=delivery, status=NotificationDelivery.Status.FAILED)
                continue
            delivery.attempt_at = now
            delivery.save(update_fields=["attempt_at"])
            _attempt_enqueue(delivery=delivery, attempt=delivery.attempts + 1)
    if stale:
        logger.warning("Recovered %s notification deliveries left pending", len(stale))
    return len(stale)


def _delivery_finish(
    *, delivery: NotificationDelivery, status: NotificationDelivery.Status
) -> None:
    delivery.status = status
    delivery.finished_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "last_error", "finished_at"])
    if status == NotificationDelivery.Status.FAILED:
        logger.warning(
            "Notification %s to target %s failed after %s attempts: %s",
            delivery.pk,
            delivery.target_id,
            delivery.attempts,
            delivery.last_error,
        )


def _target_record(*, target_pk: int, succeeded: bool, error: str) -> None:
    """Counts failed attempts in a row under a row lock and pauses the target at the threshold:
    staff see it on the dashboard's sync card and the notifications page."""
    with transaction.atomic():
        target = NotificationTarget.objects.select_for_update().get(pk=target_pk)
        if succeeded:
            if target.consecutive_failures:
                target.consecutive_failures = 0
                target.save(update_fields=["consecutive_failures"])
            return
        target.consecutive_failures += 1
        if target.active and target.consecutive_failures >= settings.NOTIFY_PAUSE_AFTER_FAILURES:
            target.active = False
            target.paused_at = timezone.now()
            target.paused_reason = (
                f"{target.consecutive_failures} failed attempts in a row; last: {error}"
            )[:300]
            logger.warning("Notification target %s paused: %s", target, target.paused_reason)
        target.save(update_fields=["consecutive_failures", "active", "paused_at", "paused_reason"])


def notification_test_send(*, target: NotificationTarget) -> NotificationDelivery:
    """ "Send a test", from the page, at once: one attempt, logged, without retries."""
    delivery = NotificationDelivery.objects.create(
        target=target, kind=NotificationDelivery.Kind.TEST, attempts=1
    )
    delivery.target = target
    started = monotonic()
    outcome = _attempt_send(delivery=delivery)
    _attempt_record(delivery=delivery, outcome=outcome, duration_ms=_ms_since(started))
    return delivery

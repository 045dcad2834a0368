"""Metrics read from the database at scrape time: right on whichever machine is scraped, however
many web and worker processes there are, and across restarts."""

import logging
from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError
from django.db.models import Count, F, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from catalog.models import Snapshot, SyncRun, WebhookDelivery
from catalog.selectors import task_queue_length

logger = logging.getLogger(__name__)

# What the latest snapshot of the default (country-less) market is labelled.
GLOBAL_MARKET = "global"


class CatalogCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        try:
            metrics = list(_database_metrics(now=timezone.now()))
        except DatabaseError:
            # The endpoint still answers (request and Spotify metrics), and says why these are
            # missing; the health check has the details.
            yield _gauge("snr_database_up", "Whether the database answered this scrape.", 0)
            return
        yield _gauge("snr_database_up", "Whether the database answered this scrape.", 1)
        yield from metrics


def _database_metrics(*, now: datetime) -> Iterator[Metric]:
    last_success = (
        SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if last_success is not None:
        yield _gauge(
            "snr_last_successful_sync_age_seconds",
            "Seconds since the last successful sync finished (absent before the first).",
            (now - last_success).total_seconds(),
        )

    releases = GaugeMetricFamily(
        "snr_snapshot_releases", "Releases in the latest snapshot, by market.", labels=["market"]
    )
    artists = GaugeMetricFamily(
        "snr_snapshot_artists", "Artists in the latest snapshot, by market.", labels=["market"]
    )
    latest_per_market = Snapshot.objects.order_by("market", "-date").distinct("market")
    for snapshot in latest_per_market.only("market", "release_count", "artist_count"):
        market = snapshot.market or GLOBAL_MARKET
        releases.add_metric([market], snapshot.release_count)
        artists.add_metric([market], snapshot.artist_count)
    yield releases
    yield artists

    runs = GaugeMetricFamily(
        "snr_sync_runs",
        "Sync runs kept in the database (housekeeping prunes old ones), by trigger and status.",
        labels=["trigger", "status"],
    )
    for run_count in SyncRun.objects.values("trigger", "status").annotate(count=Count("pk")):
        runs.add_metric([run_count["trigger"], run_count["status"]], run_count["count"])
    yield runs

    durations = SummaryMetricFamily(
        "snr_sync_duration_seconds",
        "Durations of the finished sync runs kept in the database, by status.",
        labels=["status"],
    )
    finished = (
        SyncRun.objects.filter(finished_at__isnull=False)
        .exclude(status=SyncRun.Status.SKIPPED)
        .values("status")
        .annotate(count=Count("pk"), total=Sum(F("finished_at") - F("started_at")))
    )
    for duration in finished:
        durations.add_metric(
            [duration["status"]], duration["count"], duration["total"].total_seconds()
        )
    yield durations

    last_run = (
        SyncRun.objects.filter(finished_at__isnull=False)
        .exclude(status=SyncRun.Status.SKIPPED)
        .order_by("-finished_at")
        .first()
    )
    if last_run is not None and last_run.finished_at is not None:
        yield _gauge(
            "snr_last_sync_duration_seconds",
            "How long the last finished sync took.",
            (last_run.finished_at - last_run.started_at).total_seconds(),
        )
        outcome = GaugeMetricFamily(
            "snr_last_sync_outcome", "1 for how the last finished sync ended.", labels=["status"]
        )
        outcome.add_metric([last_run.status], 1)
        yield outcome

    # Each market is its own run: one market failing shows even when a later one succeeded.
    market_outcome = GaugeMetricFamily(
        "snr_market_last_sync_outcome",
        "1 for how each market's last finished sync ended.",
        labels=["market", "status"],
    )
    last_per_market = (
        SyncRun.objects.filter(finished_at__isnull=False)
        .exclude(status=SyncRun.Status.SKIPPED)
        .order_by("market", "-started_at", "-pk")
        .distinct("market")
    )
    for market_run in last_per_market.only("market", "status"):
        market_outcome.add_metric([market_run.market or GLOBAL_MARKET, market_run.status], 1)
    yield market_outcome

    deliveries = GaugeMetricFamily(
        "snr_webhook_deliveries",
        "Webhook deliveries kept in the database, by outcome.",
        labels=["status"],
    )
    for delivery_count in WebhookDelivery.objects.values("status").annotate(count=Count("pk")):
        deliveries.add_metric([delivery_count["status"]], delivery_count["count"])
    yield deliveries

    try:
        length = task_queue_length()
    except Exception:  # Redis's errors, say: the queue's broker is down, the database is not
        logger.warning("Metrics: the task queue's length could not be read", exc_info=True)
        return
    yield _gauge("snr_task_queue_length", "Tasks waiting for a worker.", length)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)

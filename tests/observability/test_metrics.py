import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_q.tasks import async_task
from prometheus_client.parser import text_string_to_metric_families

from catalog.models import SyncRun, WebhookDelivery, WebhookEndpoint
from tests.factories import SnapshotFactory, SyncRunFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-0123456789abcdef"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []


def scrape(client) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """name -> {sorted labels: value}, as Prometheus' own parser reads the answer."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_anonymous_callers_get_403(client, metrics_token):
    assert client.get("/metrics").status_code == 403
    wrong = client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403


def test_no_token_and_no_addresses_configured_lets_nobody_in(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []

    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403
    assert client.get("/metrics").status_code == 403


@pytest.mark.parametrize(
    ("allowed", "address", "status"),
    [
        (["10.0.0.0/8"], "10.1.2.3", 200),
        (["10.0.0.0/8"], "192.0.2.7", 403),
        (["192.0.2.7", "2001:db8::/32"], "2001:db8::1", 200),
    ],
)
def test_allowed_addresses_need_no_token(client, settings, allowed, address, status):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = allowed

    assert client.get("/metrics", REMOTE_ADDR=address).status_code == status


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_checked(client, settings):
    """The address django-axes sees (TRUSTED_PROXY_COUNT): the proxy's own address lets nobody in,
    and a client cannot claim an allowed one by writing X-Forwarded-For itself."""
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    settings.AXES_IPWARE_PROXY_COUNT = 0  # TRUSTED_PROXY_COUNT=1: the nearest proxy only
    settings.IPWARE_STRICT = False
    proxy = {"REMOTE_ADDR": "10.9.9.9"}

    allowed = client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3", **proxy)
    outsider = client.get("/metrics", HTTP_X_FORWARDED_FOR="192.0.2.7", **proxy)
    spoofed = client.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3, 192.0.2.7", **proxy)

    assert (allowed.status_code, outsider.status_code, spoofed.status_code) == (200, 403, 403)


def test_a_bad_allowed_address_refuses_to_start():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env={
            "PATH": "/usr/bin:/bin",
            "DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "METRICS_ALLOWED_IPS": "10.0.0.0/8,not-an-address",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "METRICS_ALLOWED_IPS: 'not-an-address' is not an address or network" in result.stderr


def test_metrics_read_syncs_snapshots_deliveries_and_the_queue(client, metrics_token):
    now = timezone.now()
    SyncRunFactory.create(
        status=SyncRun.Status.SUCCEEDED,
        started_at=now - timedelta(minutes=10, seconds=30),
        finished_at=now - timedelta(minutes=10),
    )
    SyncRunFactory.create(
        trigger=SyncRun.Trigger.MANUAL,
        status=SyncRun.Status.FAILED,
        started_at=now - timedelta(minutes=2),
        finished_at=now - timedelta(minutes=2) + timedelta(seconds=4),
    )
    SnapshotFactory.create(date=now.date() - timedelta(days=1), market="US", release_count=5)
    SnapshotFactory.create(date=now.date(), market="US", release_count=7, artist_count=6)
    SnapshotFactory.create(date=now.date(), market="", release_count=3, artist_count=2)
    endpoint = WebhookEndpoint.objects.create(url="https://example.com/hook")
    for status in ("succeeded", "succeeded", "failed", "pending"):
        WebhookDelivery.objects.create(endpoint=endpoint, status=status)
    async_task("catalog.tasks.housekeeping")

    metrics = scrape(client)

    assert metrics["snr_database_up"] == {(): 1}
    assert 600 <= metrics["snr_last_successful_sync_age_seconds"][()] < 700
    assert metrics["snr_snapshot_releases"] == {(("market", "US"),): 7, (("market", "global"),): 3}
    assert metrics["snr_snapshot_artists"] == {(("market", "US"),): 6, (("market", "global"),): 2}
    assert metrics["snr_sync_runs"] == {
        (("status", "succeeded"), ("trigger", "schedule")): 1,
        (("status", "failed"), ("trigger", "manual")): 1,
    }
    assert metrics["snr_sync_duration_seconds_count"] == {
        (("status", "succeeded"),): 1,
        (("status", "failed"),): 1,
    }
    assert metrics["snr_sync_duration_seconds_sum"][(("status", "succeeded"),)] == 30
    assert metrics["snr_last_sync_duration_seconds"] == {(): 4}
    assert metrics["snr_last_sync_outcome"] == {(("status", "failed"),): 1}
    assert metrics["snr_webhook_deliveries"] == {
        (("status", "succeeded"),): 2,
        (("status", "failed"),): 1,
        (("status", "pending"),): 1,
    }
    assert metrics["snr_task_queue_length"] == {(): 1}


def test_request_metrics_count_by_route_and_status(client, metrics_token):
    before = scrape(client).get("snr_http_request_duration_seconds_count", {})
    client.get("/api/health/live")
    client.get("/api/health/live")
    client.get("/no-such-page/")

    after = scrape(client)["snr_http_request_duration_seconds_count"]

    live = (("method", "GET"), ("route", "api:health_live"), ("status", "200"))
    unmatched = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert after[live] - before.get(live, 0) == 2
    assert after[unmatched] - before.get(unmatched, 0) == 1


def test_a_method_of_the_clients_own_invention_makes_no_series_of_its_own(client, metrics_token):
    before = scrape(client).get("snr_http_request_duration_seconds_count", {})
    client.generic("BREW", "/api/health/live")
    client.generic("FROBNICATE", "/api/health/live")

    after = scrape(client)["snr_http_request_duration_seconds_count"]

    other = (("method", "other"), ("route", "api:health_live"), ("status", "405"))
    assert after[other] - before.get(other, 0) == 2
    assert not any(dict(labels)["method"] in ("BREW", "FROBNICATE") for labels in after)


def test_cached_answers_and_304s_are_counted_under_their_route(client, metrics_token):
    SnapshotFactory.create()
    before = scrape(client).get("snr_http_request_duration_seconds_count", {})
    etag = client.get("/api/releases/")["ETag"]  # the view runs
    client.get("/api/releases/")  # the cached bytes
    assert client.get("/api/releases/", headers={"If-None-Match": etag}).status_code == 304

    after = scrape(client)["snr_http_request_duration_seconds_count"]

    ok = (("method", "GET"), ("route", "api:release_list"), ("status", "200"))
    not_modified = (("method", "GET"), ("route", "api:release_list"), ("status", "304"))
    assert after[ok] - before.get(ok, 0) == 2
    assert after[not_modified] - before.get(not_modified, 0) == 1


def test_the_database_down_still_answers_with_the_process_metrics(
    client, metrics_token, monkeypatch
):
    from django.db import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", refuse)

    metrics = scrape(client)

    assert metrics["snr_database_up"] == {(): 0}
    assert "snr_snapshot_releases" not in metrics


def test_metrics_dir_sums_what_every_process_of_every_host_counted(
    client, metrics_token, settings, tmp_path
):
    """A django-q2 worker's Spotify calls reach /metrics through the shared directory, whatever
    container each process runs in (pids repeat across containers: one subdirectory per host)."""
    code = (
        "from spotify.metrics import spotify_call_count, spotify_retry_after_waited\n"
        "spotify_call_count(endpoint='GET /browse/new-releases', status=429)\n"
        "spotify_call_count(endpoint='GET /browse/new-releases', status=200)\n"
        "spotify_retry_after_waited(seconds=3)\n"
    )
    for host in ("worker-1", "worker-2"):
        (tmp_path / host).mkdir()
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / host)},
            cwd=ROOT,
            check=True,
        )
    settings.METRICS_DIR = str(tmp_path)

    metrics = scrape(client)

    endpoint = ("endpoint", "GET /browse/new-releases")
    assert metrics["snr_spotify_calls_total"][(endpoint, ("status", "429"))] == 2
    assert metrics["snr_spotify_calls_total"][(endpoint, ("status", "200"))] == 2
    assert metrics["snr_spotify_rate_limited_total"][(endpoint,)] == 2
    assert metrics["snr_spotify_retry_after_wait_seconds_total"][()] == 6


def test_metrics_dir_gives_each_host_its_own_subdirectory(tmp_path):
    code = "import os, django; django.setup(); print(os.environ['PROMETHEUS_MULTIPROC_DIR'])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={
            "PATH": "/usr/bin:/bin",
            "DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "METRICS_DIR": str(tmp_path),
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )

    directory = Path(result.stdout.strip().splitlines()[-1])
    assert directory == tmp_path / socket.gethostname()
    assert directory.is_dir()


def test_each_markets_last_sync_outcome_has_its_label(client, metrics_token):
    now = timezone.now()
    for market, status in (("US", "succeeded"), ("FR", "failed"), ("FR", "succeeded")):
        SyncRun.objects.create(
            trigger=SyncRun.Trigger.SCHEDULE,
            market=market,
            status=status,
            started_at=now - timedelta(minutes=5 if status == "failed" else 10),
            finished_at=now - timedelta(minutes=4),
        )
    SnapshotFactory.create(date=now.date(), market="FR", release_count=4, artist_count=3)

    metrics = scrape(client)

    assert metrics["snr_market_last_sync_outcome"] == {
        (("market", "US"), ("status", "succeeded")): 1,
        (("market", "FR"), ("status", "failed")): 1,
    }
    assert metrics["snr_snapshot_releases"] == {(("market", "FR"),): 4}

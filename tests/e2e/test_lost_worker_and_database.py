"""The database connection lost in the middle of a sync, and a worker killed in the middle of one:
nothing half-written, nothing stuck "running", and the next run succeeds."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from django.db import connection

from catalog import services
from catalog.models import Artist, Release, SnapshotEntry, SyncRun
from catalog.services import INTERRUPTED_ERROR, sync_run_execute
from catalog.sync_lock import SYNC_LOCK_KEY
from tests.e2e.conftest import FakeServer

ROOT = Path(__file__).resolve().parents[2]
NEW_RELEASES = "GET /v1/browse/new-releases"


def dsn() -> str:
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return (
        f"postgresql://{quote(db['USER'], safe='')}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def wait_for(condition: Callable[[], bool], *, seconds: float, what: str) -> None:
    """Polls until `condition` holds; the deadline only bounds a broken run, it asserts nothing."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def sync_lock_holders() -> int:
    with psycopg.connect(dsn(), autocommit=True) as other:
        row = other.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [SYNC_LOCK_KEY],
        ).fetchone()
    return int(row[0]) if row else 0


def state() -> tuple[list[Any], int, int]:
    entries = list(
        SnapshotEntry.objects.order_by("rank").values_list("release__spotify_id", "rank")
    )
    return entries, Release.objects.count(), Artist.objects.count()


@pytest.mark.django_db(transaction=True)
def test_database_connection_lost_mid_sync_rolls_back_and_the_next_run_succeeds(
    fake_spotify: FakeServer, monkeypatch: pytest.MonkeyPatch
):
    fake_spotify.configure(release_count=20)
    assert sync_run_execute(trigger=SyncRun.Trigger.CLI).status == SyncRun.Status.SUCCEEDED
    before = state()
    fake_spotify.configure(release_count=40)
    upsert_releases = services._releases_upsert

    def connection_lost_after_the_artists(**kwargs: Any) -> Any:
        # Artists are already upserted in this transaction: the server now kills our session.
        pid = connection.connection.info.backend_pid
        with psycopg.connect(dsn(), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [pid])
        return upsert_releases(**kwargs)

    monkeypatch.setattr(services, "_releases_upsert", connection_lost_after_the_artists)

    run = sync_run_execute(trigger=SyncRun.Trigger.CLI)

    assert run.status == SyncRun.Status.FAILED
    assert run.error == "terminating connection due to administrator command"
    assert state() == before  # rolled back: not one of the 20 new releases or their artists
    assert sync_lock_holders() == 0
    monkeypatch.undo()

    after = sync_run_execute(trigger=SyncRun.Trigger.CLI)

    assert after.status == SyncRun.Status.SUCCEEDED, after.error
    assert after.release_count == 40
    assert Release.objects.count() == 40


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sync_releases_the_lock_and_its_run_is_marked_failed(
    fake_spotify: FakeServer,
):
    # Slow enough that the worker is surely inside the sync, holding the lock, when it is killed.
    fake_spotify.configure(slow_seconds=5.0, fault_paths=["/v1/browse/new-releases"])
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": dsn(),
        "SPOTIFY_CLIENT_ID": "demo-client-id",
        "SPOTIFY_CLIENT_SECRET": "demo-client-secret",
        "SPOTIFY_API_BASE_URL": f"{fake_spotify.root}/v1",
        "SPOTIFY_ACCOUNTS_BASE_URL": fake_spotify.root,
        "SPOTIFY_TIMEOUT_SECONDS": "60",
        "LOG_LEVEL": "WARNING",
    }
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "sync_releases"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(
            lambda: fake_spotify.calls(NEW_RELEASES) >= 1 and sync_lock_holders() == 1,
            seconds=60,
            what="the worker to hold the lock and wait on Spotify",
        )
        orphan = SyncRun.objects.get(status=SyncRun.Status.RUNNING)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    # The lock was the worker's session's: PostgreSQL drops it when the session ends.
    wait_for(lambda: sync_lock_holders() == 0, seconds=30, what="the lock to be released")
    assert SyncRun.objects.get(pk=orphan.pk).status == SyncRun.Status.RUNNING
    fake_spotify.configure(slow_seconds=0.0)

    run = sync_run_execute(trigger=SyncRun.Trigger.SCHEDULE)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    orphan.refresh_from_db()
    assert orphan.status == SyncRun.Status.FAILED
    assert orphan.error == INTERRUPTED_ERROR
    assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()

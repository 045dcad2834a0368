"""Scale-out on loopback: 2 gunicorn servers and 2 `qcluster` workers against one PostgreSQL (the
test database) and Redis (REDIS_URL: the queue and the shared cache), in demo mode with a slowed
fake Spotify. One test, in phases, so that the clusters' scheduler tick (every 30 s in django-q2)
is waited for once."""

import json
import os
import signal
import socket
import string
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_q.models import OrmQ

from catalog.models import Snapshot, SyncRun
from catalog.scheduling import sync_schedule_ensure
from catalog.services import INTERRUPTED_ERROR
from catalog.sync_lock import SYNC_LOCK_KEY
from tests.conftest import TEST_REDIS_KEY_PREFIX

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
# Each Spotify call of the demo takes this long: a sync lasts a few seconds, long enough to kill.
FAKE_CONFIG = {"slow_seconds": 1.5}
# django-q2's sentinel asks the scheduler every 30 s of its guard loop.
SCHEDULER_TICK_SECONDS = 30
STARTUP_SECONDS = 30


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "postgres", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Processes:
    servers: dict[str, str] = field(default_factory=dict)  # name -> base URL
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)


def _start(command: list[str], *, name: str, env: dict[str, str], into: Processes) -> Any:
    log_dir = ROOT / "test-results"
    log_dir.mkdir(exist_ok=True)
    log = (log_dir / f"scale-out-{name}.log").open("wb")
    into.logs.append(log)
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        # PGAPPNAME names the process's database sessions: who holds the sync lock can be told.
        env={**env, "PGAPPNAME": name},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    into.started.append(process)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def wait_for(condition: Callable[[], Any], *, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.05)
    raise AssertionError(f"Timed out after {seconds} s waiting for {what}")


@pytest.fixture
def scaled_out(redis_url: str) -> Iterator[Processes]:
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": TEST_REDIS_KEY_PREFIX,
        "SECRET_KEY": django_settings.SECRET_KEY,
        "SPOTIFY_CLIENT_ID": "",
        "SPOTIFY_CLIENT_SECRET": "",
        "FAKE_SPOTIFY_CONFIG": json.dumps(FAKE_CONFIG),
        "DEBUG": "1",
        "ALLOWED_HOSTS": "127.0.0.1",
        "Q_WORKERS": "1",
        "Q_SYNC": "0",
        "LOG_FORMAT": "json",
    }
    env.pop("TEST_DATABASE_NAME", None)
    processes = Processes()
    try:
        for name in ("web-a", "web-b"):
            port = _free_port()
            _start(
                [
                    *[sys.executable, "-m", "gunicorn", "project.wsgi"],
                    *["--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"],
                ],
                name=name,
                env=env,
                into=processes,
            )
            processes.servers[name] = f"http://127.0.0.1:{port}"
        for name in ("worker-a", "worker-b"):
            processes.workers[name] = _start(
                [sys.executable, "manage.py", "qcluster"], name=name, env=env, into=processes
            )
        for name, root in processes.servers.items():
            wait_for(
                partial(_answers, f"{root}/api/health/live"),
                seconds=STARTUP_SECONDS,
                what=f"{name} to answer",
            )
        yield processes
    finally:
        for process in processes.started:
            _stop(process)
        for log in processes.logs:
            log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def staff_session() -> dict[str, str]:
    """The cookies of a signed-in staff member (the session is in PostgreSQL: valid on both)."""
    staff = get_user_model().objects.create_user("ops", password="not-used-here", is_staff=True)
    client = Client()
    client.force_login(staff)
    csrf = "".join(string.ascii_letters[i % 52] for i in range(32))
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": csrf}


def press_refresh(root: str, cookies: dict[str, str]) -> None:
    response = httpx.post(
        f"{root}/sync/refresh/",
        cookies=cookies,
        headers={"X-CSRFToken": cookies["csrftoken"]},
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]


def sync_lock_holder() -> str | None:
    """The application name (PGAPPNAME) of the session holding the sync's advisory lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT activity.application_name FROM pg_locks AS locks
            JOIN pg_stat_activity AS activity ON activity.pid = locks.pid
            WHERE locks.locktype = 'advisory' AND locks.granted
              AND locks.classid::bigint = %s AND locks.objid::bigint = %s
            """,
            [SYNC_LOCK_KEY >> 32, SYNC_LOCK_KEY & 0xFFFF_FFFF],
        )
        row = cursor.fetchone()
    return str(row[0]) if row else None


def first_seen(root: str, *, into: dict[str, float]) -> None:
    """Polls `root`'s /api/snapshots/ until it lists a snapshot, and notes when."""
    with httpx.Client(timeout=5) as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            items = client.get(f"{root}/api/snapshots/").json()["items"]
            if items:
                into[root] = time.time()
                return
            time.sleep(0.02)


def test_two_servers_and_two_workers_share_one_queue_one_cache_and_one_sync(scaled_out):
    servers = list(scaled_out.servers.values())
    cookies = staff_session()
    # Due now: both clusters' schedulers will find it at their first tick, at about the same time.
    schedule, _ = sync_schedule_ensure(minutes=60)

    # --- "Refresh now" on both servers at once: one sync; both serve it within 1 s of its commit.
    seen: dict[str, float] = {}
    pollers = [
        threading.Thread(target=first_seen, args=(root,), kwargs={"into": seen}) for root in servers
    ]
    for poller in pollers:
        poller.start()
    presses = [threading.Thread(target=press_refresh, args=(root, cookies)) for root in servers * 3]
    for press in presses:
        press.start()
    for press in presses:
        press.join()
    committed_at = wait_for(
        lambda: Snapshot.objects.exists() and time.time(), seconds=30, what="the snapshot"
    )
    for poller in pollers:
        poller.join(timeout=10)
    run = wait_for(
        lambda: SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).first(),
        seconds=30,
        what="the sync to finish",
    )
    assert run.trigger == SyncRun.Trigger.MANUAL
    assert SyncRun.objects.count() == 1, list(SyncRun.objects.values("trigger", "status"))
    assert set(seen) == set(servers)
    for root in servers:
        # The test sees the commit by polling every 50 ms: it was no later than that.
        assert seen[root] - committed_at <= 1.0, f"{root} served the new data too late"
    # The queue was Redis, not PostgreSQL.
    assert not OrmQ.objects.exists()

    # --- The schedule: both clusters' schedulers see it due; it fires once.
    scheduled = wait_for(
        lambda: SyncRun.objects.filter(trigger=SyncRun.Trigger.SCHEDULE).first(),
        seconds=SCHEDULER_TICK_SECONDS + 15,
        what="the scheduled sync",
    )
    wait_for(
        lambda: not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists(),
        seconds=30,
        what="the scheduled sync to finish",
    )
    # Both clusters started within a few seconds of each other: by now both have ticked.
    time.sleep(3)
    assert SyncRun.objects.filter(trigger=SyncRun.Trigger.SCHEDULE).count() == 1
    schedule.refresh_from_db()
    assert schedule.next_run > scheduled.started_at + timedelta(minutes=59)

    # --- Kill the worker running a sync: the next sync runs on the other; nothing stays running.
    press_refresh(servers[0], cookies)
    holder = wait_for(sync_lock_holder, seconds=20, what="a worker to hold the sync lock")
    killed_run = wait_for(
        lambda: SyncRun.objects.filter(status=SyncRun.Status.RUNNING).first(),
        seconds=10,
        what="its run to be recorded",
    )
    survivor = next(name for name in scaled_out.workers if name != holder)
    os.killpg(scaled_out.workers[holder].pid, signal.SIGKILL)
    scaled_out.workers[holder].wait(timeout=10)
    wait_for(lambda: sync_lock_holder() is None, seconds=10, what="the lock to die with it")

    press_refresh(servers[1], cookies)
    assert wait_for(sync_lock_holder, seconds=20, what="the other worker to sync") == survivor
    last = wait_for(
        lambda: SyncRun.objects.filter(pk__gt=killed_run.pk).exclude(status="running").first(),
        seconds=30,
        what="the survivor's sync to finish",
    )
    assert (last.trigger, last.status) == (SyncRun.Trigger.MANUAL, SyncRun.Status.SUCCEEDED)
    killed_run.refresh_from_db()
    assert killed_run.status == SyncRun.Status.FAILED
    assert killed_run.error == INTERRUPTED_ERROR
    assert not SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exists()
    assert last.finished_at is not None
    assert timezone.now() - last.finished_at < timedelta(minutes=1)

    # --- LOG_FORMAT=json: every line each worker wrote is one JSON object; sync lines name the run.
    for name in scaled_out.workers:
        lines = [
            json.loads(line)
            for line in (ROOT / "test-results" / f"scale-out-{name}.log").read_text().splitlines()
        ]
        sync_lines = [line for line in lines if line["logger"] == "catalog.services"]
        assert all("sync_run_id" in line for line in sync_lines)

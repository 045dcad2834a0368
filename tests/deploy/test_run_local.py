"""`make run`'s script for real: a fresh database, the demo served, and nothing left after a stop."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, dict[str, object]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read())


def _session_processes(session_id: int) -> list[str]:
    ps = subprocess.run(
        ["ps", "-eo", "sid=,pid=,args="], capture_output=True, text=True, check=True
    )
    return [line for line in ps.stdout.splitlines() if line.split()[0] == str(session_id)]


def test_run_local_serves_the_demo_and_stops_everything_it_started(scratch_database_name):
    port = _free_port()
    database = settings.DATABASES["default"]
    keep = ("PATH", "HOME", "LANG")
    env = {key: os.environ[key] for key in keep if key in os.environ} | {
        "POSTGRES_DB": scratch_database_name,
        "POSTGRES_HOST": str(database["HOST"]),
        "POSTGRES_PORT": str(database["PORT"]),
        "POSTGRES_USER": str(database["USER"]),
        "POSTGRES_PASSWORD": str(database["PASSWORD"]),
        "RUN_PORT": str(port),
    }
    # Its own session, so that every process it starts can be found afterwards.
    script = subprocess.Popen(
        ["scripts/run-local"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert script.poll() is None, script.stdout.read() if script.stdout else ""
            try:
                status, health = _get(f"{base}/api/health/")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        _, artists = _get(f"{base}/api/artists/?limit=200")
    finally:
        script.send_signal(signal.SIGTERM)
        output, _ = script.communicate(timeout=60)

    assert status == 200
    assert health["spotify_mode"] == "demo"
    assert health["last_sync"]["status"] == "succeeded"  # type: ignore[index]
    assert artists["snapshot"]["source"] == "demo"  # type: ignore[index]
    assert 50 <= artists["count"] <= 100  # type: ignore[operator]
    assert f"http://127.0.0.1:{port}/" in output
    assert "LOCAL USE ONLY" in output
    assert "Stopped." in output
    assert _session_processes(script.pid) == []

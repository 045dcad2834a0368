import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError
from django.utils import timezone

from catalog.models import SyncRun
from spotify.models import SpotifyConnection
from tests.factories import SyncRunFactory

pytestmark = pytest.mark.django_db


def test_health_before_any_sync(client):
    response = client.get("/api/health/")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "last_sync": None,
        "spotify_mode": "app",
    }


def test_health_reports_the_latest_sync(client):
    now = timezone.now()
    SyncRunFactory.create(
        trigger=SyncRun.Trigger.CLI,
        status=SyncRun.Status.SUCCEEDED,
        started_at=now - timedelta(hours=2),
        finished_at=now - timedelta(hours=2),
    )
    latest = SyncRunFactory.create(
        status=SyncRun.Status.FAILED,
        started_at=now,
        finished_at=now,
        error="Spotify did not answer",
    )

    last_sync = client.get("/api/health/").json()["last_sync"]

    assert last_sync["id"] == latest.pk
    assert last_sync["status"] == "failed"
    assert last_sync["trigger"] == "schedule"
    assert last_sync["finished_at"] is not None


def test_health_is_public_but_shows_no_error_text(client):
    SyncRunFactory.create(
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        error="Spotify refused the token for client 1a2b3c (invalid_client)",
    )

    response = client.get("/api/health/")

    assert response.status_code == 200
    assert response.json()["last_sync"]["status"] == "failed"
    assert "error" not in response.json()["last_sync"]
    assert b"1a2b3c" not in response.content
    assert b"invalid_client" not in response.content


def test_spotify_mode_is_demo_without_a_client_id(client, settings):
    settings.SPOTIFY_CLIENT_ID = ""

    assert client.get("/api/health/").json()["spotify_mode"] == "demo"


def test_spotify_mode_is_user_with_a_connection_that_can_refresh(client):
    SpotifyConnection.objects.create(account_id="zoe", refresh_token="AQ-refresh")

    assert client.get("/api/health/").json()["spotify_mode"] == "user"


def test_spotify_mode_falls_back_to_app_when_the_connection_needs_reconnecting(client):
    SpotifyConnection.objects.create(
        account_id="zoe", refresh_token="AQ-refresh", needs_reconnect=True
    )

    assert client.get("/api/health/").json()["spotify_mode"] == "app"


def test_health_is_503_json_when_the_database_is_unreachable(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("django.db.backends.utils.CursorWrapper.execute", refuse)

    response = client.get("/api/health/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {
        "status": "error",
        "database": "unavailable",
        "last_sync": None,
        "spotify_mode": None,
    }


@pytest.mark.django_db(databases=[])
def test_health_is_503_json_with_postgres_on_a_closed_port():
    """A real refused connection, in a fresh process whose settings point at a closed port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    code = (
        "import json, django; django.setup(); from django.test import Client; "
        "response = Client().get('/api/health/'); "
        "print(json.dumps([response.status_code, response.json()]))"
    )
    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ} | {
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port}/none",
        "DATABASE_CONNECT_TIMEOUT": "2",
        "ALLOWED_HOSTS": "testserver",
        "SPOTIFY_CLIENT_ID": "",
    }

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 503
    assert body == {
        "status": "error",
        "database": "unavailable",
        "last_sync": None,
        "spotify_mode": "demo",
    }


@pytest.mark.django_db(databases=[])
def test_liveness_answers_with_postgres_on_a_closed_port():
    """Liveness asks no database: an outage must not get every web process restarted."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    code = (
        "import json, django; django.setup(); from django.test import Client; "
        "response = Client().get('/api/health/live'); "
        "print(json.dumps([response.status_code, response.json()]))"
    )
    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ} | {
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed_port}/none",
        "DATABASE_CONNECT_TIMEOUT": "2",
        "ALLOWED_HOSTS": "testserver",
    }

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    assert (status, body) == (200, {"status": "ok"})

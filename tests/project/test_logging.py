import io
import json
import logging
import logging.config
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from catalog.models import SyncRun
from catalog.services import sync_run_execute
from project.logging import REDACTED, redact

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer BQDx8s-7f_KJ2mQp9wLz0aN1VtY3", "BQDx8s-7f_KJ2mQp9wLz0aN1VtY3"),
        ("Authorization: Basic ZGVtby1jbGllbnQtaWQ6ZGVtby1zZWNyZXQ=", "ZGVtby1jbGllbnQtaWQ6"),
        ("grant_type=refresh_token&refresh_token=AQCx9_refresh", "AQCx9_refresh"),
        ('{"access_token": "BQD-access", "token_type": "Bearer"}', "BQD-access"),
        ("{'refresh_token': 'AQD-refresh', 'scope': ''}", "AQD-refresh"),
        ("GET /auth/callback/?code=AQB-consent-code&state=s1", "AQB-consent-code"),
        ("client_secret=s3cr3t-value", "s3cr3t-value"),
    ],
)
def test_redact_removes_tokens(text, secret):
    redacted = redact(text)

    assert secret not in redacted
    assert REDACTED in redacted


@pytest.mark.parametrize(
    "text",
    [
        "Spotify answered with status code: 503",
        "basic information about the sync",
        "Sync 12 succeeded in 1.2 s with 7 Spotify calls",
        "grant_type=refresh_token",
    ],
)
def test_redact_leaves_ordinary_text_alone(text):
    assert redact(text) == text


def _configured_logging(stream: io.StringIO, log_format: str | None = None) -> None:
    """The settings' LOGGING as is, but its stdout handler writes to `stream` (in `log_format`)."""
    config: dict[str, Any] = {**settings.LOGGING}
    handler = {**config["handlers"]["stdout"], "stream": stream}
    if log_format:
        handler["formatter"] = log_format
    config["handlers"] = {"stdout": handler}
    logging.config.dictConfig(config)


@pytest.fixture
def log_output():
    stream = io.StringIO()
    _configured_logging(stream)
    yield stream
    logging.config.dictConfig(settings.LOGGING)


@pytest.fixture
def json_log_output():
    """What LOG_FORMAT=json writes."""
    stream = io.StringIO()
    _configured_logging(stream, "json")
    yield stream
    logging.config.dictConfig(settings.LOGGING)


def json_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_the_configured_handler_redacts_arguments_and_tracebacks(log_output):
    logger = logging.getLogger("spotify.test")
    try:
        raise RuntimeError("refresh failed for refresh_token=AQ-secret-in-exception")
    except RuntimeError:
        logger.exception("Token call sent Authorization: Bearer %s", "BQ" + "x" * 40)

    output = log_output.getvalue()
    assert "AQ-secret-in-exception" not in output
    assert "BQ" + "x" * 40 not in output
    assert f"Bearer {REDACTED}" in output
    assert f"refresh_token={REDACTED}" in output


def test_one_event_is_one_line_even_with_a_traceback(log_output):
    try:
        raise ValueError("first\nsecond")
    except ValueError:
        logging.getLogger("catalog.test").exception("Sync failed")

    lines = log_output.getvalue().splitlines()
    assert len(lines) == 1
    assert "Sync failed" in lines[0]
    assert "ValueError: first\\nsecond" in lines[0]


def test_log_format_json_writes_one_parsable_object_per_line_with_tokens_redacted(
    json_log_output,
):
    try:
        raise ValueError("first\nsecond refresh_token=AQ-secret-in-exception")
    except ValueError:
        logging.getLogger("spotify.test").exception("Token call: Bearer %s", "BQ" + "x" * 40)
    logging.getLogger("catalog.test").info("Sync done")

    first, second = json_lines(json_log_output)
    assert first["level"] == "ERROR"
    assert first["logger"] == "spotify.test"
    assert first["message"] == f"Token call: Bearer {REDACTED}"
    assert "ValueError: first\nsecond" in first["exception"]
    assert "AQ-secret-in-exception" not in json_log_output.getvalue()
    assert "BQ" + "x" * 40 not in json_log_output.getvalue()
    assert second["message"] == "Sync done"
    assert "T" in second["time"]


def test_log_format_json_is_a_setting(monkeypatch):
    """LOG_FORMAT picks the handler's formatter; anything else refuses to start."""
    code = "import django.conf as c; print(c.settings.LOGGING['handlers']['stdout']['formatter'])"
    env = {"PATH": os.environ["PATH"], "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "project.settings"}

    chosen = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "LOG_FORMAT": "json"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    refused = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "LOG_FORMAT": "xml"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert chosen.stdout.strip() == "json", chosen.stderr
    assert refused.returncode != 0
    assert "LOG_FORMAT must be line or json" in refused.stderr


@pytest.mark.django_db
def test_request_lines_carry_the_request_id_that_is_sent_back(client, json_log_output):
    response = client.get("/api/no-such-route/")
    assert response.status_code == 404

    request_id = response["X-Request-ID"]
    (line,) = [
        entry for entry in json_lines(json_log_output) if entry["logger"] == "django.request"
    ]
    assert len(request_id) >= 16
    assert line["request_id"] == request_id


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("3f0c2b1e-6a4d-4c8e-9a57-2f1e0d9c8b7a", True),
        ("lb-1234567890abcdef", True),
        ("bad id\r\nInjected: yes", False),
        ("x" * 500, False),
        ("short", False),
    ],
)
def test_a_sane_incoming_request_id_is_kept_anything_else_replaced(client, incoming, kept):
    response = client.get("/api/health/live", headers={"X-Request-ID": incoming})

    assert (response["X-Request-ID"] == incoming) is kept
    assert re.fullmatch(r"[A-Za-z0-9._:+=/-]{8,128}", response["X-Request-ID"])


@pytest.mark.django_db
def test_every_line_of_a_sync_names_its_run_in_both_formats(json_log_output, settings):
    settings.SPOTIFY_CLIENT_ID = ""  # demo mode: the fake Spotify, in process
    first = sync_run_execute(trigger=SyncRun.Trigger.MANUAL)
    logging.getLogger("catalog.test").info("After the run")
    plain_output = io.StringIO()
    _configured_logging(plain_output)
    second = sync_run_execute(trigger=SyncRun.Trigger.MANUAL)

    *sync_lines, after = json_lines(json_log_output)
    assert sync_lines
    assert all(entry["sync_run_id"] == first.pk for entry in sync_lines)
    assert "sync_run_id" not in after
    plain = plain_output.getvalue().splitlines()
    assert plain
    assert all(f" sync_run_id={second.pk} " in line for line in plain)

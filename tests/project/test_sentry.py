"""Sentry is optional: loaded only with SENTRY_DSN, never sent a token."""

import subprocess
import sys
from pathlib import Path

from project.logging import REDACTED
from project.sentry import sentry_event_scrub

ROOT = Path(__file__).resolve().parents[2]


def _settings_loaded(**environment: str) -> subprocess.CompletedProcess[str]:
    code = "import sys, django; django.setup(); print('sentry_sdk' in sys.modules)"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={
            "PATH": "/usr/bin:/bin",
            "DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "project.settings",
            **environment,
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_without_sentry_dsn_sentry_is_not_even_imported():
    result = _settings_loaded(SENTRY_DSN="")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_sentry_dsn_without_the_extra_installed_says_what_to_install(tmp_path):
    # A sentry_sdk that cannot be found, whether or not this environment has the real one.
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['sentry_sdk'] = None\n")
    result = _settings_loaded(
        SENTRY_DSN="https://public@sentry.example/1", PYTHONPATH=str(tmp_path)
    )

    assert result.returncode != 0
    assert "SENTRY_DSN is set but sentry-sdk is not installed" in result.stderr
    assert 'pip install ".[sentry]"' in result.stderr


def test_events_leave_with_every_token_redacted():
    event = {
        "message": "Token refresh failed: refresh_token=AQ-secret-refresh",
        "exception": {
            "values": [
                {
                    "value": "Bearer BQ" + "x" * 40,
                    "stacktrace": {"frames": [{"vars": {"body": "access_token=BQ-secret"}}]},
                }
            ]
        },
        "request": {
            "headers": {"Authorization": "Basic short", "Cookie": "sessionid=abc"},
            "data": {"client_secret": "s3cr3t"},
        },
        "breadcrumbs": {"values": [{"message": "GET /auth/callback/?code=AQB-code&state=s"}]},
    }

    scrubbed = sentry_event_scrub(event, {})

    text = repr(scrubbed)
    for secret in (
        "AQ-secret-refresh",
        "x" * 40,
        "BQ-secret",
        "short",
        "abc",
        "s3cr3t",
        "AQB-code",
    ):
        assert secret not in text
    assert REDACTED in scrubbed["message"]
    assert scrubbed["request"]["headers"]["Authorization"] == REDACTED

import io
import logging
import logging.config
from typing import Any

import pytest
from django.conf import settings

from project.logging import REDACTED, redact


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


def _configured_logging(stream: io.StringIO) -> None:
    """The settings' LOGGING as is, but its stdout handler writes to `stream`."""
    config: dict[str, Any] = {**settings.LOGGING}
    config["handlers"] = {"stdout": {**config["handlers"]["stdout"], "stream": stream}}
    logging.config.dictConfig(config)


@pytest.fixture
def log_output():
    stream = io.StringIO()
    _configured_logging(stream)
    yield stream
    logging.config.dictConfig(settings.LOGGING)


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

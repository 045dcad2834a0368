"""Log records never carry a token, whatever a caller or a library puts in them."""

import json
import logging
import re
from datetime import UTC, datetime

from observability.context import log_context

REDACTED = "[redacted]"

# An Authorization header's credentials: long enough not to be an English word after "Basic".
_AUTHORIZATION = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{20,}", re.IGNORECASE)
# Token fields as query strings, form bodies, JSON or reprs render them: `access_token=…`,
# `"refresh_token": "…"`, and OAuth codes in callback URLs (`code=…`, `=` only: "status code: 404").
_FIELD = re.compile(
    r"""\b((?:access|refresh|id)_token|client_secret)(["']?\s*[:=]\s*["']?)[^\s&"',}]+"""
    r"""|\b(code)(=)[^\s&"',}]+""",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    text = _AUTHORIZATION.sub(lambda match: f"{match.group(1)} {REDACTED}", text)
    return _FIELD.sub(
        lambda match: (
            f"{match.group(1) or match.group(3)}{match.group(2) or match.group(4)}{REDACTED}"
        ),
        text,
    )


class RedactTokensFilter(logging.Filter):
    """Defence in depth: rewrites the rendered message (and any traceback) before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class OneLineFormatter(logging.Formatter):
    """One event, one line: a traceback's newlines are escaped, so log collectors keep it whole."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "").replace("\n", "\\n")


LOG_CONTEXT_FIELDS = ("request_id", "sync_run_id")


class LogContextFilter(logging.Filter):
    """Puts the request id and the sync run id (when set) on the record: as attributes for the
    JSON lines, and as ` request_id=… sync_run_id=…` (`log_context`) for the plain ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = log_context()
        for name, value in context.items():
            setattr(record, name, value)
        record.log_context = "".join(f" {name}={value}" for name, value in context.items())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line (a traceback is a field, never extra lines), for log collectors.
    A small formatter rather than python-json-logger: these few fields are all we write."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in LOG_CONTEXT_FIELDS:
            if (value := getattr(record, name, None)) is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)

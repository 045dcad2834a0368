"""Log records never carry a token, whatever a caller or a library puts in them."""

import logging
import re

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

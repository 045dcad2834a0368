"""Optional error reporting, wired by the settings only when SENTRY_DSN is set."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from project.logging import redact


def sentry_init(*, dsn: str, environment: str) -> None:
    try:
        import sentry_sdk
        from sentry_sdk.integrations.django import DjangoIntegration
    except ImportError as error:
        raise ImproperlyConfigured(
            "SENTRY_DSN is set but sentry-sdk is not installed: install the `sentry` extra "
            '(pip install ".[sentry]"), or unset SENTRY_DSN.'
        ) from error

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        before_send=sentry_event_scrub,
        before_breadcrumb=sentry_breadcrumb_scrub,
    )


def sentry_event_scrub(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Tokens never leave: every string in the event (messages, exception values, local
    variables, request data, breadcrumbs) goes through the same redaction as the logs."""
    scrubbed: dict[str, Any] = _scrub(event)
    return scrubbed


def sentry_breadcrumb_scrub(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    scrubbed: dict[str, Any] = _scrub(crumb)
    return scrubbed


# Values under these keys are secrets whatever they look like (headers, cookies, form fields).
_SECRET_KEYS = frozenset(
    {"authorization", "cookie", "set-cookie", "access_token", "refresh_token", "client_secret"}
)


def _scrub(value: Any, key: str = "") -> Any:
    if key.lower() in _SECRET_KEYS and isinstance(value, str):
        return "[redacted]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value

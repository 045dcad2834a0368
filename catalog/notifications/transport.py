"""One Apprise send, and the address rule for users' targets.

Apprise does its own networking (requests for HTTP services, smtplib for email), so the webhooks'
pinned httpcore connection cannot carry it. Instead, while a user's target is being sent to,
every address lookup on the sending thread goes through a guard: the host is resolved once, every
address it resolves to must be public (unless NOTIFY_ALLOW_PRIVATE=1), and the connection gets
exactly the checked addresses, never a second lookup's. requests, urllib3 and smtplib all connect
through `socket.getaddrinfo`, so the service's own API host, redirects and the SMTP server are all
checked, whatever the URL looked like. Other threads are untouched (the guard is thread-local)."""

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import apprise
from django.conf import settings

from catalog.webhooks.validators import address_is_public

ERROR_MAX_LENGTH = 500

_guard = threading.local()
_install_lock = threading.Lock()
_real_getaddrinfo = socket.getaddrinfo


@dataclass(frozen=True)
class SendOutcome:
    error: str
    # False when retrying cannot help: the target broke the address rule.
    retryable: bool = True

    @property
    def succeeded(self) -> bool:
        return not self.error


class _AddressPolicy:
    def __init__(self) -> None:
        self.refused = ""

    def getaddrinfo(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        infos = _real_getaddrinfo(host, port, *args, **kwargs)
        for info in infos:
            address = str(info[4][0])
            if not address_is_public(address):
                self.refused = (
                    f"{host!r} resolves to {address}, a loopback, private, link-local or "
                    "reserved address; notification targets only go to public hosts "
                    "(set NOTIFY_ALLOW_PRIVATE=1 for local testing)."
                )
                raise socket.gaierror(socket.EAI_FAIL, self.refused)
        return infos  # what was checked is what the caller connects to


def _guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    policy: _AddressPolicy | None = getattr(_guard, "policy", None)
    if policy is None:
        return _real_getaddrinfo(host, port, *args, **kwargs)
    return policy.getaddrinfo(host, port, *args, **kwargs)


@contextlib.contextmanager
def _addresses_guarded(policy: _AddressPolicy | None) -> Iterator[None]:
    if policy is None:
        yield
        return
    with _install_lock:
        if socket.getaddrinfo is not _guarded_getaddrinfo:
            socket.getaddrinfo = _guarded_getaddrinfo
    _guard.policy = policy
    try:
        yield
    finally:
        _guard.policy = None


def notification_send(
    *,
    plugin: apprise.plugins.NotifyBase,
    title: str,
    body: str,
    body_format: apprise.NotifyFormat,
    trusted: bool,
) -> SendOutcome:
    """Sends one message through `plugin`. `trusted` (a site-wide target) skips the address rule.
    Apprise answers only True or False: the reason of a failure is the last warning it logged."""
    plugin.socket_connect_timeout = settings.NOTIFY_TIMEOUT_SECONDS
    plugin.socket_read_timeout = settings.NOTIFY_TIMEOUT_SECONDS
    allowed = trusted or settings.NOTIFY_ALLOW_PRIVATE
    policy = None if allowed else _AddressPolicy()
    with (
        apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as captured,  # type: ignore[no-untyped-call]
        _addresses_guarded(policy),
    ):
        try:
            delivered = plugin.notify(title=title, body=body, body_format=body_format)
        # Apprise catches its plugins' errors; one it lets through is this attempt's failure (its
        # message may quote the URL and so a token: only the type is kept).
        except Exception as unexpected:
            return SendOutcome(error=f"Unexpected error in Apprise ({type(unexpected).__name__})")
    if delivered:
        return SendOutcome(error="")
    if policy is not None and policy.refused:
        return SendOutcome(error=policy.refused, retryable=False)
    lines = [line for line in captured.getvalue().splitlines() if line.strip()]
    error = lines[-1] if lines else "Apprise could not deliver the message"
    return SendOutcome(error=error[:ERROR_MAX_LENGTH])

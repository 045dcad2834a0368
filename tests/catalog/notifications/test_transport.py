"""The address guard: every connection Apprise makes for a user's target is checked, whatever
host the service connects to."""

import socket
from typing import Any

import apprise

from catalog.notifications import transport
from catalog.notifications.transport import notification_send
from catalog.notifications.validators import notification_plugin


def _resolving_to(address: str, seen: list[Any]) -> Any:
    def fake_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 443))]

    return fake_getaddrinfo


def _send(url: str, *, trusted: bool = False) -> transport.SendOutcome:
    return notification_send(
        plugin=notification_plugin(url),
        title="t",
        body="b",
        body_format=apprise.NotifyFormat.TEXT,
        trusted=trusted,
    )


def test_a_services_own_api_host_resolving_to_a_private_address_is_refused(monkeypatch):
    """Discord's URL names no host (only ids): the check happens when Apprise connects to
    discord.com, whose answer here points into the private network."""
    seen: list[Any] = []
    monkeypatch.setattr(transport, "_real_getaddrinfo", _resolving_to("10.0.0.7", seen))

    outcome = _send("discord://1234567/abcdefghijk")

    assert "discord.com" in seen
    assert not outcome.succeeded
    assert not outcome.retryable
    assert "resolves to 10.0.0.7" in outcome.error


def test_trusted_targets_and_allowed_private_addresses_are_not_checked(monkeypatch, settings):
    seen: list[Any] = []
    # Loopback, where nothing listens on 443: refused at once rather than waited for.
    monkeypatch.setattr(transport, "_real_getaddrinfo", _resolving_to("127.0.0.1", seen))
    assert "resolves to 127.0.0.1" in _send("discord://1234567/abcdefghijk").error

    trusted = _send("discord://1234567/abcdefghijk", trusted=True)  # NOTIFY_URLS
    settings.NOTIFY_ALLOW_PRIVATE = True
    allowed = _send("discord://1234567/abcdefghijk")

    for outcome in (trusted, allowed):
        assert not outcome.succeeded  # it connected to loopback and was refused there
        assert outcome.retryable
        assert "resolves to" not in outcome.error
    assert seen.count("discord.com") == 3

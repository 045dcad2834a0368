"""Which URLs a webhook may target: public http(s) hosts only, unless private ones are allowed."""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class WebhookTarget:
    """Where one attempt connects: the addresses that were checked, never a second lookup's."""

    host: str
    port: int
    addresses: tuple[str, ...]  # in the resolver's order, tried in turn


def webhook_url_validate(url: str) -> None:
    """The model's validator: raises ValidationError unless `url` is http(s) and every address its
    host resolves to is public. A webhook must not become a way to reach the server's network."""
    if settings.WEBHOOKS_ALLOW_PRIVATE:
        _parts(url)
        return
    webhook_target_resolve(url)


def webhook_target_resolve(url: str) -> WebhookTarget:
    """Looks the host up once and checks every address; the send connects to these only, so a
    resolver that answers differently later (DNS rebinding) cannot redirect it."""
    parts = _parts(url)
    host = parts.hostname
    assert host is not None  # _parts refuses a URL without one
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as error:
        raise ValidationError(f"The host {host!r} cannot be resolved.") from error
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise ValidationError(f"The host {host!r} cannot be resolved.")
    if not settings.WEBHOOKS_ALLOW_PRIVATE:
        for address in sorted(addresses):
            if not address_is_public(address):
                raise ValidationError(
                    f"{host!r} resolves to {address}, a loopback, private, link-local or "
                    "reserved address; webhooks only go to public hosts "
                    "(set WEBHOOKS_ALLOW_PRIVATE=1 for local testing)."
                )
    return WebhookTarget(host=host, port=port, addresses=tuple(addresses))


def _parts(url: str) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValidationError("A webhook URL must start with http:// or https:// and name a host.")
    return parts


def address_is_public(address: str) -> bool:
    """False for loopback, private, link-local, reserved and other non-global addresses; shared
    with notifications, whose per-user targets follow the same rule."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drops an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )

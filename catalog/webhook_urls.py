"""Which URLs a webhook may target: public http(s) hosts only, unless private ones are allowed."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

DEFAULT_PORTS = {"http": 80, "https": 443}


def webhook_url_validate(url: str) -> None:
    """Raises ValidationError unless `url` is http(s) and every address its host resolves to is
    public: a webhook must not become a way to reach the server's own network."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValidationError("A webhook URL must start with http:// or https:// and name a host.")
    if settings.WEBHOOKS_ALLOW_PRIVATE:
        return
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
        addresses = {
            str(info[4][0])
            for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
        }
    except (OSError, UnicodeError, ValueError) as error:
        raise ValidationError(f"The host {parts.hostname!r} cannot be resolved.") from error
    for address in sorted(addresses):
        if not _is_public(address):
            raise ValidationError(
                f"{parts.hostname!r} resolves to {address}, a loopback, private, link-local or "
                "reserved address; webhooks only go to public hosts "
                "(set WEBHOOKS_ALLOW_PRIVATE=1 for local testing)."
            )


def _is_public(address: str) -> bool:
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

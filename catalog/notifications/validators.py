"""Which Apprise URLs a user's target may have: ones Apprise understands, for a service reached
over the network, and never on a loopback, private or link-local host unless
NOTIFY_ALLOW_PRIVATE=1 (the webhook rule). Site-wide targets (NOTIFY_URLS) are the operator's and
are not checked."""

import ipaddress
import socket

import apprise
from django.conf import settings
from django.core.exceptions import ValidationError

from catalog.webhooks.validators import address_is_public

# Apprise services that act on the server itself rather than over the network: a user must not
# make the server write to its syslog or desktop bus.
LOCAL_SCHEMES = frozenset(
    {"dbus", "kde", "qt", "glib", "gnome", "macosx", "windows", "syslog", "rsyslog"}
)


def notification_plugin(url: str) -> apprise.plugins.NotifyBase:
    """Apprise's service object for `url`, or ValidationError naming the problem. In-memory
    persistent storage: Apprise never writes files on our behalf."""
    asset = apprise.AppriseAsset(storage_mode=apprise.PersistentStoreMode.MEMORY)
    plugin = apprise.Apprise.instantiate(url.strip(), asset=asset)
    if plugin is None:
        raise ValidationError(
            "Apprise does not understand this URL; see "
            "https://github.com/caronc/apprise/wiki for each service's form."
        )
    return plugin


def notification_url_validate(url: str) -> None:
    """The model's validator, for targets users enter. The address rule is checked again, on
    every connection, when a message is sent (see transport.py): this early check only gives a
    clear answer when the target is saved."""
    plugin = notification_plugin(url)
    scheme = url.strip().split(":", 1)[0].lower()
    if scheme in LOCAL_SCHEMES:
        raise ValidationError(f"{scheme}:// notifies this server itself; it cannot be a target.")
    if settings.NOTIFY_ALLOW_PRIVATE:
        return
    host = str(getattr(plugin, "host", "") or "")
    for address in _addresses(host):
        if not address_is_public(address):
            raise ValidationError(
                f"{host!r} resolves to {address}, a loopback, private, link-local or reserved "
                "address; notification targets only go to public hosts "
                "(set NOTIFY_ALLOW_PRIVATE=1 for local testing)."
            )


def _addresses(host: str) -> list[str]:
    """The addresses of the URL's host part. Services with a fixed API host (Discord, Telegram...)
    put ids there, which resolve to nothing: those are checked when sending, connection by
    connection."""
    if not host:
        return []
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from spotify.conf import is_demo_mode
from spotify.selectors import connection_status


def site(request: HttpRequest) -> dict[str, Any]:
    """What the header of every page shows. Lazy: pages that do not show it pay no query.

    Visitors who are not staff get the mode only (user, app or demo): the account's id and name
    and why it needs reconnecting are for staff, so no template can show them to anyone else."""
    connection: object
    if request.user.is_staff:
        connection = SimpleLazyObject(connection_status)
    else:
        connection = SimpleLazyObject(lambda: {"mode": connection_status().mode})
    return {"connection": connection, "demo_mode": is_demo_mode}

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from spotify.conf import is_demo_mode
from spotify.selectors import connection_status


def site(request: HttpRequest) -> dict[str, Any]:
    """What the header of every page shows. Lazy: pages that do not show it pay no query."""
    return {"connection": SimpleLazyObject(connection_status), "demo_mode": is_demo_mode}

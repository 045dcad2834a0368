import re
import secrets
import time
from collections.abc import Callable

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from observability.context import request_id
from observability.metrics import http_request_observe

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy or load balancer typically sends (a UUID, a hex or base64url string); anything
# else (too long, spaces, control characters) could forge or break log lines: we make our own.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:+=/-]{8,128}")


class RequestIdMiddleware:
    """Gives each request an id, the caller's X-Request-ID when it is sane, for every log line
    written while it is served, and sends it back as X-Request-ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # META, not request.headers: that builds a dict of every header, for this one.
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        current = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else secrets.token_hex(16)
        # Kept until the response is closed (request_finished), not only while the middleware
        # runs: Django logs a 4xx or 5xx ("Not Found: /…") after the middleware has returned.
        request_id.set(current)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = current
        return response


def _request_id_forget(**kwargs: object) -> None:
    request_id.set(None)


request_finished.connect(_request_id_forget, dispatch_uid="observability.request_id_forget")


class RequestMetricsMiddleware:
    """Counts requests and their durations by method, route (never the raw path: ids in paths
    would make a series each) and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        http_request_observe(
            method=request.method or "",
            route=match.view_name if match is not None else "unmatched",
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response

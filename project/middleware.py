import logging
import sys
from collections.abc import Callable, Mapping
from functools import cache
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotFound,
    JsonResponse,
)
from django.middleware import csp
from django.utils.csp import CSP, build_policy
from django.views import defaults

from common.middleware import DATABASE_DOWN

logger = logging.getLogger(__name__)


class ContentSecurityPolicyMiddleware(csp.ContentSecurityPolicyMiddleware):
    """Django's, but the site's policy (settings.SECURE_CSP, no nonce) is written once, not for
    every response: the same string each time, and writing it cost a tenth of a cached answer.
    A view's own policy (@csp_override), or a policy with a nonce, is Django's business."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        policies = _site_policies()
        if (
            policies is None
            or hasattr(response, "_csp_config")
            or hasattr(response, "_csp_ro_config")
        ):
            return super().process_response(request, response)
        for header, policy in policies:
            if policy and header not in response:
                response.headers[header] = policy
        return response


@cache
def _site_policies() -> tuple[tuple[str, str], ...] | None:
    policies = []
    configs: tuple[tuple[str, Mapping[str, Any]], ...] = (
        (CSP.HEADER_ENFORCE, settings.SECURE_CSP),
        (CSP.HEADER_REPORT_ONLY, settings.SECURE_CSP_REPORT_ONLY),
    )
    for header, config in configs:
        policy = build_policy(config) if config else ""
        if policy != (build_policy(config, nonce="probe") if config else ""):
            return None  # it has a nonce: each response's header differs
        policies.append((str(header), policy))
    return tuple(policies)


@receiver(setting_changed)
def _csp_changed(*, setting: str, **kwargs: object) -> None:
    if setting in ("SECURE_CSP", "SECURE_CSP_REPORT_ONLY"):
        _site_policies.cache_clear()


DATABASE_DOWN_RETRY_AFTER_SECONDS = 30
DATABASE_DOWN_DETAIL = "The database is unavailable; try again in a moment"
# Raised by views for a 4xx (django-ninja's own `/api/` home raises Http404): never a 500.
CLIENT_ERRORS = (Http404, PermissionDenied, SuspiciousOperation)


class ApiJsonErrorsMiddleware:
    """Under /api/, Django's own HTML or empty error pages (404 for unknown routes, 405 for wrong
    methods, 500 from outside a view) become `{"detail": ...}` JSON with the same status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path:
            # No route holds NUL, and PostgreSQL could not even look such an id up (a 500).
            return (
                _json_error(404, None)
                if request.path.startswith("/api/")
                else HttpResponseNotFound()
            )
        if name := _parameter_with_nul(request):
            # PostgreSQL cannot take NUL in text: refused here, for every page, feed and API
            # route at once, it is a 4xx (the API's 422), not a 500 deep down.
            detail = f"Invalid request: {name}: must not contain NUL characters"
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": detail}, status=422)
            return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            replacement = _json_error(response.status_code, response.get("Allow"))
            # Set further in by XFrameOptionsMiddleware; the replacement must keep it.
            if frame_options := response.get("X-Frame-Options"):
                replacement["X-Frame-Options"] = frame_options
            return replacement
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/api/") or isinstance(exception, CLIENT_ERRORS):
            return None  # Django answers these with their 4xx, made JSON on the way out
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _json_error(500, None)


def _parameter_with_nul(request: HttpRequest) -> str | None:
    query_string = request.META.get("QUERY_STRING", "")
    if "%00" not in query_string and "\x00" not in query_string:
        return None  # nearly always: then the query is not even parsed here
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\\x00")
    return None


def _json_error(status: int, allow: str | None) -> JsonResponse:
    detail = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if status == 405 and allow:
        detail = f"Method not allowed; use {allow}"
    response = JsonResponse({"detail": detail}, status=status)
    if allow:
        response["Allow"] = allow
    return response


class DatabaseUnavailableMiddleware:
    """A lost database is an outage, not a bug: 503 with Retry-After, as JSON under /api/ and as a
    small self-contained page elsewhere (no template, static file or database needed)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_DOWN):
            return None
        logger.error(
            "Database unavailable on %s %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
        )
        return database_unavailable_response(request)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. A database outage met outside a view (in a middleware, such as the API cache's
    data version) never reaches process_exception: it is still a 503, not a 500."""
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        return database_unavailable_response(request)
    return defaults.server_error(request)


def database_unavailable_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": DATABASE_DOWN_DETAIL}, status=503)
    else:
        response = HttpResponse(_DATABASE_DOWN_PAGE, status=503, content_type="text/html")
    response["Retry-After"] = str(DATABASE_DOWN_RETRY_AFTER_SECONDS)
    return response


_DATABASE_DOWN_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Temporarily unavailable - Spotify New Releases</title></head>
<body><main>
<h1>We'll be right back</h1>
<p>The database is not answering, so the releases cannot be shown just now.
Nothing is lost: the last synced releases are kept and will be back as soon as it answers.</p>
<p>Try again in a moment ({DATABASE_DOWN_RETRY_AFTER_SECONDS} seconds or so).</p>
</main></body></html>
"""

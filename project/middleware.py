import logging
from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)


class ApiJsonErrorsMiddleware:
    """Under /api/, Django's own HTML or empty error pages (404 for unknown routes, 405 for wrong
    methods, 500 from outside a view) become `{"detail": ...}` JSON with the same status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _json_error(response.status_code, response.get("Allow"))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not request.path.startswith("/api/"):
            return None
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _json_error(500, None)


def _json_error(status: int, allow: str | None) -> JsonResponse:
    detail = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    if status == 405 and allow:
        detail = f"Method not allowed; use {allow}"
    response = JsonResponse({"detail": detail}, status=status, json_dumps_params={})
    if allow:
        response["Allow"] = allow
    return response

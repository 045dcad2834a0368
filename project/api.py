"""The JSON API: every answer under /api/ is JSON, errors included."""

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError
from ninja.openapi.schema import OpenAPISchema

from catalog.api import router as catalog_router
from catalog.exports import router as exports_router
from catalog.me_api import router as me_router
from project.health import router as health_router
from project.middleware import database_unavailable_response
from spotify.api import router as spotify_router

logger = logging.getLogger(__name__)


def _error_response(description: str, *, errors: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {"detail": {"type": "string"}}
    if errors:
        properties["errors"] = {"type": "array", "items": {"type": "object"}}
    body = {"type": "object", "properties": properties, "required": ["detail"]}
    return {"description": description, "content": {"application/json": {"schema": body}}}


def _no_nul(schema: dict[str, Any]) -> None:
    """Text parameters cannot hold NUL (PostgreSQL refuses it; ApiJsonErrorsMiddleware says 422)."""
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "string" and "format" not in option and "enum" not in option:
            option.setdefault("pattern", "^[^\\x00]*$")


class Api(NinjaAPI):
    """Documents what every operation shares, so that clients (and schemathesis) find it in the
    schema: 422 for invalid parameters, 503 while the database is unavailable, no NUL in text."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    _no_nul(parameter["schema"])
                responses = operation["responses"]
                if operation.get("parameters"):
                    responses.setdefault(422, _error_response("Invalid parameters", errors=True))
                responses.setdefault(503, _error_response("The database is unavailable"))
        return schema


api = Api(
    title="Spotify New Releases",
    version="1.0",
    description="A local, queryable copy of Spotify's new releases.",
    urls_namespace="api",
)


@api.exception_handler(ValidationError)
def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # Name the parameter in plain words first; the structured errors follow for programs.
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'][1:]) or error['loc'][0]}: {error['msg']}"
        for error in exc.errors
    )
    return api.create_response(
        request, {"detail": f"Invalid request: {problems}", "errors": exc.errors}, status=422
    )


@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.error("Database unavailable on %s %s: %s", request.method, request.path, exc)
    return database_unavailable_response(request)


@api.exception_handler(Exception)
def unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("Unhandled error on %s %s", request.method, request.path)
    return api.create_response(request, {"detail": "Internal server error"}, status=500)


api.add_router("/", catalog_router)
api.add_router("/", exports_router)
api.add_router("/", health_router)
api.add_router("/spotify/", spotify_router)
api.add_router("/me/", me_router)

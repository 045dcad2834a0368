"""Minimal request/response plumbing for the fake's WSGI application."""

import json
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs
from wsgiref.types import WSGIEnvironment

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
MAX_BODY_BYTES = 1_000_000


class Request:
    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ
        self.method: str = environ.get("REQUEST_METHOD", "GET").upper()
        self.path: str = environ.get("PATH_INFO", "") or "/"

    @cached_property
    def query(self) -> dict[str, str]:
        """First value of each query parameter, blanks kept (`?ids=` is not the same as absent)."""
        parsed = parse_qs(self.environ.get("QUERY_STRING", ""), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    @cached_property
    def body(self) -> bytes:
        try:
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0:
            return b""
        data: bytes = self.environ["wsgi.input"].read(min(length, MAX_BODY_BYTES))
        return data

    @property
    def content_type(self) -> str:
        value: str = self.environ.get("CONTENT_TYPE", "")
        return value.split(";")[0].strip().lower()

    @cached_property
    def form(self) -> dict[str, str]:
        if self.content_type != "application/x-www-form-urlencoded":
            return {}
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def header(self, name: str) -> str | None:
        value = self.environ.get("HTTP_" + name.upper().replace("-", "_"))
        return value if isinstance(value, str) else None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON_CONTENT_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)

    def status_line(self) -> str:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Unknown"
        return f"{self.status} {phrase}"

    def header_list(self) -> list[tuple[str, str]]:
        base = [("Content-Type", self.content_type), ("Content-Length", str(len(self.body)))]
        return base + self.headers


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, body, headers=headers or [])


def api_error(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """The Web API error shape: `{"error": {"status", "message"}}`."""
    return json_response(status, {"error": {"status": status, "message": message}}, headers)


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    """The accounts service error shape: `{"error", "error_description"}`."""
    return json_response(status, {"error": error, "error_description": description})


def html_response(status: int, page: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, page.encode(), "text/html; charset=utf-8", headers or [])


def redirect(location: str) -> Response:
    return Response(302, b"", "text/plain; charset=utf-8", [("Location", location)])

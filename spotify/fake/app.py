"""FakeSpotify: one WSGI application serving the accounts service, the Web API and a control API.

URL layout, relative to wherever the app is served (`root`):
    root/authorize, root/api/token          accounts service (SPOTIFY_ACCOUNTS_BASE_URL = root)
    root/v1/...                             Web API          (SPOTIFY_API_BASE_URL = root/v1)
    root/_fake/config, /reset, /stats       test control (and /playlists: what users wrote)
"""

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from wsgiref.types import StartResponse, WSGIEnvironment

from spotify.fake.accounts import Accounts
from spotify.fake.config import ConfigError, FakeConfig
from spotify.fake.state import FakePlaylist, FakeState
from spotify.fake.tokens import Claims, TokenKind
from spotify.fake.webapi import BadRequest, NotFound, WebApi, error_for
from spotify.fake.wsgi import Request, Response, api_error, json_response

Handler = Callable[..., Response]

SERVER_ERROR_MESSAGES = {
    500: "Server error.",
    502: "Bad gateway.",
    503: "Service unavailable",
    504: "Gateway timeout",
}


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    # The stats key, e.g. "GET /v1/artists/{id}".
    name: str
    handler: Handler


def _route(method: str, template: str, handler: Handler) -> Route:
    regex = re.escape(template).replace(re.escape("{id}"), "([^/]+)")
    return Route(method, re.compile(regex), f"{method} {template}", handler)


class FakeSpotify:
    """A WSGI app; `httpx.Client(transport=httpx.WSGITransport(app=FakeSpotify()))` works."""

    def __init__(self, config: FakeConfig | None = None) -> None:
        self.state = FakeState(config or FakeConfig())
        self.accounts = Accounts(self.state)
        self.api = WebApi(self.state)
        self.routes = [
            _route("GET", "/v1/browse/new-releases", self.api.new_releases),
            _route("GET", "/v1/artists", self.api.several_artists),
            _route("GET", "/v1/artists/{id}", self.api.artist),
            _route("GET", "/v1/artists/{id}/albums", self.api.artist_albums),
            _route("GET", "/v1/albums", self.api.several_albums),
            _route("GET", "/v1/albums/{id}", self.api.album),
            _route("GET", "/v1/albums/{id}/tracks", self.api.album_tracks),
            _route("GET", "/v1/search", self.api.search),
            _route("GET", "/v1/me", self.api.me),
            _route("GET", "/v1/me/following", self.api.followed_artists),
            _route("POST", "/v1/me/playlists", self.api.create_playlist),
            _route("POST", "/v1/users/{id}/playlists", self.api.create_user_playlist),
            _route("PUT", "/v1/playlists/{id}/items", self.api.replace_playlist_items),
            _route("POST", "/v1/playlists/{id}/items", self.api.add_playlist_items),
            _route("PUT", "/v1/playlists/{id}/tracks", self.api.replace_playlist_tracks),
            _route("POST", "/v1/playlists/{id}/tracks", self.api.add_playlist_tracks),
            _route("DELETE", "/v1/playlists/{id}/followers", self.api.unfollow_playlist),
        ]

    # --- Python-side control, mirroring /_fake/* ----------------------------------------------

    @property
    def config(self) -> FakeConfig:
        return self.state.config

    def configure(self, **changes: Any) -> FakeConfig:
        return self.state.update(changes)

    def reset(self) -> FakeConfig:
        return self.state.reset()

    def stats(self) -> dict[str, int]:
        return self.state.stats()

    def playlists(self) -> list[FakePlaylist]:
        return self.state.playlists()

    # --- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self.handle(Request(environ))
        start_response(response.status_line(), response.header_list())
        return [response.body]

    def handle(self, request: Request) -> Response:
        path = request.path
        if path == "/authorize":
            return self._accounts(request, self.accounts.authorize, ("GET", "POST"), "")
        if path == "/api/token":
            grant = request.form.get("grant_type", "") if request.method == "POST" else ""
            return self._accounts(request, self.accounts.token, ("POST",), grant)
        if path.startswith("/_fake/"):
            return self._control(request)
        if path == "/v1" or path.startswith("/v1/"):
            return self._web_api(request)
        return api_error(404, "Service not found")

    def _accounts(
        self, request: Request, handler: Handler, methods: tuple[str, ...], detail: str
    ) -> Response:
        self.state.count(f"{request.method} {request.path} {detail}".rstrip())
        if request.method not in methods:
            return api_error(405, "Method not allowed", [("Allow", ", ".join(methods))])
        return handler(request)

    def _control(self, request: Request) -> Response:
        action = request.path.removeprefix("/_fake/")
        if action == "stats" and request.method == "GET":
            return json_response(200, self.state.stats())
        if action == "reset" and request.method == "POST":
            return json_response(200, self.state.reset().to_dict())
        if action == "playlists" and request.method == "GET":
            return json_response(200, [dataclasses.asdict(p) for p in self.state.playlists()])
        if action == "config" and request.method == "GET":
            return json_response(200, self.state.config.to_dict())
        if action == "config" and request.method == "POST":
            try:
                changes = json.loads(request.body or b"{}")
            except ValueError:
                return api_error(400, "Body must be a JSON object")
            if not isinstance(changes, dict):
                return api_error(400, "Body must be a JSON object")
            try:
                return json_response(200, self.state.update(changes).to_dict())
            except ConfigError as exc:
                return api_error(400, str(exc))
        if action in ("stats", "reset", "config", "playlists"):
            return api_error(405, "Method not allowed")
        return api_error(404, "Service not found")

    def _web_api(self, request: Request) -> Response:
        route, args, method_allowed = self._match(request)
        self.state.count(route.name if route else f"{request.method} {request.path}")
        if self._faults_apply(request.path):
            fault = self._fault()
            if fault is not None:
                return fault
        if route is None:
            if method_allowed:
                return api_error(405, "Method not allowed")
            return api_error(404, "Service not found")
        claims = self._authenticate(request)
        if isinstance(claims, Response):
            return claims
        try:
            return route.handler(request, claims, *args)
        except (BadRequest, NotFound) as exc:
            return error_for(exc)

    def _match(self, request: Request) -> tuple[Route | None, tuple[str, ...], bool]:
        """The route for the request, its path arguments, and whether only the method is wrong."""
        path_matched = False
        for route in self.routes:
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            if route.method == request.method:
                return route, match.groups(), False
            path_matched = True
        return None, (), path_matched

    def _faults_apply(self, path: str) -> bool:
        prefixes = self.state.config.fault_paths
        return not prefixes or any(path.startswith(p) for p in prefixes)

    def _fault(self) -> Response | None:
        config = self.state.config
        if config.slow_seconds > 0:
            time.sleep(config.slow_seconds)
        if config.persistent_error_status is not None:
            return _status_error(config.persistent_error_status)
        taken = self.state.take_counted_fault()
        if taken is None:
            return None
        kind, at = taken
        if kind == "rate_limit":
            retry_after = [("Retry-After", str(at.retry_after_seconds))]
            return api_error(429, "API rate limit exceeded", retry_after)
        return _status_error(at.error_status)

    def _authenticate(self, request: Request) -> Claims | Response:
        header = request.header("Authorization")
        if not header:
            return api_error(401, "No token provided")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return api_error(400, "Only valid bearer authentication supported")
        claims = self.state.signer.verify(token.strip(), TokenKind.ACCESS)
        if claims is None or claims.client_id != self.state.config.client_id:
            return api_error(401, "Invalid access token")
        if claims.expired(time.time()):
            return api_error(401, "The access token expired")
        return claims


def _status_error(status: int) -> Response:
    try:
        default = HTTPStatus(status).phrase
    except ValueError:
        default = "Error"
    return api_error(status, SERVER_ERROR_MESSAGES.get(status, default))

"""A respx-backed Spotify accounts service that remembers what it issued, plus Connect helpers."""

import base64
import secrets
import threading
import time
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import respx
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from spotify.fake.tokens import pkce_challenge
from spotify.models import SpotifyConnection
from tests.conftest import ACCOUNTS, API

ME = {"id": "wizzler", "display_name": "Wiz Zler", "type": "user", "uri": "spotify:user:wizzler"}
CLIENT_AUTH = "Basic " + base64.b64encode(b"test-client-id:test-client-secret").decode()


class AccountsService:
    """Answers POST /api/token for all three grants, like Spotify, and records every call.

    Token values are random, so a leak test can look for each of them anywhere.
    """

    def __init__(self, router: respx.MockRouter, *, expires_in: int = 3600) -> None:
        self.expires_in = expires_in
        self.rotate_refresh_tokens = False
        self.refresh_tokens_revoked = False
        # Holds the first refresh inside its lock while concurrent callers arrive (widens the race).
        self.refresh_delay_seconds = 0.0
        self.grants: list[str] = []
        self.forms: list[dict[str, str]] = []
        self.user_access_tokens: list[str] = []
        self.app_access_tokens: list[str] = []
        self.refresh_tokens: list[str] = []
        self.codes: dict[str, bool] = {}  # code -> spent
        self.code_challenges: dict[str, str] = {}  # PKCE: code -> the challenge it was asked with
        self._lock = threading.Lock()
        self.route = router.post(f"{ACCOUNTS}/api/token").mock(side_effect=self._answer)

    # --- what tests ask ---------------------------------------------------------------------
    def issue_code(self, *, code_challenge: str | None = None) -> str:
        """A code, as Spotify's consent page would give; bound to the PKCE challenge if any."""
        code = f"code-{secrets.token_urlsafe(12)}"
        self.codes[code] = False
        if code_challenge is not None:
            self.code_challenges[code] = code_challenge
        return code

    def issue_pkce_code(self) -> dict[str, str]:
        """A code and the verifier of its challenge: connection_connect's arguments."""
        verifier = secrets.token_urlsafe(48)
        return {
            "code": self.issue_code(code_challenge=pkce_challenge(verifier)),
            "code_verifier": verifier,
        }

    def count(self, grant_type: str) -> int:
        return self.grants.count(grant_type)

    @property
    def secrets(self) -> list[str]:
        """Every token value issued so far."""
        return [*self.user_access_tokens, *self.app_access_tokens, *self.refresh_tokens]

    # --- the endpoint -----------------------------------------------------------------------
    def _answer(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == CLIENT_AUTH
        assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        grant = form["grant_type"]
        with self._lock:
            self.grants.append(grant)
            self.forms.append(form)
        if grant == "client_credentials":
            return self._tokens(user=False, with_refresh=False)
        if grant == "authorization_code":
            assert form["redirect_uri"] == "http://127.0.0.1:8000/auth/callback/"
            with self._lock:
                spent = self.codes.get(form["code"], True)
                self.codes[form["code"]] = True
            if spent:
                return _oauth_error("invalid_grant", "Invalid authorization code")
            if not _pkce_verified(
                form.get("code_verifier"), self.code_challenges.get(form["code"])
            ):
                return _oauth_error("invalid_grant", "code_verifier was incorrect")
            return self._tokens(user=True, with_refresh=True)
        assert grant == "refresh_token"
        if self.refresh_delay_seconds:
            time.sleep(self.refresh_delay_seconds)
        if self.refresh_tokens_revoked or form["refresh_token"] not in self.refresh_tokens:
            return _oauth_error("invalid_grant", "Refresh token revoked")
        return self._tokens(user=True, with_refresh=self.rotate_refresh_tokens)

    def _tokens(self, *, user: bool, with_refresh: bool) -> httpx.Response:
        body: dict[str, Any] = {
            "access_token": f"{'user' if user else 'app'}-access-{secrets.token_urlsafe(24)}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if user:
            body["scope"] = "user-read-private"
        if with_refresh:
            body["refresh_token"] = f"refresh-{secrets.token_urlsafe(24)}"
        with self._lock:
            (self.user_access_tokens if user else self.app_access_tokens).append(
                body["access_token"]
            )
            if with_refresh:
                self.refresh_tokens.append(body["refresh_token"])
        return httpx.Response(200, json=body)


def _pkce_verified(verifier: str | None, challenge: str | None) -> bool:
    """As Spotify: a code asked for with a challenge needs its verifier, and only then one."""
    if challenge is None:
        return verifier is None
    return verifier is not None and pkce_challenge(verifier) == challenge


def _oauth_error(error: str, description: str) -> httpx.Response:
    return httpx.Response(400, json={"error": error, "error_description": description})


def bearer(call: Any) -> str:
    return str(call.request.headers["Authorization"]).removeprefix("Bearer ")


def me_route(router: respx.MockRouter, accounts: AccountsService) -> respx.Route:
    """/v1/me answers only for a user token (an app token has no user: Spotify says 401)."""

    def me(request: httpx.Request) -> httpx.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in accounts.user_access_tokens:
            return httpx.Response(401, json={"error": {"status": 401, "message": "Bad token"}})
        return httpx.Response(200, json=ME)

    return router.get(f"{API}/me").mock(side_effect=me)


def logged_in(
    client: Client, *, staff: bool = True, superuser: bool = False, manager: bool = False
) -> Client:
    """Signs a new user in; a `manager` may connect and disconnect the site's Spotify account."""
    user = get_user_model().objects.create_user(
        username=f"user-{secrets.token_hex(4)}", is_staff=staff, is_superuser=superuser
    )
    if manager:
        user.user_permissions.add(Permission.objects.get(codename="manage_site_connection"))
    client.force_login(user)
    return client


def start_login(client: Client) -> dict[str, str]:
    """Press Connect (POST /auth/login/) and return the query of the consent URL it leads to."""
    response = client.post("/auth/login/")
    assert response.status_code == 302
    return {
        key: values[0] for key, values in parse_qs(urlsplit(response["Location"]).query).items()
    }


def connect(client: Client, accounts: AccountsService) -> Any:
    """The whole Connect flow as the browser goes through it; returns the callback's response."""
    consent = start_login(client)
    code = accounts.issue_code(code_challenge=consent["code_challenge"])
    return client.get("/auth/callback/", {"code": code, "state": consent["state"]})


def seed_connection(
    accounts: AccountsService, *, seconds_left: int, access_token: str | None = None
) -> SpotifyConnection:
    """A connection as the flow would have stored it, its token expiring in `seconds_left`."""
    refresh_token = f"refresh-{secrets.token_urlsafe(24)}"
    access_token = access_token or f"user-access-{secrets.token_urlsafe(24)}"
    accounts.refresh_tokens.append(refresh_token)
    accounts.user_access_tokens.append(access_token)
    return SpotifyConnection.objects.create(
        account_id=ME["id"],
        display_name=ME["display_name"],
        scope="user-read-private",
        access_token=access_token,
        refresh_token=refresh_token,
        expires_at=timezone.now() + timedelta(seconds=seconds_left),
    )

"""The accounts service: `/authorize` consent page and `/api/token`."""

import base64
import binascii
import hmac
import ipaddress
import re
import time
from html import escape
from urllib.parse import urlencode, urlsplit

from spotify.fake.state import FakeState
from spotify.fake.tokens import (
    CODE_TTL_SECONDS,
    REFRESH_TOKEN_LIFETIME_SECONDS,
    Claims,
    TokenKind,
    pkce_challenge,
)
from spotify.fake.wsgi import Request, Response, html_response, json_response, oauth_error, redirect

DEMO_USER_ID = "fakeuser"
# The accounts a browser may consent as (a Development Mode app has at most 5 users in 2026);
# each follows different artists (see Dataset.followed_artists).
FAKE_ACCOUNTS = (DEMO_USER_ID, "fakeuser2", "fakeuser3", "fakeuser4", "fakeuser5")
# RFC 7636 4.1: 43 to 128 unreserved characters.
PKCE_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
AUTHORIZE_FIELDS = (
    "client_id",
    "response_type",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
)


def _loopback_ip(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Accounts:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    # --- /authorize ---------------------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        params = request.query if request.method == "GET" else request.form
        problem = self._authorize_problem(params)
        if problem:
            return html_response(400, _error_page(problem))
        if request.method == "GET":
            return html_response(200, self._consent_page(params))
        redirect_uri = params["redirect_uri"]
        if params.get("decision") != "agree":
            return redirect(
                _with_query(redirect_uri, error="access_denied", state=params.get("state"))
            )
        if params.get("account", DEMO_USER_ID) not in FAKE_ACCOUNTS:
            return html_response(400, _error_page("INVALID_REQUEST: Unknown account"))
        code = self._issue_code(params)
        return redirect(_with_query(redirect_uri, code=code, state=params.get("state")))

    def _authorize_problem(self, params: dict[str, str]) -> str | None:
        config = self.state.config
        if params.get("client_id") != config.client_id:
            return "INVALID_CLIENT: Invalid client"
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri:
            return "INVALID_CLIENT: Invalid redirect URI"
        if config.redirect_uris and redirect_uri not in config.redirect_uris:
            return "INVALID_CLIENT: Invalid redirect URI"
        parts = urlsplit(redirect_uri)
        if not (
            parts.scheme == "https" or (parts.scheme == "http" and _loopback_ip(parts.hostname))
        ):
            # Since Nov 2025: https, or http on a loopback IP literal; `localhost` is refused.
            return "INVALID_CLIENT: Insecure redirect URI"
        if params.get("response_type") != "code":
            return "unsupported_response_type: response_type must be code"
        if params.get("code_challenge") and params.get("code_challenge_method") != "S256":
            return "INVALID_REQUEST: code_challenge_method must be S256"
        return None

    def _issue_code(self, params: dict[str, str]) -> str:
        now = int(time.time())
        claims = Claims.new(
            TokenKind.CODE,
            client_id=params["client_id"],
            expires_at=now + CODE_TTL_SECONDS,
            scope=" ".join(params.get("scope", "").split()),
            user=params.get("account", DEMO_USER_ID),
            auth_time=now,
            redirect_uri=params["redirect_uri"],
            code_challenge=params.get("code_challenge") or None,
        )
        return self.state.signer.sign(claims)

    def _consent_page(self, params: dict[str, str]) -> str:
        config = self.state.config
        scopes = params.get("scope", "").split()
        scope_items = "".join(f"<li><code>{escape(s)}</code></li>" for s in scopes) or (
            "<li>Read public catalogue data only</li>"
        )
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{escape(params[name])}">'
            for name in AUTHORIZE_FIELDS
            if name in params
        )
        accounts = "".join(
            f'<option value="{account}">{account}</option>' for account in FAKE_ACCOUNTS
        )
        return _PAGE.format(
            title="Authorise access",
            body=(
                f"<h1>Connect to Spotify <small>(fake)</small></h1>"
                f"<p>Logged in as <strong>{escape(config.user_display_name)}</strong>.</p>"
                f"<p>The app <code>{escape(params['client_id'])}</code> would like to:</p>"
                f"<ul>{scope_items}</ul>"
                f"<p class=muted>You will be sent back to "
                f"<code>{escape(params['redirect_uri'])}</code>.</p>"
                f'<form method="post" action="">{hidden}'
                f'<p><label>Account <select name="account">{accounts}</select></label></p>'
                f'<button name="decision" value="agree" class="primary">Agree</button> '
                f'<button name="decision" value="cancel">Cancel</button></form>'
            ),
        )

    # --- /api/token ---------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        form = request.form
        grant_type = form.get("grant_type", "")
        if not grant_type:
            return oauth_error("unsupported_grant_type", "grant_type parameter is missing")
        if grant_type not in ("client_credentials", "authorization_code", "refresh_token"):
            return oauth_error(
                "unsupported_grant_type",
                "grant_type must be client_credentials, authorization_code or refresh_token",
            )
        client = self._client(request)
        if client is None:
            return oauth_error("invalid_client", "Invalid client")
        client_id, authenticated = client
        if grant_type == "client_credentials":
            if not authenticated:
                return oauth_error("invalid_client", "Invalid client")
            return json_response(200, self._access_body(client_id, scope=None, user=None))
        if grant_type == "authorization_code":
            return self._authorization_code(form, client_id, authenticated)
        return self._refresh(form, client_id, authenticated)

    def _client(self, request: Request) -> tuple[str, bool] | None:
        """(client_id, secret verified) from Basic auth or the form; None if invalid."""
        config = self.state.config
        client_id, secret = request.form.get("client_id"), request.form.get("client_secret")
        header = request.header("Authorization") or ""
        if header:
            scheme, _, encoded = header.partition(" ")
            if scheme.lower() != "basic":
                return None
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            client_id, _, secret = decoded.partition(":")
        if client_id != config.client_id:
            return None
        if secret is None:
            return client_id, False
        if not hmac.compare_digest(secret.encode(), config.client_secret.encode()):
            return None
        return client_id, True

    def _authorization_code(
        self, form: dict[str, str], client_id: str, authenticated: bool
    ) -> Response:
        code = form.get("code", "")
        if not code:
            return oauth_error("invalid_request", "code must be supplied")
        claims = self.state.signer.verify(code, TokenKind.CODE)
        if claims is None or claims.client_id != client_id:
            return oauth_error("invalid_grant", "Invalid authorization code")
        if claims.expired(time.time()):
            return oauth_error("invalid_grant", "Authorization code expired")
        if form.get("redirect_uri") != claims.redirect_uri:
            return oauth_error("invalid_grant", "Invalid redirect URI")
        public = claims.code_challenge is not None
        verifier = form.get("code_verifier")
        if public:
            if (
                not verifier
                or not PKCE_VERIFIER.fullmatch(verifier)
                or pkce_challenge(verifier) != claims.code_challenge
            ):
                return oauth_error("invalid_grant", "code_verifier was incorrect")
        elif verifier is not None:
            # A verifier for a code asked for without a challenge: refused (RFC 9700 2.1.1).
            return oauth_error("invalid_grant", "code_verifier was not expected")
        elif not authenticated:
            return oauth_error("invalid_client", "Invalid client")
        if not self.state.spend_code(claims.nonce):
            return oauth_error("invalid_grant", "Invalid authorization code")
        body = self._access_body(client_id, scope=claims.scope, user=claims.user)
        body["refresh_token"] = self._refresh_token(claims, public=public)
        return json_response(200, body)

    def _refresh(self, form: dict[str, str], client_id: str, authenticated: bool) -> Response:
        token = form.get("refresh_token", "")
        if not token:
            return oauth_error("invalid_request", "refresh_token must be supplied")
        claims = self.state.signer.verify(token, TokenKind.REFRESH)
        if claims is None or claims.client_id != client_id:
            return oauth_error("invalid_grant", "Invalid refresh token")
        if not authenticated and not claims.public:
            return oauth_error("invalid_client", "Invalid client")
        if self.state.config.refresh_tokens_revoked or claims.expired(time.time()):
            return oauth_error("invalid_grant", "Refresh token revoked")
        body = self._access_body(client_id, scope=claims.scope, user=claims.user)
        if self.state.config.rotate_refresh_tokens:
            body["refresh_token"] = self._refresh_token(claims, public=claims.public)
        return json_response(200, body)

    def _access_body(
        self, client_id: str, *, scope: str | None, user: str | None
    ) -> dict[str, object]:
        ttl = self.state.config.token_ttl_seconds
        now = int(time.time())
        claims = Claims.new(
            TokenKind.ACCESS,
            client_id=client_id,
            expires_at=now + ttl,
            scope=scope or "",
            user=user,
            auth_time=now,
        )
        # Key order of the recorded ClientCredentials.json / AuthorizationCode.json bodies.
        body: dict[str, object] = {
            "access_token": self.state.signer.sign(claims),
            "token_type": "Bearer",
        }
        if scope is not None:
            body["scope"] = scope
        body["expires_in"] = ttl
        return body

    def _refresh_token(self, origin: Claims, *, public: bool) -> str:
        claims = Claims.new(
            TokenKind.REFRESH,
            client_id=origin.client_id,
            expires_at=origin.auth_time + REFRESH_TOKEN_LIFETIME_SECONDS,
            scope=origin.scope,
            user=origin.user,
            auth_time=origin.auth_time,
            public=public,
        )
        return self.state.signer.sign(claims)


def _with_query(uri: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if urlsplit(uri).query else "?"
    return f"{uri}{separator}{query}"


def _error_page(message: str) -> str:
    return _PAGE.format(
        title="Error",
        body=f"<h1>Oops! Something went wrong</h1><p><code>{escape(message)}</code></p>",
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - Fake Spotify</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #121212; color: #fff; margin: 0; }}
main {{ max-width: 28rem; margin: 4rem auto; padding: 2rem; background: #181818;
  border-radius: 12px; }}
h1 {{ font-size: 1.4rem; }} small, .muted {{ color: #a7a7a7; font-weight: normal; }}
code {{ background: #282828; padding: 0 .3em; border-radius: 4px; word-break: break-all; }}
button {{ font: inherit; padding: .6rem 1.6rem; border-radius: 999px; border: 1px solid #727272;
  background: transparent; color: #fff; cursor: pointer; }}
button.primary {{ background: #1ed760; border-color: #1ed760; color: #000; font-weight: 700; }}
</style></head>
<body><main>{body}</main></body></html>
"""

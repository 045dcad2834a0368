"""The accounts service: the consent URL and the token endpoint (all three grants)."""

import base64
import hashlib
import secrets
from urllib.parse import urlencode

from pydantic import ValidationError

from spotify.errors import (
    BadResponseError,
    InvalidClientError,
    InvalidGrantError,
    RequestRejectedError,
)
from spotify.http import SpotifyHttp
from spotify.types import TokenGrant

# Enough for GET /v1/me (id and display name); catalog calls need no scope at all.
USER_SCOPE = "user-read-private"
# A user's own connection: reading whom they follow, always; writing their private playlist only
# once they turn the playlist on (asked then, in a second consent).
FOLLOW_SCOPE = "user-follow-read"
PLAYLIST_SCOPE = "playlist-modify-private"
# What a user's connection may ask for beyond FOLLOW_SCOPE.
USER_CONNECTION_EXTRA_SCOPES = frozenset({PLAYLIST_SCOPE})


class AccountsClient:
    def __init__(self, http: SpotifyHttp) -> None:
        self.http = http
        self.conf = http.conf

    def authorize_url(
        self, *, state: str, code_verifier: str, show_dialog: bool, scope: str = USER_SCOPE
    ) -> str:
        """Spotify's consent page. PKCE (S256) binds the code it returns to this request's
        verifier; `show_dialog` makes Spotify ask again instead of silently reusing the account
        the browser last approved (when the connection replaces another account)."""
        params = {
            "client_id": self.conf.client_id,
            "response_type": "code",
            "redirect_uri": self.conf.redirect_uri,
            "state": state,
            "scope": scope,
            "code_challenge_method": "S256",
            "code_challenge": pkce_code_challenge(code_verifier),
        }
        if show_dialog:
            params["show_dialog"] = "true"
        return f"{self.conf.authorize_base_url}/authorize?{urlencode(params)}"

    def client_credentials(self) -> TokenGrant:
        return self._token({"grant_type": "client_credentials"}, grant="client_credentials")

    def exchange_code(self, code: str, *, code_verifier: str) -> TokenGrant:
        return self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.conf.redirect_uri,
                "code_verifier": code_verifier,
            },
            grant="authorization_code",
        )

    def refresh(self, refresh_token: str) -> TokenGrant:
        return self._token(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, grant="refresh_token"
        )

    def _token(self, form: dict[str, str], *, grant: str) -> TokenGrant:
        response = self.http.send(
            "POST",
            f"{self.conf.accounts_base_url}/api/token",
            endpoint=f"POST /api/token {grant}",
            data=form,
            auth=(self.conf.client_id, self.conf.client_secret),
        )
        try:
            body = response.json()
        except ValueError as error:
            raise BadResponseError(
                f"Spotify's token endpoint answered {response.status_code} with no JSON"
            ) from error
        if response.status_code == 200:
            try:
                return TokenGrant.model_validate(body)
            except ValidationError as error:
                raise BadResponseError(
                    "Spotify's token endpoint answered an unexpected shape"
                ) from error
        error_code = body.get("error", "") if isinstance(body, dict) else ""
        description = body.get("error_description", "") if isinstance(body, dict) else ""
        if error_code == "invalid_client":
            raise InvalidClientError(description or "Invalid client")
        if error_code == "invalid_grant":
            raise InvalidGrantError(description or "Invalid grant")
        raise RequestRejectedError(response.status_code, f"{error_code}: {description}".strip(": "))


def pkce_code_verifier() -> str:
    """A fresh PKCE code verifier: 64 random bytes as 86 URL-safe characters (RFC 7636 allows
    43 to 128 of them)."""
    return secrets.token_urlsafe(64)


def pkce_code_challenge(code_verifier: str) -> str:
    """The S256 code challenge: the unpadded base64url SHA-256 of the verifier (RFC 7636 4.2)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

"""Stateless, HMAC-signed tokens and authorization codes.

A token is `<prefix><base64url(json claims)>.<base64url(hmac)>`. Nothing is stored server-side,
so any process that knows the signing secret accepts it (gunicorn workers, the runserver
reloader, a second fake process).
"""

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Self

CODE_TTL_SECONDS = 600
# Spotify refresh tokens stop working six months after the user's authorisation.
REFRESH_TOKEN_LIFETIME_SECONDS = 183 * 24 * 3600


class TokenKind(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"
    CODE = "code"


# Cosmetic only: real access tokens start with "BQ", refresh tokens and codes with "AQ".
_PREFIXES = {TokenKind.ACCESS: "BQ", TokenKind.REFRESH: "AQ", TokenKind.CODE: "AQ"}


@dataclass(frozen=True, slots=True)
class Claims:
    kind: str
    client_id: str
    # When the user authorised the app; refresh tokens expire relative to it.
    auth_time: int
    expires_at: int | None = None
    scope: str = ""
    user: str | None = None
    redirect_uri: str | None = None
    code_challenge: str | None = None
    # The grant came through PKCE, so the client may refresh without its secret.
    public: bool = False
    nonce: str = ""

    @classmethod
    def new(
        cls,
        kind: TokenKind,
        *,
        client_id: str,
        expires_at: int | None,
        scope: str,
        user: str | None,
        auth_time: int,
        redirect_uri: str | None = None,
        code_challenge: str | None = None,
        public: bool = False,
    ) -> Self:
        return cls(
            kind=kind.value,
            client_id=client_id,
            expires_at=expires_at,
            scope=scope,
            user=user,
            auth_time=auth_time,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            public=public,
            nonce=secrets.token_urlsafe(12),
        )

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: str) -> None:
        self._key = secret.encode()

    def _mac(self, payload: str) -> str:
        return _b64encode(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def sign(self, claims: Claims) -> str:
        # Empty claims are left out (the dataclass defaults restore them) to keep tokens short.
        claims_dict = {k: v for k, v in asdict(claims).items() if v not in (None, False, "")}
        body = json.dumps(claims_dict, separators=(",", ":"), sort_keys=True)
        payload = _b64encode(body.encode())
        return f"{_PREFIXES[TokenKind(claims.kind)]}{payload}.{self._mac(payload)}"

    def verify(self, token: str, kind: TokenKind) -> Claims | None:
        """The claims of a genuine token of `kind` (expired or not), else None."""
        prefix = _PREFIXES[kind]
        if not token.startswith(prefix) or token.count(".") != 1:
            return None
        payload, mac = token[len(prefix) :].split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            claims = Claims(**json.loads(_b64decode(payload)))
        except (binascii.Error, ValueError, TypeError):
            return None
        return claims if claims.kind == kind.value else None


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE code verifier."""
    return _b64encode(hashlib.sha256(verifier.encode("ascii", "replace")).digest())

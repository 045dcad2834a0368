"""Tokens at rest are Fernet-encrypted, so a raw read of the table reveals nothing usable."""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


def _derived_key(secret_key: str) -> bytes:
    digest = hashlib.sha256(f"spotify-token-encryption:{secret_key}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


@cache
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    try:
        fernets = [Fernet(key.encode()) for key in keys] or [Fernet(_derived_key(secret_key))]
    except ValueError as error:
        raise ImproperlyConfigured(
            "TOKEN_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes); "
            'make one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        ) from error
    return MultiFernet(fernets)


def token_fernet() -> MultiFernet:
    """The first key encrypts; every listed key decrypts (see README, "Rotating the token key")."""
    return _fernet(tuple(settings.TOKEN_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return token_fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return token_fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as error:
        raise ImproperlyConfigured(
            "A stored Spotify token cannot be decrypted with TOKEN_ENCRYPTION_KEYS (or SECRET_KEY): "
            "keep the old key listed after the new one until `manage.py rotate_token_key` has run"
        ) from error


class EncryptedTextField(models.TextField[str, str]):
    """A text column holding Fernet ciphertext; Python code only ever sees the plaintext."""

    def from_db_value(self, value: str | None, *args: object) -> str | None:
        # An empty column stays "" (a cleared token), as it was saved; only ciphertext is decrypted.
        return value if value in (None, "") else decrypt(value)

    def get_prep_value(self, value: object) -> object:
        if value in (None, ""):
            return value
        return encrypt(str(value))

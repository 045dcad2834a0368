from typing import Any

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError

from spotify.services import token_key_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypts the stored Spotify tokens with the first key of TOKEN_ENCRYPTION_KEYS; "
        "afterwards the older keys can be removed from the setting."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = token_key_rotate()
        except InvalidToken as error:
            raise CommandError(
                "A stored token cannot be decrypted with any key of TOKEN_ENCRYPTION_KEYS: "
                "list the new key first and keep the old one after it until this has run"
            ) from error
        self.stdout.write(f"Re-encrypted {count} stored token(s) with the current key.")

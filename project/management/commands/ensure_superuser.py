import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "admin"  # Documented, printed as local-only; Docker never runs this command.


class Command(BaseCommand):
    help = (
        "Create a staff superuser from DJANGO_SUPERUSER_USERNAME / DJANGO_SUPERUSER_PASSWORD "
        f"(default {DEFAULT_USERNAME}/{DEFAULT_PASSWORD}) unless it exists. For local runs only."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        # Settings have loaded `.env` into the environment by now.
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or DEFAULT_USERNAME
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or DEFAULT_PASSWORD
        users = get_user_model().objects
        if users.filter(username=username).exists():
            self.stdout.write(f"Staff user {username!r} exists; its password is left as it is.")
            return
        users.create_superuser(
            username=username,
            email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""),
            password=password,
        )
        shown = f"password {password!r}" if password == DEFAULT_PASSWORD else "your password"
        self.stdout.write(
            f"Created staff user {username!r} with {shown}. LOCAL USE ONLY: set "
            "DJANGO_SUPERUSER_PASSWORD, or change it in /admin/, before anyone else can reach "
            "this server."
        )

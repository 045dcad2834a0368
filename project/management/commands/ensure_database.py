from typing import Any

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg import sql

# Databases every PostgreSQL server has, to connect to while ours may not exist yet.
MAINTENANCE_DATABASES = ("postgres", "template1")


class Command(BaseCommand):
    help = "Create the configured PostgreSQL database if it does not exist (local runs)."

    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        database = settings.DATABASES["default"]
        name = str(database["NAME"])
        if database_ensure(database=database):
            self.stdout.write(f"Created database {name!r}.")
        else:
            self.stdout.write(f"Database {name!r} exists.")


def database_ensure(*, database: dict[str, Any]) -> bool:
    """Returns whether the database had to be created. Django's own connection cannot be used:
    it points at the database that may not exist."""
    name = str(database["NAME"])
    with _maintenance_connection(database) as maintenance:
        exists = maintenance.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists:
            return False
        maintenance.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def _maintenance_connection(database: dict[str, Any]) -> psycopg.Connection[Any]:
    errors = []
    for dbname in MAINTENANCE_DATABASES:
        try:
            return psycopg.connect(
                dbname=dbname,
                user=database.get("USER") or None,
                password=database.get("PASSWORD") or None,
                host=database.get("HOST") or None,
                port=database.get("PORT") or None,
                connect_timeout=database.get("OPTIONS", {}).get("connect_timeout", 5),
                autocommit=True,
            )
        except psycopg.OperationalError as error:
            errors.append(f"{dbname}: {error}".strip())
    raise CommandError(
        "Cannot connect to PostgreSQL to create the database:\n  " + "\n  ".join(errors)
    )

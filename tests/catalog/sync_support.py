"""Holding the sync's advisory lock from another PostgreSQL session, as a running worker does."""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection

from catalog.sync_lock import SYNC_LOCK_KEY


def database_conninfo() -> dict[str, object]:
    """Connection keywords for the database the tests use (the test database, once set up)."""
    settings = connection.settings_dict
    params = {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"],
        "host": settings["HOST"],
        "port": settings["PORT"],
    }
    return {key: value for key, value in params.items() if value}


@contextmanager
def sync_lock_held_elsewhere() -> Iterator[None]:
    with psycopg.connect(**database_conninfo(), autocommit=True) as other:  # type: ignore[arg-type]
        other.execute("SELECT pg_advisory_lock(%s)", [SYNC_LOCK_KEY])
        try:
            yield
        finally:
            other.execute("SELECT pg_advisory_unlock(%s)", [SYNC_LOCK_KEY])

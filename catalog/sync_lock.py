"""The sync's single-flight lock: a PostgreSQL session-level advisory lock.

It dies with the session, so a killed worker can never leave it taken."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

# Any constant works, as long as nothing else in the database uses it for an advisory lock.
SYNC_LOCK_KEY = 0x5EC7_2026


@contextmanager
def sync_lock() -> Iterator[bool]:
    """Yields whether this session got the lock; never waits for it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SYNC_LOCK_KEY])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SYNC_LOCK_KEY])


def sync_lock_held_by_another_session() -> bool:
    """Whether a sync is alive in some other session, read from pg_locks without taking the lock.

    A bigint advisory key shows up split in two: high half in classid, low half in objid."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT EXISTS (
                SELECT 1 FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND objsubid = 1
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND classid::bigint = %s AND objid::bigint = %s
                  AND pid <> pg_backend_pid()
            )
            """,
            [SYNC_LOCK_KEY >> 32, SYNC_LOCK_KEY & 0xFFFF_FFFF],
        )
        return bool(cursor.fetchone()[0])

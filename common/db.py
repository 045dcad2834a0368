from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper


@contextmanager
def repeatable_read() -> Iterator[None]:
    """A transaction whose queries all read one database snapshot, so that reads made one after
    another never straddle a sync's commit. Inside a transaction already (a test's, say), the
    caller's snapshot rules apply: PostgreSQL only takes the level as a transaction's first
    statement."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


def prepared_cursor() -> CursorWrapper:
    """What `connection.cursor()` gives, but binding parameters server-side, so that psycopg
    prepares a statement run often (settings: "prepare_threshold") and PostgreSQL stops planning
    it on every request: for the artist list, planning costs about as much as running. Still
    logged, counted by execute wrappers, and failing with Django's errors."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = psycopg.Cursor(connection.connection)
    # django-stubs say these take a CursorWrapper; Django hands them the DB-API cursor.
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)  # type: ignore[arg-type]
    return connection.make_cursor(cursor)  # type: ignore[arg-type]

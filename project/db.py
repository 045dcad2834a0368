from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Model


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
    return _server_binding_cursor()


def one_read(sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    """The first row of ONE read-only statement, on a `prepared_cursor`, without Django's
    per-request health check of the persistent connection (a `SELECT 1` round trip: a tenth of
    the uncached artist list's time). A connection that turns out dead (PostgreSQL restarted)
    is replaced and the statement run once more on the new one, as the health check would have
    done: a read can be repeated. Inside a transaction it cannot, and the error stands."""
    for attempt in (1, 2):
        try:
            with _server_binding_cursor() as cursor:
                cursor.execute(sql, params)
                row: tuple[Any, ...] | None = cursor.fetchone()
                return row
        except (OperationalError, InterfaceError):
            if attempt == 2 or connection.in_atomic_block:
                raise
            connection.close()
    raise AssertionError("unreachable")


def _server_binding_cursor() -> CursorWrapper:
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = psycopg.Cursor(connection.connection)
    # django-stubs say these take a CursorWrapper; Django hands them the DB-API cursor.
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)  # type: ignore[arg-type]
    return connection.make_cursor(cursor)  # type: ignore[arg-type]


def model_columns_sql(model: type[Model], alias: str) -> str:
    """The model's concrete columns as `alias.column, …`, in the order `model_from_row` reads."""
    return ", ".join(f"{alias}.{field.column}" for field in model._meta.concrete_fields)


def model_from_row[M: Model](model: type[M], values: Sequence[Any]) -> M:
    """An instance from `model_columns_sql`'s columns as a cursor gives them, converted as the
    ORM converts them (a JSON field's text, say): for reads run through `prepared_cursor`."""
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        from_db_value = getattr(field, "from_db_value", None)
        converted.append(value if from_db_value is None else from_db_value(value, None, connection))
    return model.from_db(connection.alias, [field.attname for field in fields], converted)

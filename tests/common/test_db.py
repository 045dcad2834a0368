import psycopg
import pytest
from django.db import OperationalError, connection

from common.db import one_read, prepared_cursor, repeatable_read


@pytest.mark.django_db(transaction=True)
def test_repeatable_read_runs_its_block_in_one_repeatable_read_transaction():
    with repeatable_read():
        assert connection.in_atomic_block
        with connection.cursor() as cursor:
            cursor.execute("SHOW transaction_isolation")
            assert cursor.fetchone() == ("repeatable read",)
    assert not connection.in_atomic_block


@pytest.mark.django_db
def test_prepared_cursor_binds_server_side_and_is_counted_like_any_cursor(
    django_assert_num_queries,
):
    # Bound client-side, 1 is a literal integer; bound server-side (so that PostgreSQL can prepare
    # the statement), psycopg sends it as a parameter of its smallest type.
    with django_assert_num_queries(2):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_typeof(%s)::text", [1])
            assert cursor.fetchone() == ("integer",)
        with prepared_cursor() as cursor:
            cursor.execute("SELECT pg_typeof(%s)::text", [1])
            assert cursor.fetchone() == ("smallint",)


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return int(pid)


@pytest.mark.django_db(transaction=True)
def test_one_read_survives_a_connection_the_server_dropped():
    dropped = _backend_pid()
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [dropped])

    assert one_read("SELECT %s::int + 1", [1]) == (2,)  # run again on a new connection
    assert _backend_pid() != dropped


@pytest.mark.django_db
def test_inside_a_transaction_one_read_cannot_be_repeated_and_fails():
    dropped = _backend_pid()
    with psycopg.connect(**connection.get_connection_params()) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [dropped])

    with pytest.raises(OperationalError):
        one_read("SELECT 1", [])

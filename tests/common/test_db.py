import pytest
from django.db import connection

from common.db import prepared_cursor, repeatable_read


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

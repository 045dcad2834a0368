import socket
from io import StringIO

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from project.management.commands.ensure_database import database_ensure


@pytest.fixture
def unused_tcp_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ensure_database_creates_a_missing_database_once(scratch_database_name):
    database = {**settings.DATABASES["default"], "NAME": scratch_database_name}

    assert database_ensure(database=database) is True
    assert database_ensure(database=database) is False
    with psycopg.connect(
        dbname=scratch_database_name,
        user=database["USER"],
        password=database["PASSWORD"] or None,
        host=database["HOST"],
        port=database["PORT"],
    ) as created:
        assert created.execute("SELECT current_database()").fetchone() == (scratch_database_name,)


def test_ensure_database_says_why_when_postgres_is_unreachable(unused_tcp_port):
    database = {**settings.DATABASES["default"], "PORT": unused_tcp_port, "OPTIONS": {}}

    with pytest.raises(CommandError, match="Cannot connect to PostgreSQL"):
        database_ensure(database=database)


@pytest.mark.django_db
def test_ensure_superuser_creates_the_default_local_user_once(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    first, second = StringIO(), StringIO()

    call_command("ensure_superuser", stdout=first)
    call_command("ensure_superuser", stdout=second)

    user = get_user_model().objects.get()
    assert (user.username, user.is_staff, user.is_superuser) == ("admin", True, True)
    assert user.check_password("admin")
    assert "LOCAL USE ONLY" in first.getvalue()
    assert "exists" in second.getvalue()


@pytest.mark.django_db
def test_ensure_superuser_reads_the_environment_and_never_prints_a_chosen_password(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "zoë")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-chosen-passphrase")
    output = StringIO()

    call_command("ensure_superuser", stdout=output)

    assert get_user_model().objects.get(username="zoë").check_password("a-long-chosen-passphrase")
    assert "a-long-chosen-passphrase" not in output.getvalue()

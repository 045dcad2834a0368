"""The admin login is protected against password guessing (django-axes)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def admin_user(settings):
    settings.AXES_FAILURE_LIMIT = 5
    # A fast hasher: the test is about counting attempts, not about hashing cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return get_user_model().objects.create_user(
        username="admin", password=PASSWORD, is_staff=True, is_superuser=True
    )


def attempt(client: Client, password: str, *, username: str = "admin", ip: str = "10.0.0.1"):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, follow=False
    )


def test_the_right_password_logs_in(client: Client, admin_user):
    response = attempt(client, PASSWORD)

    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client: Client, admin_user):
    for _ in range(4):
        assert attempt(client, "guess").status_code == 200  # the form again, with an error

    assert attempt(client, "guess").status_code == 429
    locked = attempt(client, PASSWORD)

    assert locked.status_code == 429
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_the_lockout_is_per_username_and_address(client: Client, admin_user):
    for _ in range(5):
        attempt(client, "guess", ip="10.0.0.1")

    assert attempt(Client(), PASSWORD, ip="10.0.0.2").status_code == 302


def test_a_success_before_the_limit_resets_the_count(client: Client, admin_user):
    for _ in range(4):
        attempt(client, "guess")
    assert attempt(client, PASSWORD).status_code == 302
    client.logout()

    for _ in range(4):
        assert attempt(client, "guess").status_code == 200

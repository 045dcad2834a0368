"""The admin login is protected against password guessing (django-axes)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.test_settings import _settings as load_settings

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


# --- behind reverse proxies (TRUSTED_PROXY_COUNT) ---------------------------------------------

PROXY = "10.0.0.254"
PROXY_SETTINGS = ("AXES_IPWARE_META_PRECEDENCE_ORDER", "AXES_IPWARE_PROXY_COUNT", "IPWARE_STRICT")


@pytest.fixture
def trusted_proxies(settings):
    """Applies the settings a deployment gets from TRUSTED_PROXY_COUNT (read in a fresh process)."""

    def apply(count: int) -> None:
        loaded = load_settings({"DEBUG": "1", "TRUSTED_PROXY_COUNT": str(count)}, *PROXY_SETTINGS)
        for name, value in loaded.items():
            setattr(settings, name, tuple(value) if isinstance(value, list) else value)

    return apply


def attempt_via_proxy(password: str, *, forwarded_for: str):
    return Client().post(
        LOGIN,
        {"username": "admin", "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_behind_one_proxy_clients_are_locked_out_one_by_one(admin_user, trusted_proxies):
    trusted_proxies(1)
    for _ in range(5):
        attempt_via_proxy("guess", forwarded_for="203.0.113.7")

    assert attempt_via_proxy(PASSWORD, forwarded_for="203.0.113.7").status_code == 429
    # Someone else behind the same proxy still signs in.
    assert attempt_via_proxy(PASSWORD, forwarded_for="198.51.100.20").status_code == 302


def test_behind_one_proxy_a_forged_left_entry_does_not_dodge_the_lockout(
    admin_user, trusted_proxies
):
    trusted_proxies(1)
    for number in range(5):
        # The proxy appends the real client to whatever the client sent.
        attempt_via_proxy("guess", forwarded_for=f"192.0.2.{number}, 203.0.113.7")

    assert attempt_via_proxy(PASSWORD, forwarded_for="192.0.2.99, 203.0.113.7").status_code == 429


def test_without_trusted_proxies_x_forwarded_for_is_ignored(admin_user, trusted_proxies):
    trusted_proxies(0)
    for number in range(5):
        attempt_via_proxy("guess", forwarded_for=f"203.0.113.{number}")

    # A new header value does not make a new client: the address is REMOTE_ADDR's.
    assert attempt_via_proxy(PASSWORD, forwarded_for="198.51.100.20").status_code == 429

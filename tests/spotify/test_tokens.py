import threading
import time
from datetime import timedelta

import httpx
import pytest
from django.db import connection, connections
from django.utils import timezone

from spotify.client import accounts_client
from spotify.models import AppToken
from spotify.tokens import AppTokenSource
from tests.conftest import ACCOUNTS, token_route


@pytest.mark.django_db
def test_app_token_is_requested_once_and_reused_across_sources(spotify_mock):
    route = token_route(spotify_mock)
    first = AppTokenSource(accounts_client()).access_token()
    second = AppTokenSource(accounts_client()).access_token()
    assert first == second
    assert route.call_count == 1


@pytest.mark.django_db
def test_app_token_is_not_renewed_before_it_is_due(spotify_mock):
    route = token_route(spotify_mock)
    AppTokenSource(accounts_client()).access_token()
    AppToken.objects.update(expires_at=timezone.now() + timedelta(seconds=61))
    AppTokenSource(accounts_client()).access_token()
    assert route.call_count == 1


@pytest.mark.django_db
def test_app_token_is_renewed_when_less_than_a_minute_is_left(spotify_mock):
    route = token_route(spotify_mock)
    AppTokenSource(accounts_client()).access_token()
    AppToken.objects.update(expires_at=timezone.now() + timedelta(seconds=59))
    AppTokenSource(accounts_client()).access_token()
    assert route.call_count == 2


@pytest.mark.django_db
def test_app_token_is_encrypted_at_rest(spotify_mock):
    token_route(spotify_mock)
    token = AppTokenSource(accounts_client()).access_token()
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token FROM spotify_apptoken")
        raw = cursor.fetchone()[0]
    assert token not in raw
    assert raw.startswith("gAAAA")  # Fernet's version byte, base64-encoded


@pytest.mark.django_db(transaction=True)
def test_concurrent_callers_make_exactly_one_token_request(spotify_mock):
    def slow_token(request):
        time.sleep(0.3)  # keep the first caller inside its lock while the others arrive
        return httpx.Response(200, json={"access_token": "shared", "expires_in": 3600})

    route = spotify_mock.post(f"{ACCOUNTS}/api/token").mock(side_effect=slow_token)
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def worker():
        try:
            start.wait()
            results.append(AppTokenSource(accounts_client()).access_token())
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert results == ["shared"] * 6
    assert route.call_count == 1

"""No token value in logs, API answers, pages or the admin, after everything that handles them."""

import logging

import httpx
import pytest
from django.utils import timezone

from catalog.models import SyncRun
from catalog.services import sync_run_execute
from spotify.models import AppToken, SpotifyConnection
from tests.conftest import artists_route, new_release_pages, release_items
from tests.spotify.oauth_support import AccountsService, connect, logged_in, me_route

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_flow(client, accounts: AccountsService, spotify_mock, caplog) -> AccountsService:
    """Connect, sync on the user's token, refresh after expiry and after a 401, disconnect and
    reconnect, then lose the grant and fall back to the app token: every path a token takes."""
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "django", "spotify", "catalog"):
        caplog.set_level(logging.DEBUG, logger=name)
    me_route(spotify_mock, accounts)
    items = release_items(3)
    artists_route(spotify_mock, items)
    pages = new_release_pages(spotify_mock, items)
    serve_page = pages.side_effect
    pages.mock(side_effect=lambda request: _first_user_token_refused(request, accounts, serve_page))

    staff = logged_in(client, staff=True, superuser=True)
    assert connect(staff, accounts).status_code == 302
    _sync()
    SpotifyConnection.objects.update(expires_at=timezone.now())
    _sync()
    staff.post("/auth/logout/")
    connect(staff, accounts)
    _sync()
    SpotifyConnection.objects.update(expires_at=timezone.now())
    accounts.refresh_tokens_revoked = True
    _sync()
    assert SpotifyConnection.objects.get().needs_reconnect
    assert AppToken.objects.exists()
    # The fallback put the site on the app token: make it a live connection again for the pages.
    accounts.refresh_tokens_revoked = False
    connect(staff, accounts)
    assert accounts.count("refresh_token") >= 2
    assert accounts.count("client_credentials") == 1
    return accounts


def _first_user_token_refused(request: httpx.Request, accounts: AccountsService, serve_page):
    """Spotify revokes the first user token early: the first sync takes the 401 -> renew path."""
    if request.headers["Authorization"] == f"Bearer {accounts.user_access_tokens[0]}":
        return httpx.Response(401, json={"error": {"status": 401, "message": "Revoked"}})
    return serve_page(request)


def _sync() -> None:
    run = sync_run_execute(trigger=SyncRun.Trigger.MANUAL)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error


def _assert_no_secret(text: str, accounts: AccountsService) -> None:
    assert accounts.secrets, "the flow issued no token: the check would prove nothing"
    leaked = [secret for secret in accounts.secrets if secret in text]
    assert leaked == []


def test_no_token_in_the_captured_logs(full_flow, caplog):
    # The flow ran in the fixture: its records are those of the setup phase.
    records = caplog.get_records("setup") + caplog.get_records("call")
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    logged = "\n".join(
        formatter.format(record) + repr(record.args) + repr(record.__dict__.get("request", ""))
        for record in records
    )
    assert "Refreshed the user token" in logged  # the flow did log about tokens
    assert "needs reconnecting" in logged
    _assert_no_secret(logged, full_flow)


def test_no_token_in_the_status_api(full_flow, client):
    response = client.get("/api/spotify/status/")
    assert response.json()["mode"] == "user"
    _assert_no_secret(response.content.decode(), full_flow)


def test_no_token_on_the_dashboard_or_the_state_page(full_flow, client):
    for url in ("/", "/auth/callback/?state=wrong&code=x"):
        response = client.get(url)
        assert response.status_code in (200, 400)
        _assert_no_secret(response.content.decode(), full_flow)


def test_no_token_in_the_admin(full_flow, client):
    connection = SpotifyConnection.objects.get()
    app_token = AppToken.objects.get()
    urls = [
        "/admin/spotify/spotifyconnection/",
        f"/admin/spotify/spotifyconnection/{connection.pk}/change/",
        "/admin/spotify/apptoken/",
        f"/admin/spotify/apptoken/{app_token.pk}/change/",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        _assert_no_secret(html, full_flow)
        assert "access_token" not in html
        assert "refresh_token" not in html
    assert connection.display_name in client.get(urls[1]).content.decode()

"""Connect Spotify end to end against the fake over HTTP: the consent page is really posted, the
state is single-use and bound to the session that asked, and no token value shows anywhere."""

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from catalog.models import SyncRun
from catalog.services import sync_run_execute
from spotify.models import AppToken, SpotifyConnection
from spotify.views import STATE_SESSION_KEY
from tests.e2e.conftest import FakeServer

pytestmark = pytest.mark.django_db


def staff_client(name: str, *, superuser: bool = False) -> Client:
    user = get_user_model().objects.create_user(
        username=name, password="unused-password-1", is_staff=True, is_superuser=superuser
    )
    user.user_permissions.add(Permission.objects.get(codename="manage_site_connection"))
    client = Client()
    client.force_login(user)
    return client


def consent(client: Client) -> str:
    """Starts Connect on our site, agrees on the fake's consent page over HTTP, and returns the
    path and query of the callback Spotify sends the browser back to."""
    start = client.post("/auth/login/")
    assert start.status_code == 302
    authorize = start["Location"]
    with httpx.Client() as browser:
        page = browser.get(authorize)
        assert page.status_code == 200
        fields = dict(parse_qs(urlsplit(authorize).query, keep_blank_values=True))
        form = {name: values[0] for name, values in fields.items()} | {"decision": "agree"}
        answer = browser.post(authorize.split("?")[0], data=form)
    assert answer.status_code in (302, 303), answer.text[:200]
    back = urlsplit(answer.headers["Location"])
    return f"{back.path}?{back.query}"


def test_the_state_is_single_use_and_the_replayed_callback_changes_nothing(
    fake_spotify: FakeServer,
):
    staff = staff_client("ana")
    callback = consent(staff)

    assert staff.get(callback).status_code == 302
    connection = SpotifyConnection.objects.get()
    token_calls = fake_spotify.calls("POST /api/token authorization_code")

    replay = staff.get(callback)

    assert replay.status_code == 400
    assert fake_spotify.calls("POST /api/token authorization_code") == token_calls
    assert SpotifyConnection.objects.get().access_token == connection.access_token


def test_the_state_is_bound_to_the_session_that_asked(fake_spotify: FakeServer):
    victim = staff_client("victim")
    attacker_callback = consent(staff_client("attacker"))

    # A callback started by someone else's session, e.g. sent in a link: refused.
    refused = victim.get(attacker_callback)

    assert refused.status_code == 400
    assert not SpotifyConnection.objects.exists()
    assert fake_spotify.calls("POST /api/token authorization_code") == 0


def test_no_token_value_leaks_after_a_full_flow(
    fake_spotify: FakeServer, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    fake_spotify.configure(rotate_refresh_tokens=True)
    staff = staff_client("root", superuser=True)
    assert staff.get(consent(staff)).status_code == 302
    first = sync_run_execute(trigger=SyncRun.Trigger.MANUAL)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error
    # An expired user token is renewed: the refresh path runs too.
    SpotifyConnection.objects.update(expires_at=timezone.now())
    second = sync_run_execute(trigger=SyncRun.Trigger.MANUAL)
    assert second.status == SyncRun.Status.SUCCEEDED, second.error
    assert fake_spotify.calls("POST /api/token refresh_token") >= 1
    connection = SpotifyConnection.objects.get()
    secrets = [connection.access_token, connection.refresh_token]
    secrets += [token.access_token for token in AppToken.objects.all()]
    secrets = [secret for secret in secrets if secret]
    assert len(secrets) >= 2

    pages: dict[str, Any] = {}
    for path in (
        "/",
        "/api/artists/",
        "/api/health/",
        "/api/spotify/status/",
        "/admin/",
        "/admin/spotify/spotifyconnection/",
        f"/admin/spotify/spotifyconnection/{connection.pk}/change/",
        "/admin/spotify/apptoken/",
        "/admin/catalog/syncrun/",
        f"/admin/catalog/syncrun/{second.pk}/change/",
    ):
        response = staff.get(path)
        assert response.status_code in (200, 302, 404), (path, response.status_code)
        pages[path] = response.content.decode()
    logged = "\n".join(
        f"{record.name} {record.getMessage()} {record.args!r}" for record in caplog.records
    )

    for secret in secrets:
        assert [path for path, text in pages.items() if secret in text] == []
        assert secret not in logged


def test_the_code_is_bound_to_the_sessions_pkce_verifier(fake_spotify: FakeServer):
    staff = staff_client("ana")
    callback = consent(staff)
    # A stolen code is useless without the verifier, which never left our session.
    session = staff.session
    session[STATE_SESSION_KEY] = session[STATE_SESSION_KEY] | {"code_verifier": "x" * 64}
    session.save()

    response = staff.get(callback)

    assert response.status_code == 302
    assert fake_spotify.calls("POST /api/token authorization_code") == 1
    assert not SpotifyConnection.objects.exists()

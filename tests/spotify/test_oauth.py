from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from spotify.accounts import pkce_code_challenge
from spotify.fake.tokens import pkce_challenge
from spotify.models import SpotifyConnection
from spotify.views import STATE_SESSION_KEY
from tests.conftest import ACCOUNTS
from tests.spotify.oauth_support import (
    ME,
    bearer,
    connect,
    logged_in,
    seed_connection,
    start_login,
)

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def staff(client):
    """Staff who may manage the site's connection (the permission or superuser is needed)."""
    return logged_in(client, staff=True, manager=True)


# --- login -----------------------------------------------------------------------------------


def test_login_redirects_to_spotify_consent_with_a_single_use_state_and_pkce(staff):
    response = staff.post("/auth/login/")

    assert response.status_code == 302
    url = urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{ACCOUNTS}/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    pending = staff.session[STATE_SESSION_KEY]
    assert query == {
        "client_id": "test-client-id",
        "response_type": "code",
        "redirect_uri": "http://127.0.0.1:8000/auth/callback/",
        "state": pending["state"],
        "scope": "user-read-private",
        "code_challenge_method": "S256",
        "code_challenge": pkce_challenge(pending["code_verifier"]),
    }
    assert len(query["state"]) >= 32
    assert 43 <= len(pending["code_verifier"]) <= 128


def test_the_code_challenge_is_s256_as_rfc_7636_computes_it():
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce_code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_each_login_gets_a_new_state_and_verifier(staff):
    first, second = start_login(staff), start_login(staff)
    assert first["state"] != second["state"]
    assert first["code_challenge"] != second["code_challenge"]


def test_a_get_shows_the_connect_button_and_starts_nothing(staff):
    response = staff.get("/auth/login/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<form method="post" action="/auth/login/">' in html
    assert "csrfmiddlewaretoken" in html
    assert "Connect Spotify" in html
    assert STATE_SESSION_KEY not in staff.session


def test_a_cross_site_post_without_the_csrf_token_starts_nothing():
    client = logged_in(Client(enforce_csrf_checks=True), staff=True, manager=True)

    response = client.post("/auth/login/")

    assert response.status_code == 403
    assert STATE_SESSION_KEY not in client.session


def test_replacing_a_connection_asks_spotify_to_show_the_dialog_again(staff, accounts):
    assert "show_dialog" not in start_login(staff)
    seed_connection(accounts, seconds_left=3600)

    assert start_login(staff)["show_dialog"] == "true"
    assert "replaces the account connected now" in staff.get("/auth/login/").content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_login_is_refused_to_a_signed_in_user_who_is_not_staff(client, method):
    response = getattr(logged_in(client, staff=False), method)("/auth/login/")
    assert response.status_code == 403
    assert STATE_SESSION_KEY not in client.session


@pytest.mark.parametrize("method", ["get", "post"])
def test_login_is_refused_to_staff_without_the_permission(client, method):
    response = getattr(logged_in(client, staff=True), method)("/auth/login/")
    assert response.status_code == 403
    assert STATE_SESSION_KEY not in client.session


def test_a_superuser_may_connect_without_the_explicit_permission(client, accounts, me):
    response = connect(logged_in(client, staff=True, superuser=True), accounts)

    assert response.status_code == 302
    assert SpotifyConnection.objects.exists()


def test_login_sends_an_anonymous_visitor_to_log_in(client):
    response = client.get("/auth/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/auth/login/")


# --- callback --------------------------------------------------------------------------------


def test_full_flow_stores_the_connection_and_greets_the_account(staff, accounts, me):
    before = timezone.now()
    response = connect(staff, accounts)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _messages(response) == ["Connected to Spotify as Wiz Zler."]
    connection = SpotifyConnection.objects.get()
    assert connection.account_id == ME["id"]
    assert connection.display_name == ME["display_name"]
    assert connection.scope == "user-read-private"
    assert connection.access_token == accounts.user_access_tokens[0]
    assert connection.refresh_token == accounts.refresh_tokens[0]
    assert connection.expires_at is not None
    assert before + timedelta(seconds=3600) <= connection.expires_at
    assert connection.expires_at <= timezone.now() + timedelta(seconds=3600)
    assert connection.connected_at >= before
    assert not connection.needs_reconnect
    assert accounts.grants == ["authorization_code"]
    # The verifier kept in the session went to the token endpoint (the service checked it).
    assert accounts.forms[0]["code_verifier"]
    # /v1/me was asked with the new user token, never an app token.
    assert [bearer(call) for call in me.calls] == [accounts.user_access_tokens[0]]
    assert STATE_SESSION_KEY not in staff.session


def test_reconnecting_replaces_the_connection_and_clears_needs_reconnect(staff, accounts, me):
    old = seed_connection(accounts, seconds_left=10)
    SpotifyConnection.objects.filter(pk=old.pk).update(
        needs_reconnect=True, reconnect_reason="Refresh token revoked"
    )

    connect(staff, accounts)

    connection = SpotifyConnection.objects.get()
    assert not connection.needs_reconnect
    assert connection.reconnect_reason == ""
    assert connection.access_token == accounts.user_access_tokens[-1]
    assert connection.connected_at > old.connected_at


def test_a_code_exchanged_without_the_sessions_verifier_is_refused(staff, accounts, me):
    # A code asked for by another consent (another verifier): Spotify refuses it.
    other = pkce_code_challenge("x" * 64)
    state = start_login(staff)["state"]

    response = staff.get(
        "/auth/callback/", {"code": accounts.issue_code(code_challenge=other), "state": state}
    )

    assert response.status_code == 302
    assert accounts.grants == ["authorization_code"]
    assert _messages(response) == [
        "Spotify refused the sign-in code (already used or expired): connect again."
    ]
    assert not SpotifyConnection.objects.exists()


def test_a_state_older_than_ten_minutes_is_refused(staff, accounts, me):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        consent = start_login(staff)
        traveller.shift(timedelta(minutes=10, seconds=1))

        response = staff.get(
            "/auth/callback/",
            {
                "code": accounts.issue_code(code_challenge=consent["code_challenge"]),
                "state": consent["state"],
            },
        )

    assert response.status_code == 400
    assert b"more than 10 minutes old" in response.content
    assert accounts.grants == []
    assert not SpotifyConnection.objects.exists()


def test_a_state_younger_than_ten_minutes_is_accepted(staff, accounts, me):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        consent = start_login(staff)
        traveller.shift(timedelta(minutes=9, seconds=50))

        response = staff.get(
            "/auth/callback/",
            {
                "code": accounts.issue_code(code_challenge=consent["code_challenge"]),
                "state": consent["state"],
            },
        )

    assert response.status_code == 302
    assert SpotifyConnection.objects.exists()


def test_a_mismatched_state_is_refused_and_nothing_is_stored(staff, accounts, me):
    start_login(staff)
    response = staff.get("/auth/callback/", {"code": accounts.issue_code(), "state": "forged"})

    assert response.status_code == 400
    assert b"sign-in link is not valid" in response.content
    assert accounts.grants == []
    assert not SpotifyConnection.objects.exists()


def test_a_missing_state_is_refused_and_nothing_is_stored(staff, accounts, me):
    start_login(staff)
    response = staff.get("/auth/callback/", {"code": accounts.issue_code()})

    assert response.status_code == 400
    assert accounts.grants == []
    assert not SpotifyConnection.objects.exists()


def test_a_callback_without_a_login_is_refused(staff, accounts, me):
    response = staff.get("/auth/callback/", {"code": accounts.issue_code(), "state": "anything"})
    assert response.status_code == 400
    assert accounts.grants == []


def test_a_replayed_callback_is_refused_without_calling_spotify_again(staff, accounts, me):
    consent = start_login(staff)
    state = consent["state"]
    code = accounts.issue_code(code_challenge=consent["code_challenge"])
    first = staff.get("/auth/callback/", {"code": code, "state": state})
    stored = SpotifyConnection.objects.get()

    replay = staff.get("/auth/callback/", {"code": code, "state": state})

    assert first.status_code == 302
    assert replay.status_code == 400
    assert accounts.grants == ["authorization_code"]
    assert SpotifyConnection.objects.get().access_token == stored.access_token


def test_a_code_spotify_refuses_leaves_nothing_stored(staff, accounts, me):
    code = accounts.issue_code()
    accounts.codes[code] = True  # already spent: Spotify answers invalid_grant
    state = start_login(staff)["state"]

    response = staff.get("/auth/callback/", {"code": code, "state": state})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _messages(response) == [
        "Spotify refused the sign-in code (already used or expired): connect again."
    ]
    assert accounts.grants == ["authorization_code"]
    assert me.call_count == 0
    assert not SpotifyConnection.objects.exists()


def test_access_denied_is_a_friendly_message_on_the_dashboard(staff, accounts, me):
    state = start_login(staff)["state"]
    response = staff.get("/auth/callback/", {"error": "access_denied", "state": state})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _messages(response) == ["Spotify was not connected: access was not granted."]
    assert accounts.grants == []
    assert not SpotifyConnection.objects.exists()


def test_a_failing_me_call_stores_nothing(staff, accounts, spotify_mock):
    spotify_mock.get("https://api.spotify.test/v1/me").respond(
        403, json={"error": {"status": 403, "message": "User not registered in the app"}}
    )
    response = connect(staff, accounts)

    assert response.status_code == 302
    assert _messages(response)[0].startswith("Spotify could not be connected: Spotify refused")
    assert not SpotifyConnection.objects.exists()


@pytest.mark.parametrize("staff_member", [False, True])
def test_callback_is_refused_without_the_permission(client, accounts, me, staff_member):
    response = logged_in(client, staff=staff_member).get(
        "/auth/callback/", {"code": accounts.issue_code(), "state": "x"}
    )
    assert response.status_code == 403
    assert accounts.grants == []


# --- logout ----------------------------------------------------------------------------------


def test_logout_deletes_the_connection(staff, accounts):
    seed_connection(accounts, seconds_left=3600)
    response = staff.post("/auth/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not SpotifyConnection.objects.exists()
    assert _messages(response) == ["Spotify was disconnected; the sync now uses the app token."]


@pytest.mark.parametrize("staff_member", [False, True])
def test_logout_is_refused_without_the_permission(client, accounts, staff_member):
    seed_connection(accounts, seconds_left=3600)
    response = logged_in(client, staff=staff_member).post("/auth/logout/")
    assert response.status_code == 403
    assert SpotifyConnection.objects.exists()


def test_logout_refuses_get(staff, accounts):
    seed_connection(accounts, seconds_left=3600)
    assert staff.get("/auth/logout/").status_code == 405
    assert SpotifyConnection.objects.exists()


def test_logout_needs_the_csrf_token(accounts):
    client = logged_in(Client(enforce_csrf_checks=True), staff=True, manager=True)
    seed_connection(accounts, seconds_left=3600)

    refused = client.post("/auth/logout/")
    assert refused.status_code == 403
    assert SpotifyConnection.objects.exists()

    client.cookies["csrftoken"] = "a" * 32
    accepted = client.post("/auth/logout/", headers={"X-CSRFToken": "a" * 32})
    assert accepted.status_code == 302
    assert not SpotifyConnection.objects.exists()

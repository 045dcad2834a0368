"""Demo mode: the whole Connect flow through the in-process fake Spotify, with no network."""

import re
from html import unescape
from urllib.parse import urlencode, urlsplit

import pytest
from django.contrib.messages import get_messages

from catalog.models import SyncRun
from catalog.services import sync_run_execute
from spotify.demo import demo_app
from spotify.fake.accounts import DEMO_USER_ID
from spotify.models import SpotifyConnection, UserConnection
from tests.spotify.oauth_support import logged_in

pytestmark = pytest.mark.django_db

HIDDEN_FIELD = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


def _consent(client, decision: str):
    """Login, then the consent page as a browser shows and submits it; returns the redirect."""
    login = client.post("/auth/login/")
    assert login.status_code == 302
    consent_url = login["Location"]
    assert consent_url.startswith("/demo/spotify/authorize?")

    page = client.get(consent_url)
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "Connect to Spotify" in html
    fields = {name: unescape(value) for name, value in HIDDEN_FIELD.findall(html)}
    assert fields["client_id"] == "demo-client-id"

    # As a browser submits a plain form (the test client's default would be multipart).
    answer = client.post(
        consent_url,
        urlencode({**fields, "decision": decision}),
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 302
    target = urlsplit(answer["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == (
        "http://127.0.0.1:8000/auth/callback/"
    )
    return client.get(f"{target.path}?{target.query}")


def test_connect_in_demo_mode_goes_through_the_fake_consent_page(client, demo_mode):
    staff = logged_in(client, manager=True)
    grants_before = demo_app().stats().get("POST /api/token authorization_code", 0)

    response = _consent(staff, "agree")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Connected to Spotify as Zoë Ångström ✦ 星."
    ]
    connection = SpotifyConnection.objects.get()
    assert connection.account_id == DEMO_USER_ID
    assert connection.refresh_token
    assert demo_app().stats()["POST /api/token authorization_code"] == grants_before + 1

    status = staff.get("/api/spotify/status/").json()
    assert status["mode"] == "demo"
    assert status["connected"] is True
    assert status["display_name"] == "Zoë Ångström ✦ 星"

    run = sync_run_execute(trigger=SyncRun.Trigger.MANUAL)
    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert run.release_count > 0


def test_cancelling_on_the_demo_consent_page_is_access_denied(client, demo_mode):
    response = _consent(logged_in(client, manager=True), "cancel")

    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Spotify was not connected: access was not granted."
    ]
    assert not SpotifyConnection.objects.exists()


def test_the_demo_consent_page_does_not_exist_outside_demo_mode(client):
    assert client.get("/demo/spotify/authorize?client_id=x").status_code == 404


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/auth/callback/",
        "http://127.0.0.1:8000/auth/callback/?next=https://evil.example/",
        "http://127.0.0.1:9999/auth/callback/",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_the_demo_consent_page_refuses_a_redirect_uri_other_than_the_configured_one(
    client, demo_mode, method, redirect_uri
):
    """Served on our own site, it would otherwise be an open redirect: like Spotify, an error
    page, never a redirect."""
    params = {
        "client_id": "demo-client-id",
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "state": "s",
        "decision": "agree",
    }
    url = "/demo/spotify/authorize"
    if method == "get":
        response = client.get(url, params)
    else:
        response = client.post(url, urlencode(params), "application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert "Location" not in response
    assert "INVALID_CLIENT: Invalid redirect URI" in response.content.decode()
    assert "evil.example" not in response.content.decode()


def test_the_demo_consent_page_follows_the_configured_redirect_uri(client, demo_mode, settings):
    settings.SPOTIFY_REDIRECT_URI = "https://releases.example.com/auth/callback/"
    params = {
        "client_id": "demo-client-id",
        "response_type": "code",
        "redirect_uri": "https://releases.example.com/auth/callback/",
        "state": "s",
        "decision": "agree",
    }

    response = client.post(
        "/demo/spotify/authorize", urlencode(params), "application/x-www-form-urlencoded"
    )
    default = client.get(
        "/demo/spotify/authorize",
        params | {"redirect_uri": "http://127.0.0.1:8000/auth/callback/"},
    )

    assert response.status_code == 302
    assert response["Location"].startswith("https://releases.example.com/auth/callback/?code=")
    assert default.status_code == 400


def test_in_demo_mode_a_user_connects_their_own_account_and_gets_its_followed_artists(
    client, demo_mode, django_user_model
):
    user = django_user_model.objects.create_user(username="demo-user", password="unused-pw-1")
    client.force_login(user)
    start = client.post("/auth/login/", {"connection": "mine"})
    consent_url = start["Location"]
    assert consent_url.startswith("/demo/spotify/authorize?")
    html = client.get(consent_url).content.decode()
    assert '<select name="account">' in html  # the fake's five Development Mode accounts
    fields = {name: unescape(value) for name, value in HIDDEN_FIELD.findall(html)}
    answer = client.post(
        consent_url,
        urlencode({**fields, "decision": "agree", "account": "fakeuser3"}),
        content_type="application/x-www-form-urlencoded",
    )
    target = urlsplit(answer["Location"])
    assert client.get(f"{target.path}?{target.query}").status_code == 302

    run = sync_run_execute(trigger=SyncRun.Trigger.CLI)

    assert run.status == SyncRun.Status.SUCCEEDED, run.error
    assert UserConnection.objects.get(user=user).account_id == "fakeuser3"
    body = client.get("/api/me/releases/", {"days": 90}).json()
    assert body["count"] > 0
    artists = client.get("/api/me/artists/").json()
    assert artists["count"] == 12

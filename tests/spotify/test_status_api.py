import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from spotify.client import site_client
from spotify.models import SpotifyConnection
from spotify.selectors import connection_status
from tests.spotify.oauth_support import ME, logged_in, seed_connection

pytestmark = pytest.mark.django_db

URL = "/api/spotify/status/"


@pytest.fixture
def staff(client):
    return logged_in(client, staff=True)


def test_without_a_connection_the_site_uses_the_app_token(staff):
    response = staff.get(URL)

    assert response.status_code == 200
    assert response.json() == {
        "mode": "app",
        "connected": False,
        "display_name": "",
        "account_id": "",
        "expires_at": None,
        "needs_reconnect": False,
        "reconnect_reason": "",
        "scope": "",
    }


def test_a_connection_puts_the_site_in_user_mode_without_showing_a_token(staff, accounts):
    seeded = seed_connection(accounts, seconds_left=1800)

    body = staff.get(URL).json()

    assert body["mode"] == "user"
    assert body["connected"] is True
    assert body["display_name"] == ME["display_name"]
    assert body["account_id"] == ME["id"]
    assert body["scope"] == "user-read-private"
    assert body["needs_reconnect"] is False
    assert seeded.expires_at is not None
    assert body["expires_at"].startswith(seeded.expires_at.strftime("%Y-%m-%dT%H:%M:%S"))
    assert not [key for key in body if "token" in key]
    text = staff.get(URL).content.decode()
    assert seeded.access_token not in text
    assert seeded.refresh_token not in text


def test_an_expired_access_token_is_still_user_mode_it_will_be_refreshed(client, accounts):
    seed_connection(accounts, seconds_left=-60)
    assert client.get(URL).json()["mode"] == "user"


def test_invalid_grant_shows_needs_reconnect_and_app_mode(staff, accounts, spotify_mock):
    seed_connection(accounts, seconds_left=0)
    accounts.refresh_tokens_revoked = True
    spotify_mock.get("https://api.spotify.test/v1/artists/x").respond(
        200, json={"id": "x", "name": "X"}
    )
    site_client().artist("x")

    body = staff.get(URL).json()

    assert body["mode"] == "app"
    assert body["connected"] is True
    assert body["needs_reconnect"] is True
    assert "invalid_grant" in body["reconnect_reason"]
    assert body["expires_at"] is None


@pytest.mark.parametrize("who", ["anonymous", "signed in, not staff"])
def test_visitors_who_are_not_staff_see_only_the_mode(client, accounts, who):
    seed_connection(accounts, seconds_left=1800)
    SpotifyConnection.objects.update(needs_reconnect=True, reconnect_reason="invalid_grant: gone")
    if who != "anonymous":
        logged_in(client, staff=False)

    response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"mode": "app"}
    for detail in (ME["id"], ME["display_name"], "invalid_grant", "user-read-private"):
        assert detail not in response.content.decode()


def test_demo_mode_is_reported_as_such(client, settings):
    settings.SPOTIFY_CLIENT_ID = ""
    assert client.get(URL).json()["mode"] == "demo"


def test_the_selector_never_reads_the_token_columns(accounts):
    seed_connection(accounts, seconds_left=100)

    with CaptureQueriesContext(connection) as queries:
        status = connection_status()

    assert status.mode == "user"
    assert len(queries) == 1
    assert "access_token" not in queries[0]["sql"]
    assert "refresh_token" not in queries[0]["sql"]

"""Shared helpers for the fake Spotify tests."""

from urllib.parse import parse_qs, urlsplit

import httpx

CLIENT = ("demo-client-id", "demo-client-secret")
REDIRECT_URI = "http://127.0.0.1:8000/auth/callback/"
SPOTIFY_HOST = "https://api.spotify.com"


def on_fake(link: str, root: str = "") -> str:
    """A link as the fake writes it (absolute on Spotify's own host, as Spotify writes them),
    pointed at the fake served at `root`."""
    assert link.startswith(f"{SPOTIFY_HOST}/v1/"), link
    return root + link.removeprefix(SPOTIFY_HOST)


def app_token(client: httpx.Client) -> str:
    response = client.post("/api/token", data={"grant_type": "client_credentials"}, auth=CLIENT)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def authorize_code(client: httpx.Client, scope: str = "user-read-private", **extra: str) -> str:
    form = {
        "client_id": CLIENT[0],
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "state": "xyz",
        "scope": scope,
        "decision": "agree",
        **extra,
    }
    response = client.post("/authorize", data=form)
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["state"] == ["xyz"]
    return query["code"][0]


def user_tokens(client: httpx.Client, scope: str = "user-read-private") -> dict[str, object]:
    code = authorize_code(client, scope)
    response = client.post(
        "/api/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=CLIENT,
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body

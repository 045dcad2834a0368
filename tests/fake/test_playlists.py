"""The fake's playlist endpoints (2026): POST /me/playlists and /playlists/{id}/items, with the
scope, ownership and Development Mode limits Spotify enforces."""

import httpx
import pytest

from tests.fake.helpers import bearer, user_tokens

PLAYLIST_SCOPE = "playlist-modify-private"


def _user(client: httpx.Client, scope: str = PLAYLIST_SCOPE) -> dict[str, str]:
    return bearer(str(user_tokens(client, scope)["access_token"]))


def _uris(count: int, start: int = 0) -> list[str]:
    return [f"spotify:track:{n:022d}" for n in range(start, start + count)]


def _create(client: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    return client.post("/v1/me/playlists", json={"name": "Mine", "public": False}, headers=headers)


def test_a_private_playlist_is_created_and_its_items_replaced_then_added(client, fake):
    user = _user(client)
    created = _create(client, user)
    assert created.status_code == 201, created.text
    playlist_id = created.json()["id"]
    assert created.json()["public"] is False

    url = f"/v1/playlists/{playlist_id}/items"
    assert client.put(url, json={"uris": _uris(100)}, headers=user).status_code == 200
    assert client.post(url, json={"uris": _uris(5, 100)}, headers=user).status_code == 201
    assert client.put(url, json={"uris": _uris(3, 7)}, headers=user).status_code == 200

    (stored,) = fake.playlists()
    assert stored.items == _uris(3, 7)
    assert stored.owner == "fakeuser"


def test_without_the_playlist_scope_spotify_answers_403(client):
    user = _user(client, scope="user-follow-read")
    answer = _create(client, user)
    assert answer.status_code == 403
    assert answer.json()["error"]["message"] == "Insufficient client scope"


def test_a_revoked_scope_answers_403_on_the_items(client, fake):
    user = _user(client)
    playlist_id = _create(client, user).json()["id"]
    fake.configure(revoked_scopes=[PLAYLIST_SCOPE])
    answer = client.put(f"/v1/playlists/{playlist_id}/items", json={"uris": _uris(1)}, headers=user)
    assert answer.status_code == 403


def test_more_than_100_items_in_one_call_is_a_400(client):
    user = _user(client)
    playlist_id = _create(client, user).json()["id"]
    answer = client.put(
        f"/v1/playlists/{playlist_id}/items", json={"uris": _uris(101)}, headers=user
    )
    assert answer.status_code == 400


def test_an_app_token_cannot_create_playlists(client, auth):
    assert _create(client, auth).status_code == 401


def test_a_deleted_playlist_is_404(client, fake):
    user = _user(client)
    playlist_id = _create(client, user).json()["id"]
    assert client.delete(f"/v1/playlists/{playlist_id}/followers", headers=user).status_code == 200
    answer = client.put(f"/v1/playlists/{playlist_id}/items", json={"uris": _uris(1)}, headers=user)
    assert answer.status_code == 404
    assert fake.playlists() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/users/fakeuser/playlists"), ("PUT", "/v1/playlists/{id}/tracks")],
)
def test_development_mode_lost_the_old_playlist_endpoints(client, fake, method, path):
    user = _user(client)
    playlist_id = _create(client, user).json()["id"]
    fake.configure(dev_mode=True)
    answer = client.request(
        method, path.format(id=playlist_id), json={"name": "x", "uris": []}, headers=user
    )
    assert answer.status_code == 403
    assert _create(client, user).status_code == 201

"""The fake's endpoints for Your artists, with 2026's Development Mode limits: /me/following
(cursor-paged, needs user-follow-read) and /artists/{id}/albums (grouped, capped at 10)."""

import httpx
import pytest

from spotify.fake import FakeConfig, FakeSpotify
from tests.fake.helpers import CLIENT, REDIRECT_URI, authorize_code, bearer, on_fake


def _user_auth(client: httpx.Client, *, account: str, scope: str) -> dict[str, str]:
    code = authorize_code(client, scope, account=account)
    response = client.post(
        "/api/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=CLIENT,
    )
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


def _followed(client: httpx.Client, auth: dict[str, str], limit: int) -> tuple[list[str], int]:
    """Every followed artist's id, following `next` (Spotify's host, rebased); and the pages."""
    ids: list[str] = []
    pages = 0
    url: str | None = f"/v1/me/following?type=artist&limit={limit}"
    while url is not None:
        response = client.get(url, headers=auth)
        assert response.status_code == 200, response.text
        page = response.json()["artists"]
        pages += 1
        ids.extend(artist["id"] for artist in page["items"])
        assert page["cursors"]["after"] == (page["items"][-1]["id"] if page["next"] else None)
        url = on_fake(page["next"]) if page["next"] else None
    return ids, pages


def test_following_is_cursor_paged_until_next_is_null(client):
    auth = _user_auth(client, account="fakeuser", scope="user-follow-read")

    ids, pages = _followed(client, auth, limit=5)

    assert len(ids) == len(set(ids)) == 12
    assert pages == 3


def test_each_account_follows_its_own_artists(client):
    first = _followed(client, _user_auth(client, account="fakeuser2", scope="user-follow-read"), 50)
    second = _followed(
        client, _user_auth(client, account="fakeuser3", scope="user-follow-read"), 50
    )

    assert set(first[0]) != set(second[0])


@pytest.mark.parametrize(
    ("scope", "revoked"), [("user-read-private", []), ("user-follow-read", ["user-follow-read"])]
)
def test_following_without_the_scope_is_403_insufficient_scope(fake, client, scope, revoked):
    fake.configure(revoked_scopes=revoked)
    auth = _user_auth(client, account="fakeuser", scope=scope)

    response = client.get("/v1/me/following?type=artist", headers=auth)

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "Insufficient client scope"


def test_an_unknown_account_is_refused_on_the_consent_page(client):
    form = {
        "client_id": CLIENT[0],
        "response_type": "code",
        "redirect_uri": REDIRECT_URI,
        "decision": "agree",
        "account": "somebody-else",
    }
    assert client.post("/authorize", data=form).status_code == 400


def _artist_with_albums_and_singles(fake: FakeSpotify) -> str:
    dataset = fake.state.dataset
    for artist_id in dataset.artists:
        types = {r.album_type for r in dataset.artist_releases(artist_id)}
        if {"album", "single"} <= types:
            return artist_id
    raise AssertionError("no artist with both albums and singles")


def test_artist_albums_are_grouped_newest_first_with_album_group(client, auth):
    fake = FakeSpotify(FakeConfig(release_count=300))
    artist_id = _artist_with_albums_and_singles(fake)
    with httpx.Client(transport=httpx.WSGITransport(app=fake), base_url="http://f.test") as http:
        token = http.post(
            "/api/token", data={"grant_type": "client_credentials"}, auth=CLIENT
        ).json()["access_token"]
        response = http.get(f"/v1/artists/{artist_id}/albums", headers=bearer(token))

    items = response.json()["items"]
    groups = [item["album_group"] for item in items]
    assert groups == sorted(groups, key=["album", "single", "compilation", "appears_on"].index)
    for group in set(groups):
        dates = [item["release_date"] for item in items if item["album_group"] == group]
        assert dates == sorted(dates, reverse=True)


def test_artist_albums_in_development_mode_cap_the_limit_and_drop_album_group(fake, client, auth):
    fake.configure(dev_mode=True)
    artist_id = next(iter(fake.state.dataset.artists))
    url = f"/v1/artists/{artist_id}/albums"

    too_many = client.get(url, params={"limit": 11}, headers=auth)
    ten = client.get(url, params={"limit": 10, "include_groups": "album,single"}, headers=auth)

    assert too_many.status_code == 400
    assert ten.status_code == 200
    assert ten.json()["items"]
    assert all("album_group" not in item for item in ten.json()["items"])
    assert client.get(url, params={"include_groups": "ep"}, headers=auth).status_code == 400


def test_only_the_asked_groups_are_listed(fake, client, auth):
    artist_id = _artist_with_albums_and_singles(FakeSpotify(FakeConfig(release_count=100)))

    response = client.get(
        f"/v1/artists/{artist_id}/albums", params={"include_groups": "single"}, headers=auth
    )

    assert {item["album_type"] for item in response.json()["items"]} == {"single"}

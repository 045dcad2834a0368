"""The Web API surface of the fake: paging, bounds, bearer validation, objects, search, /me."""

import re
import time

import httpx
import pytest

from spotify.fake import FakeConfig, FakeSpotify
from spotify.fake.tokens import Claims, TokenKind, TokenSigner
from tests.fake.helpers import bearer, on_fake, user_tokens

BASE62_ID = re.compile(r"[0-9A-Za-z]{22}")


def error_of(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == response.status_code
    return response.status_code, body["error"]["message"]


def first_release_ids(client: httpx.Client, auth: dict[str, str], count: int) -> list[str]:
    response = client.get("/v1/browse/new-releases", params={"limit": count}, headers=auth)
    return [item["id"] for item in response.json()["albums"]["items"]]


# --- paging -----------------------------------------------------------------------------------


def test_new_releases_default_page_shape(client, auth):
    response = client.get("/v1/browse/new-releases", headers=auth)

    assert response.status_code == 200
    albums = response.json()["albums"]
    assert set(albums) == {"href", "items", "limit", "next", "offset", "previous", "total"}
    assert albums["limit"] == 20
    assert albums["offset"] == 0
    assert albums["total"] == 100
    assert albums["previous"] is None
    assert albums["href"] == "https://api.spotify.com/v1/browse/new-releases?offset=0&limit=20"
    assert albums["next"] == "https://api.spotify.com/v1/browse/new-releases?offset=20&limit=20"
    assert len(albums["items"]) == 20


def test_following_next_links_walks_every_release_once(client, auth):
    url: str | None = "/v1/browse/new-releases?limit=30"
    ids: list[str] = []
    pages = 0
    while url:
        albums = client.get(url, headers=auth).json()["albums"]
        ids.extend(item["id"] for item in albums["items"])
        url = albums["next"] and on_fake(albums["next"])
        pages += 1

    assert pages == 4
    assert len(ids) == 100
    assert len(set(ids)) == 100


def test_last_page_has_previous_and_no_next(client, auth):
    albums = client.get(
        "/v1/browse/new-releases", params={"limit": 50, "offset": 50}, headers=auth
    ).json()["albums"]

    assert albums["next"] is None
    assert albums["previous"] == "https://api.spotify.com/v1/browse/new-releases?offset=0&limit=50"
    assert len(albums["items"]) == 50


def test_offset_past_the_end_is_an_empty_page(client, auth):
    response = client.get("/v1/browse/new-releases", params={"offset": 500}, headers=auth)
    albums = response.json()["albums"]

    assert albums["items"] == []
    assert albums["next"] is None
    assert albums["total"] == 100


def test_links_are_on_spotifys_host_whatever_host_serves_the_fake(fake):
    with httpx.Client(
        transport=httpx.WSGITransport(app=fake), base_url="https://spotify.example:9443"
    ) as http:
        token = http.post(
            "/api/token",
            data={"grant_type": "client_credentials"},
            auth=("demo-client-id", "demo-client-secret"),
        ).json()["access_token"]
        albums = http.get("/v1/browse/new-releases", headers=bearer(token)).json()["albums"]

    # As Spotify writes them: a client must rebase them on the base URL it was configured with.
    assert albums["href"].startswith("https://api.spotify.com/v1/browse/new-releases?")
    assert albums["next"].startswith("https://api.spotify.com/v1/browse/new-releases?")
    assert albums["items"][0]["href"].startswith("https://api.spotify.com/v1/albums/")
    assert albums["items"][0]["artists"][0]["href"].startswith("https://api.spotify.com/v1/")


def test_country_filters_releases_and_is_kept_in_links(client, auth):
    everywhere = client.get("/v1/browse/new-releases", headers=auth).json()["albums"]["total"]
    albums = client.get(
        "/v1/browse/new-releases", params={"country": "US", "limit": 10}, headers=auth
    ).json()["albums"]

    assert albums["total"] < everywhere
    assert "country=US" in albums["next"]
    assert all("US" in item["available_markets"] for item in albums["items"])


def _release_ids(client, auth, path, params):
    ids: list[str] = []
    url: str | None = path
    query: dict[str, object] | None = {**params, "limit": 50}
    while url:
        body = client.get(url, params=query, headers=auth).json()["albums"]
        ids += [item["id"] for item in body["items"]]
        url, query = body["next"] and on_fake(body["next"]), None
    return ids


def test_markets_have_different_but_overlapping_lists(client, auth):
    us = _release_ids(client, auth, "/v1/browse/new-releases", {"country": "US"})
    fr = _release_ids(client, auth, "/v1/browse/new-releases", {"country": "FR"})

    assert set(us) - set(fr)
    assert set(fr) - set(us)
    assert set(us) & set(fr)
    assert us == _release_ids(client, auth, "/v1/browse/new-releases", {"country": "US"})


def test_search_honours_market_and_refuses_an_unknown_one(client, auth):
    search = {"q": "tag:new", "type": "album"}
    us = client.get("/v1/search", params={**search, "market": "US"}, headers=auth).json()
    fr = client.get("/v1/search", params={**search, "market": "FR"}, headers=auth).json()
    unknown = client.get("/v1/search", params={**search, "market": "XX"}, headers=auth)

    assert us["albums"]["total"] != fr["albums"]["total"]
    assert "market=US" in us["albums"]["next"]
    assert error_of(unknown) == (400, "Invalid market code")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 0}, "Invalid limit"),
        ({"limit": 51}, "Invalid limit"),
        ({"limit": "ten"}, "Invalid limit"),
        ({"offset": -1}, "Invalid offset"),
        ({"country": "usa"}, "Invalid country code"),
        ({"country": "XX"}, "Invalid country code"),
        ({"country": "us"}, "Invalid country code"),
    ],
)
def test_new_releases_rejects_out_of_bound_parameters(client, auth, params, message):
    response = client.get("/v1/browse/new-releases", params=params, headers=auth)

    assert error_of(response) == (400, message)


def test_limit_50_is_accepted(client, auth):
    response = client.get("/v1/browse/new-releases", params={"limit": 50}, headers=auth)

    assert response.status_code == 200
    assert len(response.json()["albums"]["items"]) == 50


# --- bearer validation ------------------------------------------------------------------------


def test_missing_token_is_401(client):
    assert error_of(client.get("/v1/browse/new-releases")) == (401, "No token provided")


@pytest.mark.parametrize("token", ["garbage", "BQabc.def", ""])
def test_garbled_token_is_401(client, token):
    response = client.get("/v1/browse/new-releases", headers={"Authorization": f"Bearer {token}"})

    assert error_of(response) == (401, "Invalid access token")


def test_non_bearer_scheme_is_400(client):
    response = client.get("/v1/browse/new-releases", auth=("demo-client-id", "x"))

    assert error_of(response) == (400, "Only valid bearer authentication supported")


def test_token_signed_with_another_secret_is_invalid(client):
    now = int(time.time())
    claims = Claims.new(
        TokenKind.ACCESS,
        client_id="demo-client-id",
        expires_at=now + 3600,
        scope="",
        user=None,
        auth_time=now,
    )
    forged = TokenSigner("not-the-fake-secret").sign(claims)

    response = client.get("/v1/browse/new-releases", headers=bearer(forged))

    assert error_of(response) == (401, "Invalid access token")


def test_tampered_token_is_invalid(client, auth):
    token = auth["Authorization"].removeprefix("Bearer ")
    payload, mac = token.split(".")
    tampered = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{mac}"

    response = client.get("/v1/browse/new-releases", headers=bearer(tampered))

    assert error_of(response) == (401, "Invalid access token")


def test_refresh_token_is_not_an_access_token(client):
    refresh = str(user_tokens(client)["refresh_token"])

    response = client.get("/v1/browse/new-releases", headers=bearer(refresh))

    assert error_of(response) == (401, "Invalid access token")


def test_expired_token_is_401_with_its_own_message():
    fake = FakeSpotify(FakeConfig(token_ttl_seconds=0))
    with httpx.Client(transport=httpx.WSGITransport(app=fake), base_url="http://f") as http:
        body = http.post(
            "/api/token",
            data={"grant_type": "client_credentials"},
            auth=("demo-client-id", "demo-client-secret"),
        ).json()
        response = http.get("/v1/browse/new-releases", headers=bearer(body["access_token"]))

    assert body["expires_in"] == 0
    assert error_of(response) == (401, "The access token expired")


def test_crafted_expired_token_is_rejected(client):
    config = FakeConfig()
    past = int(time.time()) - 7200
    claims = Claims.new(
        TokenKind.ACCESS,
        client_id=config.client_id,
        expires_at=past + 3600,
        scope="",
        user=None,
        auth_time=past,
    )
    token = TokenSigner(config.signing_secret).sign(claims)

    response = client.get("/v1/artists/0LyfQWJT6nXafLPZqxe9Of", headers=bearer(token))

    assert error_of(response) == (401, "The access token expired")


def test_tokens_from_one_fake_work_on_another_with_the_same_secret(client):
    """Statelessness: several processes (gunicorn workers) can share one fake."""
    token = client.post(
        "/api/token",
        data={"grant_type": "client_credentials"},
        auth=("demo-client-id", "demo-client-secret"),
    ).json()["access_token"]
    other = FakeSpotify(FakeConfig())
    with httpx.Client(transport=httpx.WSGITransport(app=other), base_url="http://f") as http:
        response = http.get("/v1/browse/new-releases", headers=bearer(token))

    assert response.status_code == 200


# --- routing ----------------------------------------------------------------------------------


def test_unknown_path_is_404(client, auth):
    assert error_of(client.get("/v1/nope", headers=auth))[0] == 404
    assert error_of(client.get("/elsewhere"))[0] == 404


def test_wrong_method_is_405(client, auth):
    assert error_of(client.post("/v1/browse/new-releases", headers=auth))[0] == 405
    assert client.get("/api/token").status_code == 405


# --- artists ----------------------------------------------------------------------------------


def test_several_artists_returns_full_objects_and_nulls_for_unknown(client, auth):
    album = client.get("/v1/browse/new-releases", params={"limit": 1}, headers=auth).json()
    artist_id = album["albums"]["items"][0]["artists"][0]["id"]
    unknown = "0000000000000000000000"

    response = client.get("/v1/artists", params={"ids": f"{artist_id},{unknown}"}, headers=auth)

    assert response.status_code == 200
    first, missing = response.json()["artists"]
    assert missing is None
    assert first["id"] == artist_id
    assert first["type"] == "artist"
    assert first["uri"] == f"spotify:artist:{artist_id}"
    assert isinstance(first["followers"]["total"], int)
    assert 0 <= first["popularity"] <= 100
    assert isinstance(first["genres"], list)


def test_several_artists_caps_ids_at_50(client, auth):
    ids = ",".join(["0LyfQWJT6nXafLPZqxe9Of"] * 51)

    response = client.get("/v1/artists", params={"ids": ids}, headers=auth)

    assert error_of(response) == (400, "Too many ids requested")


def test_several_artists_accepts_exactly_50(client, auth):
    ids = ",".join(["0LyfQWJT6nXafLPZqxe9Of"] * 50)

    response = client.get("/v1/artists", params={"ids": ids}, headers=auth)

    assert response.status_code == 200
    assert len(response.json()["artists"]) == 50


def test_several_artists_rejects_malformed_and_missing_ids(client, auth):
    bad = client.get("/v1/artists", params={"ids": "not-an-id"}, headers=auth)
    empty = client.get("/v1/artists", params={"ids": ""}, headers=auth)

    assert error_of(bad) == (400, "Invalid base62 id")
    assert error_of(empty)[0] == 400


def test_single_artist_and_its_errors(client, auth):
    various = client.get("/v1/artists/0LyfQWJT6nXafLPZqxe9Of", headers=auth)
    unknown = client.get("/v1/artists/0000000000000000000000", headers=auth)
    malformed = client.get("/v1/artists/abc", headers=auth)

    assert various.status_code == 200
    assert various.json()["name"] == "Various Artists"
    assert error_of(unknown) == (404, "Resource not found")
    assert error_of(malformed) == (400, "Invalid base62 id")


# --- albums and tracks ------------------------------------------------------------------------


def test_several_albums_returns_full_albums(client, auth):
    ids = first_release_ids(client, auth, 3)

    response = client.get(
        "/v1/albums", params={"ids": ",".join([*ids, "0000000000000000000000"])}, headers=auth
    )

    assert response.status_code == 200
    albums = response.json()["albums"]
    assert albums[-1] is None
    assert [a["id"] for a in albums[:3]] == ids
    album = albums[0]
    for key in ("copyrights", "external_ids", "genres", "label", "popularity", "tracks"):
        assert key in album
    assert album["tracks"]["total"] == album["total_tracks"]
    assert len(album["tracks"]["items"]) == album["total_tracks"]
    track = album["tracks"]["items"][0]
    assert track["type"] == "track"
    assert track["track_number"] == 1
    assert BASE62_ID.fullmatch(track["id"])


def test_several_albums_caps_ids_at_20(client, auth):
    ids = first_release_ids(client, auth, 21)

    response = client.get("/v1/albums", params={"ids": ",".join(ids)}, headers=auth)

    assert error_of(response) == (400, "Too many ids requested")


def test_album_tracks_paging(client, auth):
    # "Leren Leven" was recorded with 30 tracks.
    url: str | None = "/v1/albums/0wMC6I2G3sKvhcsjn8N1Kd/tracks?limit=12"
    numbers: list[int] = []
    while url:
        page = client.get(url, headers=auth).json()
        assert page["total"] == 30
        numbers.extend(t["track_number"] for t in page["items"])
        url = page["next"] and on_fake(page["next"])

    assert numbers == list(range(1, 31))


def test_album_tracks_bounds_and_unknown_album(client, auth):
    path = "/v1/albums/0wMC6I2G3sKvhcsjn8N1Kd/tracks"

    assert error_of(client.get(path, params={"limit": 51}, headers=auth)) == (400, "Invalid limit")
    assert error_of(client.get(path, params={"offset": -5}, headers=auth)) == (
        400,
        "Invalid offset",
    )
    unknown = client.get("/v1/albums/0000000000000000000000/tracks", headers=auth)
    assert error_of(unknown) == (404, "Resource not found")


def test_recorded_album_keeps_its_recorded_track_names(client, auth):
    page = client.get("/v1/albums/3IqzqH6ShrRtie9Yd2ODyG/tracks", headers=auth).json()

    assert page["items"][0]["name"] == "All Your Friends"
    assert page["total"] == 11


# --- search -----------------------------------------------------------------------------------


def test_search_tag_new_pages_through_releases_newest_first(client, auth):
    response = client.get(
        "/v1/search", params={"q": "tag:new", "type": "album", "limit": 10}, headers=auth
    )

    assert response.status_code == 200
    albums = response.json()["albums"]
    assert albums["total"] == 100
    assert len(albums["items"]) == 10
    assert albums["next"] is not None
    dates = [item["release_date"] for item in albums["items"]]
    assert dates == sorted(dates, reverse=True)

    second = client.get(on_fake(albums["next"]), headers=auth).json()["albums"]
    assert second["offset"] == 10
    assert {i["id"] for i in second["items"]}.isdisjoint({i["id"] for i in albums["items"]})


def test_search_limit_is_capped_at_10(client, auth):
    response = client.get(
        "/v1/search", params={"q": "tag:new", "type": "album", "limit": 11}, headers=auth
    )

    assert error_of(response) == (400, "Invalid limit")


def test_search_filters_by_name_substring(client, auth):
    response = client.get("/v1/search", params={"q": "moon music", "type": "album"}, headers=auth)

    items = response.json()["albums"]["items"]
    assert [item["name"] for item in items] == ["Moon Music"]


def test_search_requires_q_and_a_valid_type(client, auth):
    missing_q = client.get("/v1/search", params={"type": "album"}, headers=auth)
    bad_type = client.get("/v1/search", params={"q": "x", "type": "planet"}, headers=auth)

    assert error_of(missing_q)[0] == 400
    assert error_of(bad_type)[0] == 400


# --- /me --------------------------------------------------------------------------------------


def test_me_with_a_user_token(client):
    token = str(user_tokens(client, "user-read-private user-read-email")["access_token"])

    response = client.get("/v1/me", headers=bearer(token))

    assert response.status_code == 200
    me = response.json()
    assert me["type"] == "user"
    assert me["uri"] == f"spotify:user:{me['id']}"
    assert me["display_name"] == FakeConfig().user_display_name
    assert not me["display_name"].isascii()
    assert me["country"] == "SE"
    assert "email" in me


def test_me_without_private_scope_omits_country(client):
    token = str(user_tokens(client, "")["access_token"])

    me = client.get("/v1/me", headers=bearer(token)).json()

    assert "country" not in me
    assert "email" not in me


def test_me_with_an_app_token_is_401(client, auth):
    response = client.get("/v1/me", headers=auth)

    assert error_of(response) == (401, "This request requires user authentication.")

"""Injected faults, runtime control over /_fake/*, and call statistics."""

import json
import threading
import time

import httpx
import pytest

from spotify.fake import ConfigError, FakeConfig, FakeSpotify
from tests.fake.helpers import CLIENT, user_tokens

NEW_RELEASES = "/v1/browse/new-releases"


def configure(client: httpx.Client, **changes: object) -> dict[str, object]:
    response = client.post("/_fake/config", json=changes)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_rate_limit_answers_429_with_retry_after_then_recovers(client, auth):
    configure(client, rate_limit_requests=2, retry_after_seconds=7)

    responses = [client.get(NEW_RELEASES, headers=auth) for _ in range(3)]

    assert [r.status_code for r in responses] == [429, 429, 200]
    assert responses[0].headers["retry-after"] == "7"
    assert responses[0].json() == {"error": {"status": 429, "message": "API rate limit exceeded"}}
    assert client.get("/_fake/config").json()["rate_limit_requests"] == 0


def test_error_burst_then_recovery(client, auth):
    configure(client, error_burst=3, error_status=503)

    statuses = [client.get(NEW_RELEASES, headers=auth).status_code for _ in range(4)]

    assert statuses == [503, 503, 503, 200]


def test_error_burst_defaults_to_502_with_api_error_body(client, auth):
    configure(client, error_burst=1)

    response = client.get(NEW_RELEASES, headers=auth)

    assert response.status_code == 502
    assert response.json()["error"]["status"] == 502


def test_persistent_error_until_cleared(client, auth):
    configure(client, persistent_error_status=500)

    statuses = [client.get(NEW_RELEASES, headers=auth).status_code for _ in range(3)]
    configure(client, persistent_error_status=None)

    assert statuses == [500, 500, 500]
    assert client.get(NEW_RELEASES, headers=auth).status_code == 200


def test_slow_responses(client, auth):
    configure(client, slow_seconds=0.2)

    started = time.perf_counter()
    response = client.get(NEW_RELEASES, headers=auth)
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert elapsed >= 0.2


def test_faults_never_touch_accounts_or_control(client):
    configure(client, persistent_error_status=503, rate_limit_requests=5, slow_seconds=0.3)

    started = time.perf_counter()
    token = client.post("/api/token", data={"grant_type": "client_credentials"}, auth=CLIENT)
    page = client.get("/authorize", params={"client_id": "x"})
    stats = client.get("/_fake/stats")
    elapsed = time.perf_counter() - started

    assert token.status_code == 200
    assert page.status_code == 400  # the page's own validation, not a fault
    assert stats.status_code == 200
    assert elapsed < 0.3
    assert client.get("/_fake/config").json()["rate_limit_requests"] == 5


def test_fault_paths_limit_where_faults_apply(client, auth):
    configure(client, persistent_error_status=503, fault_paths=["/v1/artists"])

    releases = client.get(NEW_RELEASES, headers=auth)
    artist = client.get("/v1/artists/0LyfQWJT6nXafLPZqxe9Of", headers=auth)

    assert releases.status_code == 200
    assert artist.status_code == 503


def test_counted_faults_only_consume_on_matching_paths(client, auth):
    configure(client, rate_limit_requests=1, fault_paths=["/v1/artists"])

    releases = client.get(NEW_RELEASES, headers=auth)
    artist = client.get("/v1/artists/0LyfQWJT6nXafLPZqxe9Of", headers=auth)
    again = client.get("/v1/artists/0LyfQWJT6nXafLPZqxe9Of", headers=auth)

    assert [releases.status_code, artist.status_code, again.status_code] == [200, 429, 200]


def test_dev_mode_removes_endpoints_and_fields(client, auth):
    configure(client, dev_mode=True)
    album_id = "5SGtrmYbIo0Dsg4kJ4qjM6"
    artist_id = "4gzpq5DPGxSnKTe4SA8HAU"

    removed = [
        client.get(NEW_RELEASES, headers=auth),
        client.get("/v1/artists", params={"ids": artist_id}, headers=auth),
        client.get("/v1/albums", params={"ids": album_id}, headers=auth),
    ]
    artist = client.get(f"/v1/artists/{artist_id}", headers=auth).json()
    album = client.get(f"/v1/albums/{album_id}", headers=auth).json()
    search = client.get("/v1/search", params={"q": "tag:new", "type": "album"}, headers=auth)

    for response in removed:
        assert response.status_code == 403
        assert response.json()["error"]["status"] == 403
    assert "followers" not in artist
    assert "popularity" not in artist
    assert artist["genres"] == []
    assert "label" not in album
    assert "popularity" not in album
    assert search.status_code == 200


def test_without_dev_mode_the_fields_are_present(client, auth):
    artist = client.get("/v1/artists/4gzpq5DPGxSnKTe4SA8HAU", headers=auth).json()
    album = client.get("/v1/albums/5SGtrmYbIo0Dsg4kJ4qjM6", headers=auth).json()

    assert {"followers", "popularity"} <= set(artist)
    assert {"label", "popularity"} <= set(album)


def test_malformed_json_on_new_releases(client, auth):
    configure(client, malformed_json=True)

    response = client.get(NEW_RELEASES, headers=auth)
    artist = client.get("/v1/artists/0LyfQWJT6nXafLPZqxe9Of", headers=auth)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert artist.json()["id"] == "0LyfQWJT6nXafLPZqxe9Of"


def test_counted_faults_decrement_atomically_under_concurrency(fake):
    fake.configure(rate_limit_requests=10)
    statuses: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        transport = httpx.WSGITransport(app=fake)
        with httpx.Client(transport=transport, base_url="http://f") as http:
            status = http.get(NEW_RELEASES).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=call) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Unauthenticated on purpose: every request not rate limited is a 401.
    assert statuses.count(429) == 10
    assert statuses.count(401) == 30


# --- control API ------------------------------------------------------------------------------


def test_runtime_config_roundtrip_and_validation(client):
    assert client.get("/_fake/config").json()["release_count"] == 100

    updated = configure(client, release_count=250, dev_mode=True)
    unknown = client.post("/_fake/config", json={"no_such_field": 1})
    wrong_type = client.post("/_fake/config", json={"release_count": "many"})
    not_object = client.post("/_fake/config", json=[1, 2])

    assert updated["release_count"] == 250
    assert updated["dev_mode"] is True
    assert unknown.status_code == 400
    assert "no_such_field" in unknown.json()["error"]["message"]
    assert wrong_type.status_code == 400
    assert not_object.status_code == 400


def test_release_count_can_change_at_runtime(client, auth):
    configure(client, release_count=1000)

    albums = client.get(NEW_RELEASES, headers=auth).json()["albums"]

    assert albums["total"] == 1000


def test_reset_restores_initial_config_and_clears_stats(client, auth):
    configure(client, dev_mode=True, error_burst=4)
    client.get(NEW_RELEASES, headers=auth)

    reset = client.post("/_fake/reset")

    assert reset.status_code == 200
    assert reset.json()["dev_mode"] is False
    assert reset.json()["error_burst"] == 0
    assert client.get("/_fake/stats").json() == {}


def test_stats_count_calls_per_endpoint(client):
    tokens = user_tokens(client)
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    client.post("/api/token", data=refresh, auth=CLIENT)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    for _ in range(3):
        client.get(NEW_RELEASES, headers=headers)
    client.get("/v1/artists/0LyfQWJT6nXafLPZqxe9Of", headers=headers)
    client.get("/v1/artists/4gzpq5DPGxSnKTe4SA8HAU", headers=headers)
    client.get("/v1/albums/5SGtrmYbIo0Dsg4kJ4qjM6/tracks", headers=headers)
    client.get(NEW_RELEASES)  # unauthenticated calls count too

    assert client.get("/_fake/stats").json() == {
        "POST /authorize": 1,
        "POST /api/token authorization_code": 1,
        "POST /api/token refresh_token": 1,
        "GET /v1/browse/new-releases": 4,
        "GET /v1/artists/{id}": 2,
        "GET /v1/albums/{id}/tracks": 1,
    }


def test_python_side_control_mirrors_http(fake, client, auth):
    fake.configure(error_burst=1)

    assert client.get(NEW_RELEASES, headers=auth).status_code == 502
    assert fake.stats()["GET /v1/browse/new-releases"] == 1
    assert fake.reset().error_burst == 0


# --- FakeConfig -------------------------------------------------------------------------------


def test_config_from_env():
    env = {"FAKE_SPOTIFY_CONFIG": json.dumps({"release_count": 42, "dev_mode": True})}

    config = FakeConfig.from_env(env)

    assert config.release_count == 42
    assert config.dev_mode is True
    assert FakeConfig.from_env({}) == FakeConfig()


@pytest.mark.parametrize(
    "raw", ["not json", "[1]", '{"slow_seconds": "fast"}', '{"error_status": 200}']
)
def test_config_from_env_rejects_bad_values(raw):
    with pytest.raises(ConfigError):
        FakeConfig.from_env({"FAKE_SPOTIFY_CONFIG": raw})


def test_config_from_env_reads_os_environ(monkeypatch):
    monkeypatch.setenv("FAKE_SPOTIFY_CONFIG", '{"token_ttl_seconds": 5}')

    assert FakeConfig.from_env().token_ttl_seconds == 5


def test_fake_defaults_to_default_config():
    assert FakeSpotify().config == FakeConfig()

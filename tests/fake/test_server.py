"""The fake over a real socket (threaded wsgiref server) and the management command's config."""

import threading
import time

import httpx
import pytest
from django.core.management import CommandError

from spotify.fake import FakeConfig, FakeSpotify
from spotify.fake.server import serve_in_thread
from spotify.management.commands.fake_spotify import Command
from tests.fake.helpers import on_fake

CLIENT = ("demo-client-id", "demo-client-secret")


def test_sync_like_walk_over_a_real_socket():
    with serve_in_thread(FakeConfig(release_count=120)) as root, httpx.Client() as http:
        token = http.post(
            f"{root}/api/token", data={"grant_type": "client_credentials"}, auth=CLIENT
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        url: str | None = f"{root}/v1/browse/new-releases?limit=50"
        ids: list[str] = []
        while url:
            assert url.startswith(f"{root}/v1/")
            albums = http.get(url, headers=headers).json()["albums"]
            ids.extend(item["id"] for item in albums["items"])
            url = albums["next"] and on_fake(albums["next"], root)
        stats = http.get(f"{root}/_fake/stats").json()

    assert len(set(ids)) == 120
    assert stats == {"POST /api/token client_credentials": 1, "GET /v1/browse/new-releases": 3}


def test_server_stops_on_exit():
    with serve_in_thread() as root:
        assert httpx.get(f"{root}/_fake/config").status_code == 200

    with pytest.raises(httpx.TransportError):
        httpx.get(f"{root}/_fake/config", timeout=1)


def test_server_is_threaded():
    fake = FakeSpotify(FakeConfig(slow_seconds=0.4))
    durations: list[float] = []

    def call(root: str) -> None:
        started = time.perf_counter()
        response = httpx.get(f"{root}/v1/browse/new-releases", timeout=5)
        assert response.status_code == 401
        durations.append(time.perf_counter() - started)

    with serve_in_thread(fake) as root:
        started = time.perf_counter()
        threads = [threading.Thread(target=call, args=(root,)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        total = time.perf_counter() - started

    assert len(durations) == 4
    assert min(durations) >= 0.4
    assert total < 1.2  # serially it would take at least 1.6 s
    assert fake.stats() == {"GET /v1/browse/new-releases": 4}


def test_runtime_config_over_http_affects_the_served_fake():
    with serve_in_thread() as root, httpx.Client() as http:
        http.post(f"{root}/_fake/config", json={"rate_limit_requests": 1, "retry_after_seconds": 3})
        limited = http.get(f"{root}/v1/browse/new-releases")
        after = http.get(f"{root}/v1/browse/new-releases")

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "3"
    assert after.status_code == 401


def command_options(**overrides: object) -> dict[str, object]:
    return {"config": None, "releases": None, "dev_mode": False, **overrides}


def test_command_config_layers_env_json_and_flags(monkeypatch):
    monkeypatch.setenv("FAKE_SPOTIFY_CONFIG", '{"release_count": 7, "slow_seconds": 0.5}')

    config = Command()._config(
        command_options(config='{"error_burst": 2}', releases=10_000, dev_mode=True)
    )

    assert config.release_count == 10_000
    assert config.slow_seconds == 0.5
    assert config.error_burst == 2
    assert config.dev_mode is True


def test_command_registers_only_spotify_redirect_uri_unless_told_otherwise(monkeypatch, settings):
    monkeypatch.delenv("FAKE_SPOTIFY_CONFIG", raising=False)
    settings.SPOTIFY_REDIRECT_URI = "https://releases.example.com/auth/callback/"

    default = Command()._config(command_options())
    chosen = Command()._config(command_options(config='{"redirect_uris": ["https://a.test/cb"]}'))

    assert default.redirect_uris == ["https://releases.example.com/auth/callback/"]
    assert chosen.redirect_uris == ["https://a.test/cb"]


@pytest.mark.parametrize("raw", ["{", "[]", '{"bogus": 1}'])
def test_command_rejects_bad_config(monkeypatch, raw):
    monkeypatch.delenv("FAKE_SPOTIFY_CONFIG", raising=False)

    with pytest.raises(CommandError):
        Command()._config(command_options(config=raw))

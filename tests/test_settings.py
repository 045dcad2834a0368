"""Settings as a deployment sees them: each case loads them in a fresh process with its own env."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "SECURE_DEPLOYMENT": "1",
    "ALLOWED_HOSTS": "releases.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://releases.example.com",
    "SPOTIFY_CLIENT_ID": "production-client-id",
    "SPOTIFY_CLIENT_SECRET": secrets.token_urlsafe(32),
}


def _dotenv_sets(name: str) -> bool:
    dotenv = ROOT / ".env"
    return dotenv.exists() and any(
        line.strip().startswith(f"{name}=") for line in dotenv.read_text().splitlines()
    )


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Only what a fresh shell would have: none of this test run's DEBUG/TEST_* variables.
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=base | {"DJANGO_SETTINGS_MODULE": "project.settings"} | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _settings(env: dict[str, str], *names: str) -> dict[str, object]:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {list(names)!r}}}))"
    )
    result = _run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    values: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return values


@pytest.mark.skipif(_dotenv_sets("SECRET_KEY"), reason="a local .env sets SECRET_KEY")
def test_without_secret_key_the_app_stops_with_a_clear_error():
    result = _run(["manage.py", "check"], {})

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in result.stderr


@pytest.mark.skipif(_dotenv_sets("DEBUG"), reason="a local .env sets DEBUG")
def test_debug_is_off_by_default():
    assert _settings({"SECRET_KEY": "k" * 50}, "DEBUG") == {"DEBUG": False}


def test_hosts_and_trusted_origins_come_from_the_environment():
    values = _settings(
        {
            "SECRET_KEY": "k" * 50,
            "ALLOWED_HOSTS": "releases.example.com,.example.org",
            "CSRF_TRUSTED_ORIGINS": "https://releases.example.com",
        },
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
    )

    assert values == {
        "ALLOWED_HOSTS": ["releases.example.com", ".example.org"],
        "CSRF_TRUSTED_ORIGINS": ["https://releases.example.com"],
    }


def test_secure_deployment_switches_on_secure_cookies_hsts_and_https_redirect():
    names = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT")
    secure = _settings(PRODUCTION, *names, "SECURE_HSTS_SECONDS")
    plain = _settings({"SECRET_KEY": "k" * 50}, *names)

    assert secure == dict.fromkeys(names, True) | {"SECURE_HSTS_SECONDS": 31_536_000}
    assert plain == dict.fromkeys(names, False)


def test_check_deploy_has_no_warnings_with_production_settings():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_secure_deployment_without_a_client_id_stops_with_a_clear_error():
    result = _run(["manage.py", "check"], PRODUCTION | {"SPOTIFY_CLIENT_ID": "", "DEMO_MODE": ""})

    assert result.returncode != 0
    assert (
        "ImproperlyConfigured: SECURE_DEPLOYMENT=1 and SPOTIFY_CLIENT_ID is not set"
        in result.stderr
    )
    assert "DEMO_MODE=1" in result.stderr


def test_demo_mode_lets_a_secure_deployment_serve_the_demo_on_purpose():
    values = _settings(
        PRODUCTION | {"SPOTIFY_CLIENT_ID": "", "DEMO_MODE": "1"}, "DEMO_MODE", "SECURE_SSL_REDIRECT"
    )

    assert values == {"DEMO_MODE": True, "SECURE_SSL_REDIRECT": True}


def test_demo_mode_with_a_client_id_stops_with_a_clear_error():
    env = {"SECRET_KEY": "k" * 50, "DEMO_MODE": "1", "SPOTIFY_CLIENT_ID": "real-client-id"}
    result = _run(["manage.py", "check"], env)

    assert result.returncode != 0
    assert "ImproperlyConfigured: DEMO_MODE=1 and SPOTIFY_CLIENT_ID are both set" in result.stderr


def test_database_settings_from_postgres_variables():
    values = _settings(
        {
            "SECRET_KEY": "k" * 50,
            "POSTGRES_DB": "releases",
            "POSTGRES_USER": "app",
            "POSTGRES_PASSWORD": "p@ss:word/1",
            "POSTGRES_HOST": "db",
            "POSTGRES_PORT": "6543",
        },
        "DATABASES",
    )

    database = values["DATABASES"]["default"]  # type: ignore[index]
    assert (database["NAME"], database["USER"], database["PASSWORD"]) == (
        "releases",
        "app",
        "p@ss:word/1",
    )
    assert (database["HOST"], database["PORT"]) == ("db", 6543)


def test_database_url_wins_over_postgres_variables():
    values = _settings(
        {
            "SECRET_KEY": "k" * 50,
            "DATABASE_URL": "postgres://u:pw@dbhost:5433/named",
            "POSTGRES_HOST": "ignored",
        },
        "DATABASES",
    )

    database = values["DATABASES"]["default"]  # type: ignore[index]
    assert (database["HOST"], database["NAME"]) == ("dbhost", "named")


def test_spotify_markets_are_upper_cased_and_spotify_market_is_a_list_of_one():
    several = _settings({"DEBUG": "1", "SPOTIFY_MARKETS": "us, fr,GB"}, "SPOTIFY_MARKETS")
    one = _settings({"DEBUG": "1", "SPOTIFY_MARKET": "SE"}, "SPOTIFY_MARKETS")
    none = _settings({"DEBUG": "1"}, "SPOTIFY_MARKETS")

    assert several == {"SPOTIFY_MARKETS": ["US", "FR", "GB"]}
    assert one == {"SPOTIFY_MARKETS": ["SE"]}
    assert none == {"SPOTIFY_MARKETS": []}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SPOTIFY_MARKETS": "US,XX,USA"},
            "ImproperlyConfigured: SPOTIFY_MARKETS has 'XX', 'USA', not a market Spotify accepts",
        ),
        ({"SPOTIFY_MARKET": "EU"}, "ImproperlyConfigured: SPOTIFY_MARKETS has 'EU'"),
        ({"SPOTIFY_MARKETS": "US,FR,US"}, "SPOTIFY_MARKETS lists US more than once"),
        (
            {"SPOTIFY_MARKETS": "US,FR", "SPOTIFY_MARKET": "GB"},
            "ImproperlyConfigured: SPOTIFY_MARKETS and SPOTIFY_MARKET are both set",
        ),
    ],
)
def test_wrong_spotify_markets_stop_the_app_with_a_clear_error(env, message):
    result = _run(["manage.py", "check"], {"DEBUG": "1", **env})

    assert result.returncode != 0
    assert message in result.stderr


def _redis_names(*, prefix: str) -> list[str]:
    """The Redis key of the queue, the tasks' signing salt and a cache key, as a deployment with
    REDIS_KEY_PREFIX=`prefix` sees them (nothing is sent to Redis)."""
    code = (
        "import django; django.setup(); from django.core.cache import cache; "
        "from django_q.brokers import get_broker; from django_q.conf import Conf; "
        "print(get_broker().list_key, Conf.PREFIX, cache.make_key('catalog:sync-queued'))"
    )
    env = {
        "SECRET_KEY": "k" * 50,
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "REDIS_KEY_PREFIX": prefix,
    }
    result = _run(["-c", code], env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].split()


def test_deployments_sharing_one_redis_database_keep_their_queues_and_caches_apart():
    """Without this, a worker ran the other deployment's (or test run's) queued sync against its
    own database, and a press read the other's "sync queued" mark."""
    blue, green = _redis_names(prefix="blue"), _redis_names(prefix="green")

    for blue_name, green_name in zip(blue, green, strict=True):
        assert blue_name != green_name
        assert "blue" in blue_name

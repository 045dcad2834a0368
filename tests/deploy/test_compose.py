"""docker-compose.yml, the Dockerfile, the scripts they run and .env.example agree with each other
and with the settings. The files are read as written (no Docker needed); when the docker client
has the compose plugin, `docker compose config` must accept them and agree too."""

import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.test_settings import _dotenv_sets, _run, _settings

ROOT = Path(__file__).resolve().parents[2]
HEALTH_PATH = "/api/health/"
IMAGE_WORKDIR = "/app"
# Read by the scripts, Docker or compose rather than by the settings.
NOT_SETTINGS = {
    "FAKE_SPOTIFY_CONFIG",  # spotify/fake/config.py
    "DJANGO_SUPERUSER_USERNAME",  # ensure_superuser (make run)
    "DJANGO_SUPERUSER_PASSWORD",
    "DJANGO_SUPERUSER_EMAIL",
    "RUN_HOST",  # scripts/run-local
    "RUN_PORT",
    "WEB_PUBLISH",  # docker-compose.yml
    "WEB_CONCURRENCY",  # scripts/start-web
    "GUNICORN_THREADS",
    "GUNICORN_TIMEOUT_SECONDS",
    "FORWARDED_ALLOW_IPS",
}
_INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}")


def settings_variables() -> set[str]:
    source = (ROOT / "project" / "settings.py").read_text()
    return set(re.findall(r"\benv(?:\.\w+)?\(\s*\"([A-Z0-9_]+)\"", source))


def env_example_variables() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if match := re.match(r"^([A-Z0-9_]+)=(.*)$", line):
            values[match.group(1)] = match.group(2)
    return values


def compose_as_written(dotenv: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The compose file with `${VAR:-default}` resolved as compose would from a `.env` holding
    `dotenv` (none by default) and no other environment."""
    values = dotenv or {}
    text = (ROOT / "docker-compose.yml").read_text()
    text = _INTERPOLATION.sub(
        lambda match: values.get(match.group(1)) or match.group(2) or "", text
    ).replace("$$", "$")
    compose: dict[str, Any] = yaml.safe_load(text)
    return compose


def container_environment(service: str, dotenv: Mapping[str, str]) -> dict[str, str]:
    """What a service's container is given: `.env` (its env_file), overridden by `environment`."""
    environment = compose_as_written(dotenv)["services"][service]["environment"]
    return dict(dotenv) | {name: str(value) for name, value in environment.items()}


def compose_variables() -> set[str]:
    text = (ROOT / "docker-compose.yml").read_text()
    return {name for name, _ in _INTERPOLATION.findall(text)}


class Dockerfile:
    def __init__(self, text: str) -> None:
        self.text = re.sub(r"\\\n", " ", text)
        self.lines = [line.strip() for line in self.text.splitlines() if line.strip()]

    def instructions(self, name: str) -> list[str]:
        return [
            line.split(None, 1)[1]
            for line in self.lines
            if not line.startswith("#") and line.split(None, 1)[0].upper() == name
        ]

    def final_stage(self) -> "Dockerfile":
        starts = [i for i, line in enumerate(self.lines) if line.upper().startswith("FROM ")]
        return Dockerfile("\n".join(self.lines[starts[-1] :]))


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return Dockerfile((ROOT / "Dockerfile").read_text())


def _ports(service: dict[str, Any]) -> list[int]:
    """Container ports a service publishes, in short ("host:port:container") or long syntax."""
    targets = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            targets.append(int(port["target"]))
        else:
            targets.append(int(str(port).rsplit(":", 1)[-1]))
    return targets


def _in_repository(image_path: str) -> Path:
    """A path inside the image (WORKDIR /app holds the repository's files) as a repository path."""
    return ROOT / image_path.removeprefix(f"{IMAGE_WORKDIR}/")


def _command(value: Any) -> list[str]:
    return value if isinstance(value, list) else str(value).split()


def _healthcheck_command(value: Any) -> str:
    parts = _command(value)
    return " ".join(parts[1:] if parts[0] in {"CMD", "CMD-SHELL"} else parts)


def check_compose(compose: dict[str, Any], dockerfile: Dockerfile) -> None:
    services = compose["services"]
    assert set(services) >= {"db", "web", "worker"}
    final = dockerfile.final_stage()
    exposed = {int(port.split("/")[0]) for port in final.instructions("EXPOSE")}
    image_cmd = json.loads(final.instructions("CMD")[-1])

    db = services["db"]
    assert db["image"].startswith("postgres:17")
    assert any("/var/lib/postgresql/data" in str(volume) for volume in db["volumes"])
    assert "pg_isready" in _healthcheck_command(db["healthcheck"]["test"])

    web, worker = services["web"], services["worker"]
    assert web["depends_on"]["db"]["condition"] == "service_healthy"
    assert worker["depends_on"]["web"]["condition"] == "service_healthy"
    # The web service serves the port the image exposes, with the image's own command.
    assert _ports(web) == [8000]
    assert set(_ports(web)) <= exposed
    assert _command(web.get("command", image_cmd)) == image_cmd
    assert _command(worker["command"]) == ["python", "manage.py", "qcluster"]
    assert worker["healthcheck"]["disable"] is True
    # The web healthcheck is the image's: a script that asks /api/health/.
    image_healthcheck = final.instructions("HEALTHCHECK")[-1]
    web_healthcheck = _healthcheck_command(web["healthcheck"]["test"])
    assert web_healthcheck in image_healthcheck.replace('", "', " ").replace('"', "")
    assert HEALTH_PATH in _in_repository(web_healthcheck.split()[-1]).read_text()
    assert _in_repository(image_cmd[0]).exists()

    # Every variable the app containers are given is one the settings read.
    for service in (web, worker):
        assert set(service["environment"]) <= settings_variables()
        assert service["environment"]["POSTGRES_HOST"] == "db"
        assert service["environment"]["SECRET_KEY"], "compose needs a local fallback key"
    # The app and the database agree on the credentials.
    for name in ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"):
        assert web["environment"][name] == db["environment"][name]


def test_compose_file_agrees_with_the_dockerfile(dockerfile):
    check_compose(compose_as_written(), dockerfile)


def test_compose_reads_dotenv_but_does_not_require_it():
    for name in ("web", "worker"):
        env_files = compose_as_written()["services"][name]["env_file"]
        assert env_files == [{"path": ".env", "required": False}]


@pytest.mark.skipif(
    _dotenv_sets("SPOTIFY_CLIENT_ID") or _dotenv_sets("SECURE_DEPLOYMENT"),
    reason="a local .env sets SPOTIFY_CLIENT_ID or SECURE_DEPLOYMENT",
)
def test_compose_up_without_dotenv_serves_the_demo():
    for service in ("web", "worker"):
        values = _settings(
            container_environment(service, {}), "SPOTIFY_CLIENT_ID", "SECURE_DEPLOYMENT"
        )

        assert values == {"SPOTIFY_CLIENT_ID": "", "SECURE_DEPLOYMENT": False}


@pytest.mark.skipif(
    _dotenv_sets("SPOTIFY_CLIENT_ID") or _dotenv_sets("DEMO_MODE"),
    reason="a local .env sets SPOTIFY_CLIENT_ID or DEMO_MODE",
)
def test_compose_with_a_production_dotenv_and_no_client_id_refuses_to_start_unless_demo_mode():
    production = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SECURE_DEPLOYMENT": "1",
        "ALLOWED_HOSTS": "releases.example.com",
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
    }
    for service in ("web", "worker"):
        refused = _run(["manage.py", "check"], container_environment(service, production))
        demo = _settings(
            container_environment(service, production | {"DEMO_MODE": "1"}), "DEMO_MODE"
        )

        assert refused.returncode != 0
        assert "SECURE_DEPLOYMENT=1 and SPOTIFY_CLIENT_ID is not set" in refused.stderr
        assert demo == {"DEMO_MODE": True}


def test_local_db_override_publishes_only_on_loopback():
    override = yaml.safe_load(
        _INTERPOLATION.sub(
            lambda match: match.group(2) or "", (ROOT / "docker-compose.local-db.yml").read_text()
        )
    )
    assert override["services"]["db"]["ports"] == ["127.0.0.1:5432:5432"]
    assert "docker-compose.local-db.yml" in (ROOT / "scripts" / "ensure-postgres").read_text()


def test_dockerfile_is_multi_stage_slim_non_root_with_static_files(dockerfile):
    bases = dockerfile.instructions("FROM")
    assert len(bases) >= 2
    assert all(base.startswith("python:3.13-slim") for base in bases)
    assert dockerfile.final_stage().instructions("WORKDIR") == [IMAGE_WORKDIR]
    users = dockerfile.final_stage().instructions("USER")
    assert users, "the runtime stage must switch to a non-root user"
    assert users[-1].split(":")[0] not in {"root", "0"}
    runs = " ".join(dockerfile.final_stage().instructions("RUN"))
    assert "collectstatic" in runs
    assert "pyproject.toml" in " ".join(dockerfile.instructions("COPY"))


def test_start_web_serves_the_exposed_port_with_gunicorn(dockerfile):
    script = (ROOT / "scripts" / "start-web").read_text()
    final = dockerfile.final_stage()
    exposed = final.instructions("EXPOSE")[-1].split("/")[0]
    assert f"PORT={exposed}" in " ".join(final.instructions("ENV")).replace(" ", "")
    assert "exec gunicorn project.wsgi" in script
    assert '--bind "0.0.0.0:${PORT:-' + exposed + '}"' in script
    assert "migrate --noinput" in script
    assert os.access(ROOT / "scripts" / "start-web", os.X_OK)
    assert os.access(ROOT / "scripts" / "healthcheck", os.X_OK)


def test_env_example_documents_every_setting_and_nothing_unknown():
    documented = env_example_variables()
    assert settings_variables() - set(documented) == set(), "undocumented settings"
    assert set(documented) - settings_variables() - NOT_SETTINGS == set(), "unknown names"
    for name in ("SECRET_KEY", "SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET"):
        assert documented[name] == "", f"{name} must not ship a value"


def test_compose_variables_are_documented():
    assert compose_variables() - set(env_example_variables()) == set()


def test_dockerignore_keeps_secrets_and_local_state_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".env", ".venv", ".git", "staticfiles"):
        assert entry in ignored


def _compose_plugin() -> bool:
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, check=False
    )
    return result.returncode == 0


@pytest.mark.skipif(
    not _compose_plugin(), reason="the docker client with the compose plugin is not installed"
)
def test_docker_compose_config_accepts_the_files_and_agrees(dockerfile, tmp_path):
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in env_example_variables() and not key.startswith("COMPOSE_")
    }
    result = subprocess.run(
        ["docker", "compose", "-f", "docker-compose.yml", "config", "--format", "json"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    check_compose(json.loads(result.stdout), dockerfile)


class _ComposeLoader(yaml.SafeLoader):
    """Reads compose's `!reset` (an override that empties what the base file set)."""


_ComposeLoader.add_constructor("!reset", lambda loader, node: "!reset")


def scale_override_as_written() -> dict[str, Any]:
    text = (ROOT / "docker-compose.scale.yml").read_text()
    text = _INTERPOLATION.sub(lambda match: match.group(2) or "", text).replace("$$", "$")
    override: dict[str, Any] = yaml.load(text, Loader=_ComposeLoader)
    return override


def test_scale_override_runs_two_web_replicas_behind_one_port_and_two_workers():
    base = compose_as_written()["services"]
    services = scale_override_as_written()["services"]
    web, worker, proxy, redis = (services[name] for name in ("web", "worker", "proxy", "redis"))

    assert web["deploy"]["replicas"] == 2
    assert worker["deploy"]["replicas"] == 2
    # The replicas publish nothing themselves; the proxy publishes the one port the base did.
    assert web["ports"] == "!reset"
    assert proxy["ports"] == base["web"]["ports"]
    conf_source, conf_target = proxy["volumes"][0].split(":")[:2]
    conf = (ROOT / conf_source).read_text()
    assert conf_target == "/etc/nginx/conf.d/default.conf"
    assert "server web:8000 resolve;" in conf
    assert "proxy_pass http://web;" in conf
    assert "listen 8000;" in conf
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    # Redis: healthy before the app starts, and what REDIS_URL names.
    assert redis["image"].startswith("redis:")
    assert "ping" in _healthcheck_command(redis["healthcheck"]["test"])
    for service in (web, worker):
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert set(service["environment"]) <= settings_variables() | NOT_SETTINGS
        # One metrics directory shared by every container.
        assert f"metrics:{service['environment']['METRICS_DIR']}" in service["volumes"]


def test_scale_override_migrates_once_before_the_replicas_start():
    base = compose_as_written()["services"]
    services = scale_override_as_written()["services"]
    migrate = services["migrate"]

    assert services["web"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert "manage.py migrate" in " ".join(_command(migrate["command"]))
    assert migrate["image"] == base["web"]["image"]
    assert migrate["environment"] == base["web"]["environment"]
    assert migrate["env_file"] == base["web"]["env_file"]
    assert migrate["restart"] == "no"

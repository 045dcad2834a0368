"""`make bench`: load-tests the API under gunicorn with wrk, times the sync against the HTTP fake
Spotify, and writes docs/benchmarks.md. Reproducible: fixed data seed, fixed wrk settings."""

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DOC = ROOT / "docs" / "benchmarks.md"
BASELINE_FILE = ROOT / "bench" / ".baseline.json"
PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
API_DB, SYNC_DB = "spotify_bench", "spotify_bench_sync"
WRK_ARGS = ["-t2", "-c32", "-d10s", "--latency"]
SYNC_SIZES = [int(n) for n in os.environ.get("BENCH_SYNC_SIZES", "100,1000,10000").split(",")]
ARTISTS = "/api/artists/?limit=50"
FILTERED = "/api/artists/?limit=50&q=lo&genre=indie+pop"


@dataclass(frozen=True)
class Load:
    name: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: str


def _env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SPOTIFY_", "POSTGRES_", "DATABASE_", "REDIS_", "API_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DEBUG="0",
        SECRET_KEY="bench-secret-key-not-for-production-0123456789abcdefghij",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _recreate_database(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')  # only the bench's own databases
        conn.execute(f'CREATE DATABASE "{name}"')


def _manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def _ensure_wrk() -> str:
    if found := shutil.which("wrk"):
        return found
    if os.geteuid() != 0:
        sys.exit("wrk is missing: install it with `sudo apt-get install -y wrk`")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or sys.exit("could not install wrk")


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (local URL)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@contextmanager
def _gunicorn(env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "project.wsgi",
            "--workers=2",
            "--worker-class=sync",
            f"--bind=127.0.0.1:{port}",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if _get(f"{base}/api/snapshots/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wrk(wrk: str, name: str, url: str, *headers: str) -> Load:
    header_args = [arg for header in headers for arg in ("-H", header)]
    subprocess.run([wrk, "-t2", "-c32", "-d2s", *header_args, url], check=True, capture_output=True)
    out = subprocess.run(
        [wrk, *WRK_ARGS, *header_args, url], check=True, capture_output=True, text=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out)
    return Load(
        name=name,
        requests_per_second=rps,
        p50_ms=_latency(out, "50%"),
        p99_ms=_latency(out, "99%"),
        errors=errors.group(1) if errors else "",
    )


def _latency(out: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    assert match, f"no {percentile} latency in wrk output:\n{out}"
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return float(match.group(1)) * scale


def bench_api(wrk: str) -> tuple[list[Load], dict[str, object]]:
    _recreate_database(API_DB)
    env = _env(
        DATABASE_URL=f"{PG}/{API_DB}",
        ROOT_URLCONF="bench.urls",
        BENCH_BASELINE_FILE=str(BASELINE_FILE),
    )
    _manage("migrate", "--noinput", env=env)
    seeded = _manage(
        "shell",
        "-c",
        "import json; from bench.seed import seed; print(json.dumps(seed()))",
        env=env,
    )
    facts: dict[str, object] = {"seeded": json.loads(seeded.strip().splitlines()[-1])}
    # Planner statistics, as autovacuum would have gathered them on a live database.
    with psycopg.connect(f"{PG}/{API_DB}", autocommit=True) as conn:
        conn.execute("ANALYZE")
    loads: list[Load] = []
    with _gunicorn(env | {"API_RESPONSE_CACHE": "1"}) as base:
        status, headers, body = _get(base + ARTISTS)
        assert status == 200, (status, body[:200])
        BASELINE_FILE.write_bytes(body)
        facts["body_bytes"] = len(body)
        etag = headers["ETag"]
        assert _get(base + ARTISTS, {"If-None-Match": etag})[0] == 304
        assert _get(base + "/bench/baseline/")[2] == body
        loads.append(
            _wrk(wrk, "baseline: trivial Django view, same bytes", base + "/bench/baseline/")
        )
        loads.append(_wrk(wrk, f"`{ARTISTS}` cached", base + ARTISTS))
        loads.append(
            _wrk(wrk, f"`{ARTISTS}` 304 (If-None-Match)", base + ARTISTS, f"If-None-Match: {etag}")
        )
        loads.append(_wrk(wrk, f"`{FILTERED}` cached", base + FILTERED))
        facts["filtered_count"] = json.loads(_get(base + FILTERED)[2])["count"]
    with _gunicorn(env | {"API_RESPONSE_CACHE": "0"}) as base:
        loads.append(
            _wrk(wrk, "baseline again (server with the cache off)", base + "/bench/baseline/")
        )
        loads.append(_wrk(wrk, f"`{ARTISTS}` uncached", base + ARTISTS))
        loads.append(_wrk(wrk, f"`{FILTERED}` uncached", base + FILTERED))
    BASELINE_FILE.unlink(missing_ok=True)
    return loads, facts


def bench_sync() -> list[dict[str, object]]:
    _recreate_database(SYNC_DB)
    env = _env(DATABASE_URL=f"{PG}/{SYNC_DB}")
    _manage("migrate", "--noinput", env=env)
    results = []
    for size in SYNC_SIZES:
        fake = subprocess.Popen(
            [sys.executable, "manage.py", "fake_spotify", "--port=0", f"--releases={size}"],
            cwd=ROOT,
            env=_env(DEBUG="1"),
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert fake.stdout is not None
            root = ""
            while not root:
                line = fake.stdout.readline()
                if not line:
                    raise RuntimeError("the fake Spotify did not start")
                if match := re.search(r"at (http://\S+)", line):
                    root = match.group(1)
            spotify = {
                "SPOTIFY_API_BASE_URL": f"{root}/v1",
                "SPOTIFY_ACCOUNTS_BASE_URL": root,
                "SPOTIFY_CLIENT_ID": "demo-client-id",
                "SPOTIFY_CLIENT_SECRET": "demo-client-secret",
            }
            for label, args in (("first sync", ["--fresh"]), ("re-sync", [])):
                out = subprocess.run(
                    [sys.executable, "-m", "bench.sync_probe", *args],
                    cwd=ROOT,
                    env=env | spotify,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                result = json.loads(out.strip().splitlines()[-1])
                results.append({"size": size, "run": label, **result})
                print(f"sync {size} {label}: {result}", flush=True)
        finally:
            fake.terminate()
            fake.wait(timeout=30)
    return results


def _load_average() -> str:
    return " / ".join(f"{load:.1f}" for load in os.getloadavg())


def _machine(facts: dict[str, object]) -> list[tuple[str, str]]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    with psycopg.connect(f"{PG}/postgres") as conn:
        row = conn.execute("SHOW server_version").fetchone()
    versions = [metadata.version("django"), metadata.version("django-ninja")]
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    return [
        ("CPU", cpu),
        ("Cores (nproc)", str(os.cpu_count())),
        ("Memory", f"{memory_kb / 1024 / 1024:.1f} GiB"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("Django / django-ninja", f"{versions[0]} / {versions[1]}"),
        ("PostgreSQL", str(row[0]) if row else "unknown"),
        ("wrk", wrk_version.split("[")[0].strip() or "wrk"),
        ("Load average at the start (1/5/15 min)", str(facts.get("load_at_start", "unknown"))),
        ("Load average after the API loads", str(facts.get("load_after_api", "unknown"))),
        ("Load average at the end", _load_average()),
    ]


def _ratio(load: Load, baseline: Load) -> str:
    return f"{load.requests_per_second / baseline.requests_per_second:.2f}×"


def write_doc(loads: list[Load], facts: dict[str, object], syncs: list[dict[str, object]]) -> str:
    baseline = loads[0]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (bench/run.py) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
        "Numbers from one run on the machine below; rerun `make bench` to reproduce.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {key} | {value} |" for key, value in _machine(facts)),
        "",
        "## API under load",
        "",
        "gunicorn, 2 sync workers, DEBUG off, local-memory cache, persistent database "
        f"connections; wrk `{' '.join(WRK_ARGS)}` after a 2 s warm-up. Database: "
        + ", ".join(f"{count:,} {name}" for name, count in dict(facts["seeded"]).items())  # type: ignore[call-overload]
        + " (today's 100-release snapshot plus 30 days of history). "
        f"The `/api/artists/?limit=50` body is {facts['body_bytes']:,} bytes; the filtered "
        f"query matches {facts['filtered_count']} artists. The baseline is a trivial Django view "
        "(bench/urls.py, only mounted by `make bench`) returning those same bytes through the "
        "same middleware.",
        "",
        "| request | req/s | p50 | p99 | ratio to baseline req/s | errors |",
        "|---|---:|---:|---:|---:|---|",
        *(
            f"| {load.name} | {load.requests_per_second:,.0f} | {load.p50_ms:.2f} ms | "
            f"{load.p99_ms:.2f} ms | {_ratio(load, baseline)} | {load.errors or '-'} |"
            for load in loads
        ),
        "",
        "## Sync against the HTTP fake Spotify",
        "",
        "`manage.py fake_spotify --releases N` in its own process; the sync in another "
        "(bench/sync_probe.py), from an empty catalogue (first sync), then again (re-sync: "
        "everything already stored). SQL statements are counted with `connection.execute_wrapper`; "
        "peak RSS is the sync process's `ru_maxrss` (Python + Django included).",
        "",
        "| releases | run | wall time | Spotify calls | SQL statements | peak RSS | status |",
        "|---:|---|---:|---:|---:|---:|---|",
        *(
            f"| {s['size']:,} | {s['run']} | {s['wall_seconds']} s | {s['spotify_calls']} | "
            f"{s['sql_statements']} | {s['peak_rss_mb']} MB | {s['status']} |"
            for s in syncs
        ),
        "",
    ]
    return "\n".join(lines)


def _targets(loads: list[Load], syncs: list[dict[str, object]]) -> list[str]:
    """Each target of issue 6 against this run's numbers: met, or missed and by how much."""
    baseline = loads[0].requests_per_second
    rps = {load.name: load.requests_per_second for load in loads}
    ratio_targets = [
        (f"`{ARTISTS}` cached", 0.8),
        (f"`{ARTISTS}` 304 (If-None-Match)", 0.9),
        (f"`{ARTISTS}` uncached", 0.15),
    ]
    rows = []
    for name, target in ratio_targets:
        ratio = rps[name] / baseline
        verdict = "met" if ratio >= target else f"**missed** by {1 - ratio / target:.0%}"
        rows.append(f"| {name} ≥ {target}× baseline | {ratio:.2f}× | {verdict} |")
    largest = max((s for s in syncs if s["run"] == "first sync"), key=lambda s: int(str(s["size"])))
    wall, rss = float(str(largest["wall_seconds"])), float(str(largest["peak_rss_mb"]))
    for label, value, limit, unit in (
        ("wall time", wall, 60.0, "s"),
        ("peak RSS", rss, 300.0, "MB"),
    ):
        verdict = "met" if value < limit else f"**missed** by {value / limit - 1:.0%}"
        rows.append(
            f"| {int(str(largest['size'])):,}-release sync {label} < {limit:g} {unit} "
            f"| {value:g} {unit} | {verdict} |"
        )
    return [
        "## Targets",
        "",
        "| target | this run | verdict |",
        "|---|---:|---|",
        *rows,
        "",
    ]


def main() -> None:
    raw = ROOT / "bench" / "last-run.json"
    if "--doc-only" not in sys.argv:
        wrk = _ensure_wrk()
        load_at_start = _load_average()
        loads, facts = bench_api(wrk)
        facts["load_at_start"] = load_at_start
        facts["load_after_api"] = _load_average()
        for load in loads:
            print(load, flush=True)
        syncs = bench_sync()
        results = {"loads": [load.__dict__ for load in loads], "facts": facts, "syncs": syncs}
        raw.write_text(json.dumps(results, indent=2, default=str) + "\n")
    results = json.loads(raw.read_text())
    loads = [Load(**load) for load in results["loads"]]
    facts, syncs = results["facts"], results["syncs"]
    text = write_doc(loads, facts, syncs) + "\n" + "\n".join(_targets(loads, syncs))
    analysis = ROOT / "bench" / "analysis.md"
    if analysis.exists():
        text += "\n" + analysis.read_text()
    DOC.write_text(text)
    print(f"Wrote {DOC}")


if __name__ == "__main__":
    main()

"""`make bench`: measures the catalogue's reads under gunicorn with wrk on two seeded data sets
(31 days of history and a year), against a minimal one-file Django project serving the same bytes
(bench/baseline_app.py); times the sync against the HTTP fake Spotify; writes docs/benchmarks.md.
Reproducible: fixed data seed, fixed wrk settings.

The machine is shared, so its speed drifts by tens of per cent within minutes: the app and the
baseline run side by side (idle gunicorn workers cost nothing), and each of the app's loads is
followed at once by the baseline's on the same bytes, in BENCH_ROUNDS rounds; the share of the
baseline reported is the median of the rounds' ratios, so what the machine does to both cancels.

Smaller runs for trying it out, from the environment:
- BENCH_SECONDS: the wrk time per URL and kind of load (default 10), split between the rounds:
  each loaded run lasts BENCH_SECONDS / BENCH_ROUNDS seconds (at least 1), after one 1 s warm-up
  per URL and server; each one-connection run lasts BENCH_SECONDS / 2;
- BENCH_ROUNDS: rounds of app-then-baseline runs per URL (default 3);
- BENCH_DATASETS: `days:artists` pairs (default `31:2500,365:20000`);
- BENCH_RELEASES_PER_DAY: releases in each day's snapshot (default 100);
- BENCH_SYNC_SIZES: release counts for the sync runs (default `100,1000,10000`; empty: none);
- BENCH_DOC, BENCH_RAW: where the report and the raw figures go (default docs/benchmarks.md and
  bench/last-run.json), so that a trial run overwrites neither.
`--doc-only` writes the report again from the raw figures, measuring nothing.
"""

import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from importlib import metadata
from pathlib import Path
from statistics import median
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DOC = Path(os.environ.get("BENCH_DOC", ROOT / "docs" / "benchmarks.md"))
RAW = Path(os.environ.get("BENCH_RAW", ROOT / "bench" / "last-run.json"))
BASELINE_FILE = ROOT / "bench" / ".baseline.json"
PG = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
SYNC_DB = "spotify_bench_sync"
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
ROUNDS = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))
LOAD_ARGS = ["-t2", "-c32", f"-d{max(1, round(SECONDS / ROUNDS))}s", "--latency"]
WARM_UP_ARGS = ["-t2", "-c32", "-d1s"]
SERIAL_ARGS = ["-t1", "-c1", f"-d{max(1, SECONDS // 2)}s", "--latency"]
DATASETS = [
    (int(days), int(artists))
    for days, artists in (
        pair.split(":") for pair in os.environ.get("BENCH_DATASETS", "31:2500,365:20000").split(",")
    )
]
RELEASES_PER_DAY = int(os.environ.get("BENCH_RELEASES_PER_DAY", "100"))
SYNC_SIZES = [int(n) for n in os.environ.get("BENCH_SYNC_SIZES", "100,1000,10000").split(",") if n]
ARTISTS = "/api/artists/?limit=50"
# p50 budget for every read on the largest data set, and its growth over the smallest one.
P50_LIMIT_MS, P50_GROWTH = 15.0, 1.5
# (request, least share of the baseline's req/s): cached, 304, and uncached under load.
RATIO_TARGETS = [
    ("API artists", "cached", 0.8),
    ("API artists", "304", 0.9),
    ("dashboard", "cached", 0.5),
    ("feed", "cached", 0.5),
    ("API artists", "uncached", 0.15),
]


def _reads(artist_id: str) -> list[tuple[str, str]]:
    """(label, path) of every catalogue read measured."""
    return [
        ("API artists", ARTISTS),
        ("API releases", "/api/releases/"),
        ("API artist", f"/api/artists/{artist_id}/"),
        ("dashboard", "/"),
        ("dashboard search", "/?q=lo"),
        ("artist page", f"/artists/{artist_id}/"),
        ("feed", "/feeds/releases.atom"),
        ("releases CSV", "/api/releases.csv"),
        ("artists CSV", "/api/artists.csv"),
    ]


@dataclass(frozen=True)
class Load:
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
def _gunicorn(
    env: dict[str, str], *, app: str = "project.wsgi", probe: str = "/api/snapshots/"
) -> Iterator[str]:
    """The app (or the baseline) under the same gunicorn settings every time."""
    port = _free_port()
    process = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            app,
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
                if _get(f"{base}{probe}")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def _warm(wrk: str, url: str) -> None:
    """Load `url` without measuring: the first requests fill caches (the response cache, Django's
    URL resolver, the prepared statements of each worker's connection)."""
    subprocess.run([wrk, *WARM_UP_ARGS, url], check=True, capture_output=True)


def _wrk(wrk: str, url: str, *headers: str, serial: bool = False) -> Load:
    """wrk's figures for `url`: under load (32 connections; warm it first with `_warm`), or one
    request at a time (after 1 s of warm-up)."""
    header_args = [arg for header in headers for arg in ("-H", header)]
    if serial:
        subprocess.run(
            [wrk, "-t1", "-c1", "-d1s", *header_args, url], check=True, capture_output=True
        )
    args = SERIAL_ARGS if serial else LOAD_ARGS
    out = subprocess.run(
        [wrk, *args, *header_args, url], check=True, capture_output=True, text=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out)
    return Load(
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


def _seed(days: int, artists: int) -> tuple[dict[str, str], dict[str, Any]]:
    """A fresh database holding the data set; the environment that serves it; seeding facts."""
    database = f"spotify_bench_{days}d_{artists}a"
    _recreate_database(database)
    env = _env(DATABASE_URL=f"{PG}/{database}")
    _manage("migrate", "--noinput", env=env)
    started = time.perf_counter()
    seeded = _manage(
        "shell",
        "-c",
        "import json; from bench.seed import seed; "
        f"print(json.dumps(seed(days={days}, artists={artists}, "
        f"releases_per_day={RELEASES_PER_DAY})))",
        env=env,
    )
    facts: dict[str, Any] = {
        "seeded": json.loads(seeded.strip().splitlines()[-1]),
        # The whole `manage.py shell` process, Django's start-up included.
        "seed_seconds": round(time.perf_counter() - started, 1),
    }
    # Planner statistics, as autovacuum would have gathered them on a live database.
    with psycopg.connect(f"{PG}/{database}", autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return env, facts


def _alternate(
    wrk: str, baseline_url: str, loads: dict[str, Callable[[], Load]]
) -> dict[str, dict[str, Any]]:
    """ROUNDS rounds of each load in `loads` followed at once by the baseline's on `baseline_url`
    (e.g. cached, baseline, 304, baseline; then again). Each kind's figures are the medians of its
    runs, and its `ratio` the median of the rounds' ratios to the baseline run right after it, so
    that a slower or faster stretch of the shared machine weighs on both sides of a ratio; the
    `baseline` entry is the median of all the baseline's runs."""
    runs: dict[str, list[tuple[Load, Load]]] = {kind: [] for kind in loads}
    for _ in range(ROUNDS):
        for kind, load in loads.items():
            runs[kind].append((load(), _wrk(wrk, baseline_url)))
    result: dict[str, dict[str, Any]] = {
        kind: _medians([load for load, _ in pairs])
        | {
            "ratio": round(
                median(load.requests_per_second / base.requests_per_second for load, base in pairs),
                4,
            ),
            # Each round's req/s: the app's, the baseline's right after.
            "rounds": [
                [load.requests_per_second, base.requests_per_second] for load, base in pairs
            ],
        }
        for kind, pairs in runs.items()
    }
    result["baseline"] = _medians([base for pairs in runs.values() for _, base in pairs])
    return result


def _medians(loads: list[Load]) -> dict[str, Any]:
    return {
        "requests_per_second": round(median(load.requests_per_second for load in loads), 2),
        "p50_ms": round(median(load.p50_ms for load in loads), 3),
        "p99_ms": round(median(load.p99_ms for load in loads), 3),
        "errors": "; ".join(sorted({load.errors for load in loads if load.errors})),
    }


def _not_modified(wrk: str, url: str) -> Callable[[], Load]:
    """A 304 load of `url`, with the ETag fetched just before each run (the dashboard's changes
    every minute)."""

    def load() -> Load:
        etag = _get(url)[1]["ETag"]
        assert _get(url, {"If-None-Match": etag})[0] == 304, url
        return _wrk(wrk, url, f"If-None-Match: {etag}")

    return load


def bench_reads(wrk: str, days: int, artists: int) -> dict[str, Any]:
    """For each read: p50 one request at a time with the response cache off; then, with the app
    (cache off), the app (cache on) and the baseline project serving the same bytes all up, req/s
    under load cached and 304, each against the baseline's in the same rounds (`_alternate`)."""
    env, facts = _seed(days, artists)
    rows: dict[str, dict[str, Any]] = {}
    with ExitStack() as servers, tempfile.TemporaryDirectory() as capture:
        uncached = servers.enter_context(_gunicorn(env | {"API_RESPONSE_CACHE": "0"}))
        status, _, body = _get(uncached + ARTISTS)
        assert status == 200, (status, body[:200])
        reads = _reads(json.loads(body)["items"][0]["id"])
        for label, path in reads:
            status, _, body = _get(uncached + path)
            assert status == 200, (path, status, body[:200])
            rows[label] = {"path": path, "p50_ms": _wrk(wrk, uncached + path, serial=True).p50_ms}
            print(f"{days} days, {label} uncached: p50 {rows[label]['p50_ms']} ms", flush=True)

        capture_dir = Path(capture)
        cached_env = env | {
            "API_RESPONSE_CACHE": "1",
            "ROOT_URLCONF": "bench.urls",
            "BENCH_BASELINE_FILE": str(BASELINE_FILE),
        }
        cached = servers.enter_context(_gunicorn(cached_env))
        etags = {}
        for number, (label, path) in enumerate(reads):
            status, headers, body = _get(cached + path)
            assert status == 200, (path, status, body[:200])
            (capture_dir / f"{number}.body").write_bytes(body)
            (capture_dir / f"{number}.json").write_text(
                json.dumps({"content_type": headers["Content-Type"], "headers": headers})
            )
            rows[label]["body_bytes"] = len(body)
            etags[label] = bool(headers.get("ETag"))
        BASELINE_FILE.write_bytes((capture_dir / "0.body").read_bytes())
        servers.callback(BASELINE_FILE.unlink, missing_ok=True)
        baseline_env = _env(BENCH_CAPTURE_DIR=str(capture_dir))
        del baseline_env["DJANGO_SETTINGS_MODULE"]  # the baseline configures its own
        baseline = servers.enter_context(
            _gunicorn(baseline_env, app="bench.baseline_app", probe="/0/")
        )
        # The machine's speed, comparable between runs and machines (see _machine).
        facts["baseline_p50_ms"] = _wrk(wrk, f"{baseline}/0/", serial=True).p50_ms
        print(f"{days} days, baseline p50 (CPU speed): {facts['baseline_p50_ms']} ms", flush=True)

        for number, (label, path) in enumerate(reads):
            baseline_url = f"{baseline}/{number}/"
            assert _get(baseline_url)[2] == (capture_dir / f"{number}.body").read_bytes()
            loads: dict[str, Callable[[], Load]] = {"cached": partial(_wrk, wrk, cached + path)}
            if etags[label]:
                loads["304"] = _not_modified(wrk, cached + path)
            if path == ARTISTS:
                loads["uncached"] = partial(_wrk, wrk, uncached + ARTISTS)
                # The app's trivial view of the same bytes, through all its middleware.
                loads["same_middleware"] = partial(_wrk, wrk, cached + "/bench/baseline/")
                _warm(wrk, uncached + ARTISTS)
                _warm(wrk, cached + "/bench/baseline/")
            _warm(wrk, cached + path)
            _warm(wrk, baseline_url)
            measured = _alternate(wrk, baseline_url, loads)
            if "same_middleware" in measured:
                facts["same_middleware"] = measured.pop("same_middleware")
            rows[label] |= measured
            shares = ", ".join(
                f"{kind} {figures['requests_per_second']:,.0f} req/s ({figures['ratio']:.2f}×)"
                for kind, figures in measured.items()
                if "ratio" in figures
            )
            baseline_rps = measured["baseline"]["requests_per_second"]
            print(f"{days} days, {label}: {shares}; baseline {baseline_rps:,.0f}", flush=True)
    return {"days": days, "artists": artists, "facts": facts, "rows": rows}


def bench_sync() -> list[dict[str, object]]:
    if not SYNC_SIZES:
        return []
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


def _cpu_speed(runs: list[dict[str, Any]]) -> str:
    """The baseline's p50 for the `/api/artists/?limit=50` bytes, one request at a time: Django and
    gunicorn answering fixed bytes, no database, so it measures the core (and what shares it)."""
    figures = [
        f"{run['facts']['baseline_p50_ms']:.2f} ms ({run['days']} days)"
        for run in runs
        if "baseline_p50_ms" in run["facts"]
    ]
    return ", ".join(figures) or "not measured"


def _machine(facts: dict[str, object], runs: list[dict[str, Any]]) -> list[tuple[str, str]]:
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
        (
            "CPU speed: the baseline's p50 for the `/api/artists/?limit=50` bytes, one request "
            "at a time (lower is faster)",
            _cpu_speed(runs),
        ),
        ("Memory", f"{memory_kb / 1024 / 1024:.1f} GiB"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("Django / django-ninja", f"{versions[0]} / {versions[1]}"),
        ("PostgreSQL", str(row[0]) if row else "unknown"),
        ("wrk", wrk_version.split("[")[0].strip() or "wrk"),
        ("Load average at the start (1/5/15 min)", str(facts.get("load_at_start", "unknown"))),
        ("Load average after the read loads", str(facts.get("load_after_api", "unknown"))),
        ("Load average at the end", _load_average()),
    ]


def _rps(row: dict[str, Any], kind: str) -> float | None:
    load = row.get(kind)
    return float(load["requests_per_second"]) if load else None


def _share(row: dict[str, Any], kind: str) -> float | None:
    """The median of the rounds' ratios to the baseline (`_alternate`); for a raw file from before
    the rounds, the ratio of the two req/s."""
    load = row.get(kind)
    if load and "ratio" in load:
        return float(load["ratio"])
    rps, baseline = _rps(row, kind), _rps(row, "baseline")
    return rps / baseline if rps is not None and baseline else None


def _dataset_name(run: dict[str, Any]) -> str:
    return f"{run['days']} days, {run['artists']:,} artists"


def _dataset_table(run: dict[str, Any]) -> list[str]:
    def cell(row: dict[str, Any], kind: str) -> str:
        rps, share = _rps(row, kind), _share(row, kind)
        return "-" if rps is None else f"{rps:,.0f} ({share:.2f}×)"

    facts = run["facts"]
    seeded = ", ".join(f"{count:,} {name}" for name, count in facts["seeded"].items())
    same = facts["same_middleware"]["requests_per_second"]
    same_share = facts["same_middleware"].get("ratio") or same / (
        _rps(run["rows"]["API artists"], "baseline") or 1.0
    )
    return [
        f"## {_dataset_name(run)}",
        "",
        f"Seeded in {facts['seed_seconds']} s: {seeded}. In brackets, the share of the baseline's "
        "req/s for the same bytes. The app's trivial view of those `/api/artists/?limit=50` "
        f"bytes through all its middleware (bench/urls.py): {same:,.0f} req/s "
        f"({same_share:.2f}× the baseline).",
        "",
        "| request | bytes | p50 uncached, 1 connection | uncached req/s | cached req/s "
        "| 304 req/s | baseline req/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {label} `{row['path']}` | {row.get('body_bytes', 0):,} | {row['p50_ms']:.2f} ms "
            f"| {cell(row, 'uncached')} | {cell(row, 'cached')} | {cell(row, '304')} "
            f"| {_rps(row, 'baseline') or 0:,.0f} |"
            for label, row in run["rows"].items()
        ),
        "",
    ]


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "**FAIL**"


def _targets(runs: list[dict[str, Any]]) -> list[str]:
    """Issue 12's targets against this run: p50 on the largest data set, its growth over the
    smallest one, and the shares of the baseline on every data set."""
    smallest, largest = runs[0], runs[-1]
    rows = []
    for label, row in largest["rows"].items():
        p50, before = row["p50_ms"], smallest["rows"][label]["p50_ms"]
        rows.append(
            f"| {label}: p50 uncached ≤ {P50_LIMIT_MS:g} ms ({_dataset_name(largest)}) "
            f"| {p50:.2f} ms | {_verdict(p50 <= P50_LIMIT_MS)} |"
        )
        if largest is not smallest:
            growth = p50 / before
            rows.append(
                f"| {label}: p50 ≤ {P50_GROWTH}× its {smallest['days']}-day figure "
                f"| {growth:.2f}× ({before:.2f} → {p50:.2f} ms) "
                f"| {_verdict(growth <= P50_GROWTH)} |"
            )
    for run in runs:
        for label, kind, least in RATIO_TARGETS:
            share = _share(run["rows"][label], kind)
            shown = "no ETag, no 304" if share is None else f"{share:.2f}×"
            rows.append(
                f"| {label} {kind} ≥ {least}× baseline ({_dataset_name(run)}) | {shown} "
                f"| {_verdict(share is not None and share >= least)} |"
            )
    return ["## Targets", "", "| target | this run | verdict |", "|---|---:|---|", *rows, ""]


def _sync_section(syncs: list[dict[str, Any]]) -> list[str]:
    if not syncs:
        return []
    return [
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


def _load_method(settings: dict[str, Any]) -> str:
    load = " ".join(settings["load"])
    if "rounds" not in settings:  # a raw file from before the rounds
        return (
            f"*req/s*: wrk `{load}` after a 2 s warm-up, one run per URL and kind: the app's "
            "(*uncached* with the response cache off, *cached* with it on, *304* with the answer's "
            "`If-None-Match`), then minutes later the baseline's; in brackets, the ratio of the two."
        )
    return (
        "*req/s*: the app with the response cache off (*uncached*), the app with it on (*cached*, "
        "and *304* with the answer's `If-None-Match`, for answers that carry an ETag) and the "
        "baseline all run at the same time, two of them idle while wrk loads the third. For each "
        f"URL, after wrk `{' '.join(settings['warm_up'])}` on each server, {settings['rounds']} "
        f"rounds of wrk `{load}` in which each of the app's loads is followed at once by the "
        "baseline's on the same bytes (cached, baseline, 304, baseline; then again). The tables "
        "give the median req/s of each kind's runs and, in brackets, the median of the rounds' "
        "ratios of the app's req/s to the baseline's right after it: the 2 cores are shared and "
        "their speed changes by tens of per cent within minutes, which a ratio of neighbouring runs "
        "cancels. The targets judge those ratios. *CPU speed* (machine table): the baseline's p50 "
        "one request at a time (wrk as for *p50 uncached*) for the `/api/artists/?limit=50` bytes, "
        "i.e. Django and gunicorn answering fixed bytes without the database, to compare the "
        "machines (and how busy they were) of two runs: the app's times scale with it."
    )


def write_doc(results: dict[str, Any]) -> str:
    runs, facts, settings = results["runs"], results["facts"], results["settings"]
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
        *(f"| {key} | {value} |" for key, value in _machine(facts, runs)),
        "",
        "## How the reads are measured",
        "",
        "gunicorn, 2 sync workers, DEBUG off, local-memory cache, persistent database "
        "connections. *p50 uncached*: wrk `" + " ".join(settings["serial"]) + "` after 1 s of "
        "warm-up, with `API_RESPONSE_CACHE=0`, i.e. the server's time for one request at a time. "
        "*baseline*: bench/baseline_app.py, a separate one-file Django project with only "
        "`SecurityMiddleware` and `CommonMiddleware` under the same gunicorn settings, answering "
        "the bytes and headers captured from each URL. " + _load_method(settings) + " Each data "
        f"set: `bench.seed.seed(days=…, artists=…)`, {settings['releases_per_day']} releases a "
        "day, then `VACUUM ANALYZE`.",
        "",
    ]
    for run in runs:
        lines += _dataset_table(run)
    lines += _targets(runs)
    lines += _sync_section(results["syncs"])
    return "\n".join(lines)


def main() -> None:
    if set(sys.argv[1:]) - {"--doc-only"}:
        # Anything else (`--help` included) would otherwise start the whole run.
        sys.exit(f"usage: bench/run.py [--doc-only]\n\n{__doc__}")
    if "--doc-only" not in sys.argv:
        wrk = _ensure_wrk()
        # The pages name their CSS and scripts through the manifest that DEBUG off needs.
        _manage("collectstatic", "--noinput", env=_env())
        facts = {"load_at_start": _load_average()}
        runs = [bench_reads(wrk, days, artists) for days, artists in DATASETS]
        facts["load_after_api"] = _load_average()
        results = {
            "runs": runs,
            "facts": facts,
            "syncs": bench_sync(),
            "settings": {
                "serial": SERIAL_ARGS,
                "load": LOAD_ARGS,
                "warm_up": WARM_UP_ARGS,
                "rounds": ROUNDS,
                "releases_per_day": RELEASES_PER_DAY,
            },
        }
        RAW.write_text(json.dumps(results, indent=2, default=str) + "\n")
    text = write_doc(json.loads(RAW.read_text()))
    analysis = ROOT / "bench" / "analysis.md"
    if analysis.exists():
        text += "\n" + analysis.read_text()
    DOC.write_text(text)
    print(f"Wrote {DOC}")


if __name__ == "__main__":
    main()

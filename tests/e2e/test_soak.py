"""Soak: concurrent API load on loopback while syncs run back to back with faults switched on in
the fake. Expect no 5xx from our API, no answer mixing two syncs, and the last good snapshot always
served. SOAK_SECONDS sets the length (CI: 10 s; `make soak`: 60 s); SOAK_REPORT, if set, is a
file the figures are written to as JSON."""

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import count, cycle
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection

from catalog.models import SyncRun
from catalog.services import sync_run_execute
from tests.e2e.conftest import FakeServer

pytestmark = pytest.mark.django_db(transaction=True)

READERS = 4
# Each sync meets one of these, in turn; None is a good day.
FAULTS: list[dict[str, Any] | None] = [
    None,
    {"error_burst": 2, "error_status": 502},
    {"release_count": 60},
    {"rate_limit_requests": 1, "retry_after_seconds": 1},
    {"persistent_error_status": 500},
    {"release_count": 40},
    {"malformed_json": True},
    {"error_burst": 1, "error_status": 503},
    {"slow_seconds": 0.6, "fault_paths": ["/v1/browse/new-releases"]},
]
CLEAR: dict[str, Any] = {
    "error_burst": 0,
    "rate_limit_requests": 0,
    "persistent_error_status": None,
    "malformed_json": False,
    "slow_seconds": 0.0,
    "fault_paths": [],
}


@dataclass
class Figures:
    seconds: float = 0.0
    requests: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    server_errors: int = 0
    inconsistent: int = 0
    stale_after_failure: int = 0
    syncs_succeeded: int = 0
    syncs_failed: int = 0
    # Each distinct failure reason, with how many runs failed so.
    sync_errors: dict[str, int] = field(default_factory=dict)
    crashes: list[str] = field(default_factory=list)


def test_soak(fake_spotify: FakeServer, live_server: Any, settings: Any):
    seconds = float(os.environ.get("SOAK_SECONDS", "10"))
    settings.SPOTIFY_TIMEOUT_SECONDS = 0.3  # the slow fault (0.6 s) times out
    references: dict[str, list[Any]] = {}  # fetched_at -> the items that sync stored
    last_good: list[str] = []
    answers: list[dict[str, Any]] = []
    statuses: Counter[int] = Counter()
    figures = Figures()
    lock = threading.Lock()
    stop = threading.Event()
    unique = count()

    def reference(http: httpx.Client) -> dict[str, Any]:
        body: dict[str, Any] = http.get(f"/api/artists/?limit=200&ref={next(unique)}").json()
        return body

    def syncs() -> None:
        try:
            with httpx.Client(base_url=live_server.url, timeout=10) as http:
                for fault in cycle(FAULTS):
                    if stop.is_set():
                        return
                    fake_spotify.configure(**{**CLEAR, **(fault or {})})
                    run = sync_run_execute(trigger=SyncRun.Trigger.SCHEDULE)
                    body = reference(http)
                    with lock:
                        if run.status == SyncRun.Status.SUCCEEDED:
                            figures.syncs_succeeded += 1
                            references[body["snapshot"]["fetched_at"]] = body["items"]
                            last_good.append(body["snapshot"]["fetched_at"])
                        else:
                            figures.syncs_failed += 1
                            reason = run.error[:100]
                            figures.sync_errors[reason] = figures.sync_errors.get(reason, 0) + 1
                            # No data lost: a failed sync leaves the last good snapshot served.
                            if body["snapshot"]["fetched_at"] != last_good[-1]:
                                figures.stale_after_failure += 1
        except Exception as error:
            figures.crashes.append(f"syncs: {error!r}")
            raise
        finally:
            fake_spotify.configure(**CLEAR)
            connection.close()

    def reader(number: int) -> None:
        paths = cycle(
            [
                "/api/artists/?limit=200",  # cached between syncs
                "/api/artists/?limit=200&r={n}",  # a miss: read from the database
                "/api/artists/?limit=7&offset=3&r={n}",
                "/api/health/",
                "/api/artists/?limit=-1",  # bad input: 422
            ]
        )
        with httpx.Client(base_url=live_server.url, timeout=10) as http:
            try:
                read(http, paths)
            except Exception as error:
                figures.crashes.append(f"reader {number}: {error!r}")
                raise

    def read(http: httpx.Client, paths: Iterator[str]) -> None:
        for path in paths:
            if stop.is_set():
                return
            response = http.get(path.format(n=next(unique)))
            with lock:
                statuses[response.status_code] += 1
                if path.startswith("/api/artists/?limit=200"):
                    answers.append(response.json())

    first = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    assert first.status == SyncRun.Status.SUCCEEDED, first.error
    with httpx.Client(base_url=live_server.url) as http:
        body = reference(http)
    references[body["snapshot"]["fetched_at"]] = body["items"]
    last_good.append(body["snapshot"]["fetched_at"])

    started = time.monotonic()
    threads = [threading.Thread(target=reader, args=(n,)) for n in range(READERS)]
    threads.append(threading.Thread(target=syncs))
    for thread in threads:
        thread.start()
    time.sleep(seconds)  # the soak's length, not a wait for a result
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    figures.seconds = round(time.monotonic() - started, 1)

    figures.statuses = {str(status): n for status, n in sorted(statuses.items())}
    figures.requests = sum(statuses.values())
    figures.server_errors = sum(n for status, n in statuses.items() if status >= 500)
    figures.inconsistent = sum(
        1
        for answer in answers
        if references.get(answer["snapshot"]["fetched_at"]) != answer["items"]
        or answer["count"] != len(answer["items"])
    )
    print(f"\nSOAK {json.dumps(asdict(figures))}")
    if report := os.environ.get("SOAK_REPORT"):
        Path(report).write_text(json.dumps(asdict(figures), indent=2) + "\n")

    assert figures.server_errors == 0, figures
    assert figures.inconsistent == 0, figures
    assert figures.stale_after_failure == 0, figures
    assert set(figures.statuses) <= {"200", "304", "422"}, figures
    assert figures.crashes == [], figures
    assert figures.syncs_succeeded >= 1, figures
    assert figures.syncs_failed >= 1, figures
    assert figures.requests > 0

"""Concurrency against the real PostgreSQL, with real threads: triggers firing together make one
sync, and API answers never mix two syncs."""

import threading
import time
from collections.abc import Callable
from io import StringIO
from itertools import count
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from catalog import selectors
from catalog.models import SyncRun
from catalog.services import sync_run_execute
from catalog.tasks import sync_new_releases
from tests.e2e.conftest import FakeServer

pytestmark = pytest.mark.django_db(transaction=True)


def in_threads(*work: Callable[[], Any]) -> list[Any]:
    """Starts every callable at the same moment, each on its own thread and database session."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)

    def run(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def cli() -> str:
    call_command("sync_releases", stdout=StringIO())
    return "cli done"


def test_scheduler_refresh_now_and_cli_at_the_same_moment_make_exactly_one_sync(
    fake_spotify: FakeServer,
):
    # A slow first page keeps the winner inside the sync while the others knock.
    fake_spotify.configure(slow_seconds=1.0, fault_paths=["/v1/browse/new-releases"])

    results = in_threads(
        lambda: sync_new_releases(SyncRun.Trigger.SCHEDULE),
        lambda: sync_new_releases(SyncRun.Trigger.MANUAL),
        cli,
    )

    runs = list(SyncRun.objects.order_by("pk"))
    assert len(runs) == 3, results
    assert [run.status for run in runs].count(SyncRun.Status.SUCCEEDED) == 1
    skipped = [run for run in runs if run.status == SyncRun.Status.SKIPPED]
    assert len(skipped) == 2
    assert {run.error for run in skipped} == {"Another sync is already running"}
    assert {run.trigger for run in runs} == {"schedule", "manual", "cli"}
    # The CLI says so too, when it is the one turned away.
    cli_result = results[2]
    if isinstance(cli_result, CommandError):
        assert str(cli_result) == "Sync skipped: Another sync is already running"
    else:
        assert cli_result == "cli done"
    assert fake_spotify.calls("GET /v1/browse/new-releases") == 1


# The listings that name their snapshot; each answer must be one sync's, whole.
LISTINGS = ["/api/artists/?limit=200", "/api/releases/?limit=200"]


def test_api_answers_never_mix_two_syncs(
    fake_spotify: FakeServer, live_server: Any, monkeypatch: pytest.MonkeyPatch
):
    """Syncs replace today's snapshot with alternately 20 and 40 releases while threads read the
    listings; every answer must equal the reference answer of the sync it names."""
    release_list = selectors.release_list

    def release_list_under_load(**kwargs: Any) -> Any:
        # A loaded server: time passes between the snapshot's lookup and its page's queries,
        # the window in which a sync may commit.
        time.sleep(0.02)
        return release_list(**kwargs)

    monkeypatch.setattr(selectors, "release_list", release_list_under_load)
    references: dict[tuple[str, str], list[Any]] = {}
    answers: list[tuple[str, dict[str, Any]]] = []
    failures: list[str] = []
    stop = threading.Event()
    unique = count()

    def syncs() -> None:
        try:
            with httpx.Client(base_url=live_server.url) as http:
                for round_ in range(12):
                    fake_spotify.configure(release_count=20 if round_ % 2 else 40)
                    run = sync_run_execute(trigger=SyncRun.Trigger.SCHEDULE)
                    if run.status != SyncRun.Status.SUCCEEDED:
                        failures.append(f"sync {run.status}: {run.error}")
                        continue
                    # No other writer now: these answers are the sync's references.
                    for listing in LISTINGS:
                        body = http.get(f"{listing}&ref={next(unique)}").json()
                        references[listing, body["snapshot"]["fetched_at"]] = body["items"]
        finally:
            stop.set()
            connection.close()

    def reader(listing: str) -> None:
        with httpx.Client(base_url=live_server.url) as http:
            while not stop.is_set():
                # A unique parameter defeats the response cache: the view reads the database.
                response = http.get(f"{listing}&r={next(unique)}")
                if response.status_code != 200:
                    failures.append(f"{response.status_code}: {response.text[:200]}")
                    continue
                answers.append((listing, response.json()))

    assert sync_run_execute(trigger=SyncRun.Trigger.CLI).status == SyncRun.Status.SUCCEEDED
    readers = [threading.Thread(target=reader, args=(LISTINGS[n % 2],)) for n in range(4)]
    writer = threading.Thread(target=syncs)
    for thread in [*readers, writer]:
        thread.start()
    for thread in [writer, *readers]:
        thread.join(timeout=120)

    assert failures == []
    during = [
        (listing, body)
        for listing, body in answers
        if (listing, body["snapshot"]["fetched_at"]) in references
    ]
    assert len(during) > 20, "the readers hardly overlapped the syncs"
    for listing, body in during:
        assert body["count"] == len(body["items"]), listing
        assert body["items"] == references[listing, body["snapshot"]["fetched_at"]], listing

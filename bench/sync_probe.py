"""One sync against a fake Spotify, measured from inside its own process: wall time, Spotify
calls, SQL statements (every statement the sync sends, via connection.execute_wrapper) and
peak RSS. Prints one JSON line. Run by bench/run.py as `python -m bench.sync_probe [--fresh]`."""

import json
import resource
import sys
from collections.abc import Callable
from time import perf_counter
from typing import Any

import django


def main(fresh: bool) -> dict[str, Any]:
    django.setup()
    from django.db import connection

    from catalog.models import SyncRun
    from catalog.services import sync_run_execute

    if fresh:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE catalog_track, catalog_snapshotentry, catalog_snapshot, "
                "catalog_releaseartist, catalog_release, catalog_artist, catalog_syncrun, "
                "spotify_apptoken CASCADE"
            )
    statements = 0

    def count(execute: Callable[..., Any], *args: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(*args)

    started = perf_counter()
    with connection.execute_wrapper(count):
        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
    wall = perf_counter() - started
    return {
        "status": run.status,
        "error": run.error,
        "releases": run.release_count,
        "new_releases": run.new_release_count,
        "artists": run.artist_count,
        "wall_seconds": round(wall, 2),
        "spotify_calls": run.spotify_calls,
        "sql_statements": statements,
        # Linux reports kilobytes.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    print(json.dumps(main(fresh="--fresh" in sys.argv)))

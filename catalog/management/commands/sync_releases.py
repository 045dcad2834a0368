from typing import Any

from django.core.management.base import BaseCommand, CommandError

from catalog.models import SyncRun
from catalog.selectors import sync_runs_of_sync
from catalog.services import sync_run_execute


class Command(BaseCommand):
    help = "Fetch Spotify's new releases now and store them as today's snapshot (one per market)."

    def handle(self, *args: Any, **options: Any) -> None:
        runs = sync_runs_of_sync(run=sync_run_execute(trigger=SyncRun.Trigger.CLI))
        failed = []
        for run in runs:
            # One line per market; a single market (or the global list) keeps the plain line.
            market = f"{run.market}: " if len(runs) > 1 else ""
            if run.status != SyncRun.Status.SUCCEEDED:
                failed.append(f"{market}Sync {run.status}: {run.error}")
                continue
            self.stdout.write(
                f"{market}Synced {run.release_count} releases and {run.artist_count} artists "
                f"(releases: {run.new_release_count} new, {run.updated_release_count} updated; "
                f"artists: {run.new_artist_count} new, {run.updated_artist_count} updated) "
                f"with {run.spotify_calls} Spotify calls in {run.duration_seconds:.1f} s"
            )
        if failed:
            raise CommandError("; ".join(failed))

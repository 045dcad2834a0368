from typing import Any

from django.core.management.base import BaseCommand, CommandError

from catalog.models import SyncRun
from catalog.services import sync_run_execute


class Command(BaseCommand):
    help = "Fetch Spotify's new releases now and store them as today's snapshot."

    def handle(self, *args: Any, **options: Any) -> None:
        run = sync_run_execute(trigger=SyncRun.Trigger.CLI)
        if run.status != SyncRun.Status.SUCCEEDED:
            raise CommandError(f"Sync {run.status}: {run.error}")
        self.stdout.write(
            f"Synced {run.release_count} releases and {run.artist_count} artists "
            f"(releases: {run.new_release_count} new, {run.updated_release_count} updated; "
            f"artists: {run.new_artist_count} new, {run.updated_artist_count} updated) "
            f"with {run.spotify_calls} Spotify calls in {run.duration_seconds:.1f} s"
        )

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from catalog.housekeeping import housekeeping_run


class Command(BaseCommand):
    help = (
        "Prune old sync runs, webhook deliveries, task failures, expired sessions, and snapshots "
        "older than SNAPSHOT_RETENTION_DAYS with what only they referenced; print the counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would go; delete nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        counts = housekeeping_run(now=timezone.now(), dry_run=options["dry_run"])
        verb = "Would remove" if options["dry_run"] else "Removed"
        self.stdout.write(f"{verb}: {counts}")

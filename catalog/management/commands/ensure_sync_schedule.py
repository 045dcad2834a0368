from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from catalog.dashboard_selectors import SYNC_SCHEDULE_NAME
from catalog.scheduling import sync_schedule_ensure


class Command(BaseCommand):
    help = (
        f"Create or update the recurring '{SYNC_SCHEDULE_NAME}' django-q2 schedule "
        "(every SYNC_INTERVAL_MINUTES). Safe to run on every deploy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--minutes", type=int, default=None, help="Override SYNC_INTERVAL_MINUTES."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            schedule, change = sync_schedule_ensure(minutes=options["minutes"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        next_run = timezone.localtime(schedule.next_run) if schedule.next_run else None
        self.stdout.write(
            f"Schedule '{SYNC_SCHEDULE_NAME}' {change}: every {schedule.minutes} minutes, "
            f"next run {next_run:%Y-%m-%d %H:%M %Z}"
            if next_run
            else f"Schedule '{SYNC_SCHEDULE_NAME}' {change}: every {schedule.minutes} minutes"
        )

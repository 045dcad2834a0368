from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django_q.models import Schedule

from catalog.scheduling import (
    HOUSEKEEPING_SCHEDULE_NAME,
    NOTIFICATION_DIGESTS_SCHEDULE_NAME,
    ScheduleChange,
    housekeeping_schedule_ensure,
    notification_digests_schedule_ensure,
    sync_schedule_ensure,
)
from catalog.selectors import SYNC_SCHEDULE_NAME


class Command(BaseCommand):
    help = (
        f"Create or update the recurring '{SYNC_SCHEDULE_NAME}' django-q2 schedule "
        f"(every SYNC_INTERVAL_MINUTES), the daily '{HOUSEKEEPING_SCHEDULE_NAME}' one and the "
        f"daily '{NOTIFICATION_DIGESTS_SCHEDULE_NAME}' one (at NOTIFY_DIGEST_TIME). "
        "Safe to run on every deploy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--minutes", type=int, default=None, help="Override SYNC_INTERVAL_MINUTES."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sync = sync_schedule_ensure(minutes=options["minutes"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        self._report(*sync, every=f"every {sync[0].minutes} minutes")
        self._report(*housekeeping_schedule_ensure(), every="daily")
        self._report(*notification_digests_schedule_ensure(), every="daily")

    def _report(self, schedule: Schedule, change: ScheduleChange, *, every: str) -> None:
        next_run = timezone.localtime(schedule.next_run) if schedule.next_run else None
        self.stdout.write(
            f"Schedule '{schedule.name}' {change}: {every}, next run {next_run:%Y-%m-%d %H:%M %Z}"
            if next_run
            else f"Schedule '{schedule.name}' {change}: {every}"
        )

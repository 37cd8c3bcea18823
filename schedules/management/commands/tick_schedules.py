"""`manage.py tick_schedules`: create the due runs of repeating broadcasts now (the workers do it by themselves)."""

from django.core.management.base import BaseCommand

from schedules import runs
from schedules.tasks import schedule_tick


class Command(BaseCommand):
    help = "Create the due runs of repeating broadcasts now, and make sure the workers' tick is scheduled."

    def handle(self, *args, **options):
        counts = runs.tick()
        schedule_tick()
        self.stdout.write(
            f"Runs created: {counts['created']}, skipped: {counts['skipped']}, not sent: {counts['refused']}."
        )

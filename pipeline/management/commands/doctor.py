import sys

from django.core.management.base import BaseCommand

from pipeline.doctor import doctor_format, doctor_run


class Command(BaseCommand):
    help = (
        "Check what the pipeline relies on: broker reachable, visibility timeout vs the longest "
        "step, encryption key, audit triggers, FFmpeg, writable folders, expired leases, "
        "scripts, workers, beat. "
        "Exits 1 when a check fails."
    )

    def handle(self, *args, **options):
        results = doctor_run()
        for result in results:
            self.stdout.write(doctor_format(result))
        if not all(ok for _, ok, _ in results):
            sys.exit(1)

"""`manage.py compliance_report --channel ID --from DATE --to DATE --format csv|json|html`: the
evidence, per video published or cancelled in the period, that a person reviewed what went out
(reviews/compliance.py). Printed to standard output; --output writes a file instead."""

import datetime as dt
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from channels_app.models import Channel
from reviews.compliance import FORMATS, compliance_records, compliance_render


def _day(value, flag):
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{flag}: expected a date like 2026-03-01, got {value!r}") from None


class Command(BaseCommand):
    help = "The compliance report of one channel for a period (dates in UTC, --to included)."

    def add_arguments(self, parser):
        parser.add_argument("--channel", required=True, help="the channel's id")
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--format", dest="fmt", choices=FORMATS, default="csv")
        parser.add_argument("--output", help="write the report to this file")

    def handle(self, *args, channel, start, end, fmt, output, **options):
        first, last = _day(start, "--from"), _day(end, "--to")
        if last < first:
            raise CommandError(f"--to {last} is before --from {first}")
        found = Channel.objects.filter(pk=channel).first()
        if found is None:
            raise CommandError(f"--channel {channel}: no such channel")
        since = dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC)
        until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
        records = compliance_records(channel=found, start=since, end=until)
        text = compliance_render(records, fmt=fmt, channel=found, start=since, end=until)
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stdout.write(f"{len(records)} videos written to {output}")
        else:
            self.stdout.write(text, ending="")

"""manage.py setup_notion_board CHANNEL [--fix]: check a channel's Notion board against the layout
the sync needs (its columns and properties: pipeline.integrations.notion_board) and, with --fix,
add what the Notion API allows adding."""

from django.core.management.base import BaseCommand, CommandError

from channels_app.selectors import UnknownChannel, channel_get
from pipeline.integrations.notion_board import notion_board_check
from pipeline.integrations.notion_client import NotionError


class Command(BaseCommand):
    help = "Check a channel's Notion board layout; --fix adds missing properties and options."

    def add_arguments(self, parser):
        parser.add_argument("channel", help="channel id (its file in channel_configs/)")
        parser.add_argument(
            "--fix", action="store_true", help="add missing properties and select options"
        )

    def handle(self, *args, channel, fix, **options):
        try:
            channel_row = channel_get(channel)
        except UnknownChannel as error:
            raise CommandError(str(error)) from None
        try:
            report = notion_board_check(channel=channel_row, fix=fix)
        except NotionError as error:
            raise CommandError(str(error)) from None
        self.report(report)
        if not report.ok:
            raise CommandError(
                f"the board of {channel} has {len(report.problems)} problem(s); fix them in "
                "Notion" + ("" if fix else " or run again with --fix")
            )

    def report(self, report):
        self.stdout.write(f"{report.channel_id}: data source {report.data_source_id}")
        for message in report.fixed:
            self.stdout.write(self.style.SUCCESS(f"fixed: {message}"))
        for problem in report.problems:
            fixable = " (--fix adds it)" if problem.fixable else ""
            self.stdout.write(self.style.ERROR(f"problem: {problem.message}{fixable}"))
        if report.ok:
            self.stdout.write(self.style.SUCCESS("the board matches the layout"))

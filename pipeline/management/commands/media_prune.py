from django.core.management.base import BaseCommand

from pipeline.retention import media_prune


class Command(BaseCommand):
    help = (
        "Delete the media of published or cancelled videos past their channel's retention "
        "(intermediates first, then finals); --dry-run prints what would be freed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="print what would be freed, change nothing"
        )

    def handle(self, *args, dry_run, **options):
        plan = media_prune(dry_run=dry_run)
        verb = "would free" if dry_run else "freed"
        for item in plan:
            self.stdout.write(
                f"task {item.task.pk} ({item.task.channel_id}): {item.kind}: "
                f"{len(item.keys)} files, {_size(item.bytes)} {verb}"
            )
        total = sum(item.bytes for item in plan)
        files = sum(len(item.keys) for item in plan)
        self.stdout.write(f"{'dry run: ' if dry_run else ''}{files} files, {_size(total)} {verb}")


def _size(count):
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"

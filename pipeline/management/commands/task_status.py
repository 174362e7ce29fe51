import time
import uuid

from django.core.management.base import BaseCommand, CommandError

from pipeline.models import VideoTask
from pipeline.selectors import task_cost, task_progress, task_waits_for_person

SHORT_ID_MIN = 6


def _is_uuid(text):
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def load_task(task_id):
    """The task of a full id, or of the short id the admin shows (its first hex digits, at least
    SHORT_ID_MIN of them) when exactly one task starts with it."""
    text = str(task_id).strip().lower()
    if not _is_uuid(text):
        if len(text) < SHORT_ID_MIN or any(c not in "0123456789abcdef-" for c in text):
            raise CommandError(
                f"{task_id!r} is not a task id: give the id (a UUID) or its first "
                f"{SHORT_ID_MIN} or more characters, as the admin shows them"
            )
        matches = list(
            VideoTask.objects.filter(pk__startswith=text).values_list("pk", flat=True)[:2]
        )
        if len(matches) != 1:
            which = "no task" if not matches else "more than one task"
            raise CommandError(f"{which} has an id starting with {text}; give more of the id")
        text = str(matches[0])
    try:
        return VideoTask.objects.select_related("channel").get(pk=text)
    except VideoTask.DoesNotExist as error:
        raise CommandError(f"no task with id {task_id}") from error


def progress_line(task):
    parts = [f"{step} {done}/{total}" for step, (done, total) in task_progress(task).items()]
    waiting = f" (waiting: {task.waiting_reason})" if task.waiting_reason else ""
    return f"{task.get_status_display():<22}{waiting} {' · '.join(parts)}  ${task_cost(task):.2f}"


def task_settled(task):
    """Nothing will move without a person (pipeline.selectors.task_waits_for_person)."""
    return task_waits_for_person(task)


class Command(BaseCommand):
    help = "Show a task: timeline, current step, per-scene progress and cost so far."

    def add_arguments(self, parser):
        parser.add_argument("task_id")
        parser.add_argument("--follow", action="store_true", help="show progress until it settles")
        parser.add_argument("--interval", type=float, default=2.0)

    def handle(self, *args, task_id, follow=False, interval=2.0, **options):
        task = load_task(task_id)
        if follow:
            last = None
            while True:
                task.refresh_from_db()
                line = progress_line(task)
                if line != last:
                    self.stdout.write(line)
                    last = line
                if task_settled(task):
                    break
                time.sleep(interval)
        self._show(task)

    def _show(self, task):
        write = self.stdout.write
        write(f"task      {task.pk}")
        write(f"title     {task.title}")
        write(f"channel   {task.channel_id}")
        status = task.get_status_display() + (" (cancelled)" if task.cancelled_at else "")
        write(f"status    {status}")
        if task.waiting_reason:
            write(f"waiting   {task.waiting_reason} until {task.next_attempt_at:%Y-%m-%d %H:%M %Z}")
        write(f"cost      ${task_cost(task):.4f}")
        write("progress")
        for step, (done, total) in task_progress(task).items():
            write(f"  {step:<11}{done}/{total}")
        failed = task.work_items.exclude(error="")
        for item in failed:
            where = f"{item.step}/{item.unit} ({item.state}, {item.attempts} attempts)"
            write(f"  ! {where}: {item.error}")
        write("timeline")
        for event in task.events.all():
            reason = f"  {event.reason}" if event.reason else ""
            write(
                f"  {event.created_at:%Y-%m-%d %H:%M:%S}  {event.from_status} -> {event.to_status}"
                f"  [{event.actor}]{reason}"
            )
        if task.error_log:
            write("error log")
            for line in task.error_log.splitlines():
                write(f"  {line}")
        video = getattr(task, "video", None)
        if video is not None:
            write(f"video     {video.final_path}")
            if video.youtube_url:
                write(f"youtube   {video.youtube_url}")

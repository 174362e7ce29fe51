"""`make demo`: the whole product on a fresh machine with only Python 3.11.

Embedded default (no PostgreSQL, no Redis, no API keys): migrate the SQLite database, load the
channel configs, start a real Celery worker on the serverless (filesystem) broker, have the
writer draft a storyboard from a topic (scripts/generate_storyboard.py, local provider), queue it
and run it with the local provider through steps 1-6 to final review, print the finished MP4 and
how to approve it, then serve the admin on 127.0.0.1:8000 (PORT changes the port; SERVE=0 stops
after printing the commands that serve it later).
"""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
# The hand-written example storyboard (the precise way to start a video) names the channel.
SAMPLE = BASE_DIR / "pipeline" / "sample_storyboards" / "bulbasaur.yaml"
DEMO_TOPIC = "the secret life of Bulbasaur"
DEMO_DIRECTION = "from the first light in the forest to the bulb opening at dusk"
DEMO_TIMEOUT_SECONDS = 900


def say(text=""):
    print(text, flush=True)


def start_worker(log_path):
    command = [
        sys.executable, "-m", "celery", "-A", "videogen", "worker",
        "--pool", "threads", "--concurrency", "6", "--queues", "control,units",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel", "WARNING", "--hostname", f"demo-{os.getpid()}@%h",
    ]  # fmt: skip
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(  # noqa: S603
        command, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop_worker(worker):
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def demo_user(data_dir):
    from django.contrib.auth import get_user_model

    password_file = data_dir / "demo_password"
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(12))
        password_file.chmod(0o600)
    password = password_file.read_text().strip()
    user, _ = get_user_model().objects.get_or_create(username="demo", defaults={"is_staff": True})
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return "demo", password


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("LOG_FORMAT", "console")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from channels_app.models import Channel
    from core.text.storyboard import storyboard_parse
    from costs.selectors import VideoCosts, video_cost_breakdown
    from pipeline.drafting import task_draft_create
    from pipeline.management.commands.task_status import progress_line, task_settled
    from pipeline.paths import draft_storyboard
    from pipeline.status import Status

    started = time.monotonic()
    say(f"videogen demo: database {settings.DATABASES['default']['NAME']}, "
        f"broker {settings.CELERY_BROKER_URL}, workspace {settings.WORKSPACE_ROOT}")  # fmt: skip
    call_command("migrate", verbosity=0)
    say("database migrated")
    call_command("sync_channels")
    storyboard = storyboard_parse(SAMPLE.read_text(), source=str(SAMPLE.relative_to(BASE_DIR)))
    channel = Channel.objects.get(pk=storyboard["channel"])
    worker_log = Path(settings.DATA_DIR) / "demo-worker.log"
    worker = start_worker(worker_log)
    say(f"celery worker started (pid {worker.pid}, log {worker_log})")
    try:
        task = task_draft_create(
            channel=channel,
            topic=DEMO_TOPIC,
            direction=DEMO_DIRECTION,
            queue=True,
            actor="make demo",
        )
        say(f"task {task.pk}: the writer drafts '{DEMO_TOPIC}' on channel {channel.id}, then "
            "it is queued (provider: local)")  # fmt: skip
        last = None
        deadline = time.monotonic() + DEMO_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            task.refresh_from_db()
            line = progress_line(task)
            if line != last:
                say(f"  [{time.monotonic() - started:6.1f}s] {line}")
                last = line
            if task_settled(task):
                break
            if worker.poll() is not None:
                say(f"the worker stopped (exit {worker.returncode}); see {worker_log}")
                return 1
            time.sleep(1)
        if task.status != Status.FINAL_REVIEW:
            say(f"the demo video did not reach final review: {task.get_status_display()}")
            say(task.error_log or f"(no error logged; see {worker_log})")
            return 1
        say()
        say(f"drafted storyboard: '{task.title}', {len(task.storyboard['scenes'])} scenes "
            f"({draft_storyboard(task.channel_id, str(task.pk))})")  # fmt: skip
        say(f"finished video: {task.video.final_path}")
        say(f"  {task.video.duration_seconds:.1f} s, {task.video.size_bytes / 1e6:.1f} MB")
        say(f"demo wall time: {time.monotonic() - started:.1f} s")
        books = video_cost_breakdown([task.pk]).get(task.pk, VideoCosts())
        say(f"cost: ${books.total:.2f} (local provider); would cost ${books.would_be:.2f} for real")
        username, password = demo_user(Path(settings.DATA_DIR))
        say("approve it (it then 'publishes' through the local upload provider):")
        say(f"  .venv/bin/python manage.py review approve {task.pk} --as {username}")
        say("  (or reject it with a redo: review reject ... --notes '...' --redo-step videos)")
        # runserver with DEBUG off serves no static files; WhiteNoise serves the collected ones.
        # Collected now, so the admin is styled whether it is served now or later.
        call_command("collectstatic", interactive=False, verbosity=0)
        address = f"127.0.0.1:{os.environ.get('PORT') or '8000'}"
        if os.environ.get("SERVE", "1") == "0":
            say()
            password_file = Path(settings.DATA_DIR) / "demo_password"
            say(f"admin login: {username} / {password}  (the password is kept in {password_file})")
            say("SERVE=0: stopping here. To serve the admin later, run these three, each in its "
                "own terminal: the admin, a worker (so an approval or a redo goes on) and beat "
                "(the schedules: reconciler, watchdog, quota reset):")  # fmt: skip
            say(f"  .venv/bin/python manage.py runserver {address} --noreload")
            say("  .venv/bin/celery -A videogen worker --pool threads --queues control,units")
            say("  .venv/bin/celery -A videogen beat -S videogen.beat:Scheduler")
            say(f"  then open http://{address}/admin/review/{task.pk}/")
            say(f"  (its health: http://{address}/health)")
            return 0
        say()
        say(f"admin: http://{address}/admin/  login {username} / {password}  (Ctrl-C stops)")
        server = subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "runserver", address, "--noreload"],
            cwd=BASE_DIR,
            check=False,
        )
        return server.returncode
    except KeyboardInterrupt:
        return 0
    finally:
        stop_worker(worker)


if __name__ == "__main__":
    sys.exit(main())

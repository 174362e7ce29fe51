"""Control-room render times with production-sized tables.

Seeds 10,000 tasks (with their work items) and 200,000 cost rows into a PostgreSQL database of
its own, then renders each page 10 times through Django's test client and prints the median.
Goal: the review queue, the task changelist and the spend page under 300 ms each.

Run: .venv/bin/python bench/admin.py. Uses BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/videogen_bench), created and dropped here.
"""

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/videogen_bench")
TASKS = 10_000
COSTS = 200_000
CHANNELS = 10
REQUESTS = 10
GOAL_MS = 300


def database(action):
    import psycopg

    admin_url = DB_URL.rsplit("/", 1)[0] + "/postgres"
    name = DB_URL.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if action == "create":
            conn.execute(f'CREATE DATABASE "{name}"')


def seed():
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from channels_app.models import Channel
    from costs.models import VideoCost
    from pipeline.models import VideoTask, WorkItem, WorkState
    from pipeline.status import Status
    from tests.factories import SAMPLE_STORYBOARD

    channels = Channel.objects.bulk_create(
        Channel(
            id=f"bench{n}",
            name=f"Bench channel {n}",
            budget_daily_usd=Decimal(50),
            budget_weekly_usd=Decimal(300),
            review_gates=["assets", "video"] if n % 2 else [],
            timezone=["UTC", "America/New_York", "Europe/Paris"][n % 3],
        )
        for n in range(CHANNELS)
    )
    statuses = list(Status)
    now = timezone.now()
    tasks = VideoTask.objects.bulk_create(
        (
            VideoTask(
                channel=channels[n % CHANNELS],
                title=f"Bench video {n}",
                storyboard=SAMPLE_STORYBOARD,
                # A fifth of them wait at final review: a long queue is the hard case.
                status=Status.FINAL_REVIEW if n % 5 == 0 else statuses[n % len(statuses)],
                status_changed_at=now - dt.timedelta(minutes=n),
            )
            for n in range(TASKS)
        ),
        batch_size=2000,
    )
    units = [("assets", "bulbasaur"), ("assets", "forest"), ("composites", "s01")]
    units += [("videos", "s01"), ("audio", "s01"), ("sfx", "s01")]
    WorkItem.objects.bulk_create(
        (
            WorkItem(
                task=task,
                step=step,
                unit=unit,
                script="bench",
                provider="local",
                output_path="/dev/null",
                state=WorkState.DONE if (n + index) % 3 else WorkState.PENDING,
            )
            for n, task in enumerate(tasks)
            for index, (step, unit) in enumerate(units)
        ),
        batch_size=5000,
    )
    components = ["image", "composite", "video", "narration", "sfx"]
    per_task = COSTS // TASKS
    VideoCost.objects.bulk_create(
        (
            VideoCost(
                task=task,
                channel_id=task.channel_id,
                work_item=None,
                attempt=k + 1,
                component=components[k % len(components)],
                # A tenth of the videos are rehearsals (local, $0, a would-be price); one paid
                # call in 20 failed after paying (wasted).
                provider="local" if n % 10 == 0 else "kie",
                units=Decimal(5),
                unit_name="clip_seconds",
                usd=Decimal(0) if n % 10 == 0 else Decimal("0.35"),
                would_be_usd=Decimal("0.35"),
                outcome="failed" if (n + k) % 20 == 0 and n % 10 else "ok",
            )
            for n, task in enumerate(tasks)
            for k in range(per_task)
        ),
        batch_size=5000,
    )
    # Spread the costs over the last 30 days, as a month of production would.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE costs_videocost SET created_at = now() - (id % 43200) * interval '1 minute'"
        )
        cursor.execute("ANALYZE")
    return get_user_model().objects.create_superuser("bench", "bench@example.com", "bench")


def measure(client, url):
    client.get(url)  # warm-up: template loading, first-connection costs
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(timings)


def main():
    database("create")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            {
                "DATABASE_URL": DB_URL,
                "DJANGO_SECRET_KEY": "bench-secret-key",
                "FIELD_ENCRYPTION_KEY": "bench-salt",
                "VIDEOGEN_DATA_DIR": tmp,
                "WORKSPACE_ROOT": str(Path(tmp) / "workspace"),
                "LOG_LEVEL": "WARNING",
            }
        )
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections
        from django.test import Client
        from django.urls import reverse

        try:
            call_command("migrate", verbosity=0)
            started = time.perf_counter()
            user = seed()
            print(
                f"seeded {TASKS} tasks, {TASKS * 6} work items, {COSTS} cost rows "
                f"in {time.perf_counter() - started:.1f} s"
            )
            client = Client()
            client.force_login(user)
            pages = [
                ("review queue", reverse("reviews:queue"), True),
                ("task changelist", reverse("admin:pipeline_videotask_changelist"), True),
                ("cost changelist", reverse("admin:costs_videocost_changelist"), False),
                ("spend", reverse("spend"), True),
                ("dashboard", reverse("dashboard"), False),
            ]
            print(f"median of {REQUESTS} requests (goal < {GOAL_MS} ms where marked):")
            failed = False
            for label, url, with_goal in pages:
                median = measure(client, url)
                verdict = ""
                if with_goal:
                    verdict = "ok" if median < GOAL_MS else "OVER GOAL"
                    failed |= median >= GOAL_MS
                print(f"  {label:<16} {median:7.1f} ms  {verdict}")
        finally:
            connections.close_all()
            database("drop")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The Procfile starts the four processes of design.md after a release step, and its worker
consumes every queue that settings route tasks to (a task routed to a queue nobody consumes
would wait forever)."""

import shlex

from django.conf import settings


def _processes():
    lines = (settings.BASE_DIR / "Procfile").read_text().splitlines()
    pairs = (line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {name: command.strip() for name, command in pairs}


def test_it_declares_a_release_step_then_web_worker_beat_and_flower():
    processes = _processes()

    assert set(processes) == {"release", "web", "worker", "beat", "flower"}
    # Migrating (and the channel files, when opted in) only: the static files are collected at
    # build (the image) or by `make run`; a release step's files would land in a container
    # thrown away after it.
    assert processes["release"] == "python manage.py release"
    assert processes["web"].split()[:2] == ["gunicorn", "videogen.wsgi"]
    assert processes["beat"].split()[:5] == ["celery", "-A", "videogen", "beat", "-S"]


def test_it_runs_the_worker_with_threads_and_prefetch_one():
    worker = shlex.split(_processes()["worker"])

    assert worker[:4] == ["celery", "-A", "videogen", "worker"]
    assert worker[worker.index("--pool") + 1] == "threads"
    assert worker[worker.index("--prefetch-multiplier") + 1] == "1"


def test_it_makes_the_worker_consume_every_routed_queue():
    worker = shlex.split(_processes()["worker"])
    consumed = set(worker[worker.index("-Q") + 1].split(","))

    routed = {route["queue"] for route in getattr(settings, "CELERY_TASK_ROUTES", {}).values()}
    default = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    assert routed | {default} <= consumed

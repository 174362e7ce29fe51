"""Flower listens on 127.0.0.1 unless told otherwise, refuses any other address without basic
auth, and the Celery configuration it shows (a worker's `inspect conf`) holds no secret."""

import base64
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.faults.servers import free_port
from videogen.flower_access import FlowerAccessError, flower_access_check, is_loopback

CELERY = Path(sys.executable).parent / "celery"


def _flower(tmp_path, *arguments, **variables):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("FLOWER_")}
    environment.update(VIDEOGEN_DATA_DIR=str(tmp_path), **variables)
    return subprocess.Popen(  # noqa: S603
        [CELERY, "-A", "videogen", "flower", *arguments],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _status(url, credentials=None, timeout=20.0):
    """The HTTP status of url once Flower answers (401 is an answer)."""
    request = urllib.request.Request(url)
    if credentials:
        token = base64.b64encode(credentials.encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def stop():
    started = []
    yield started.append
    for process in started:
        process.terminate()
        process.communicate(timeout=20)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_it_counts_loopback_addresses_as_local(address):
    assert is_loopback(address)


@pytest.mark.parametrize("address", ["", "0.0.0.0", "::", "10.0.0.5", "flower.example.com"])
def test_it_refuses_any_other_address_without_basic_auth(address):
    with pytest.raises(FlowerAccessError, match="FLOWER_BASIC_AUTH=user:password"):
        flower_access_check(address=address, basic_auth=[], oauth=None)


def test_it_allows_any_address_behind_basic_auth():
    flower_access_check(address="0.0.0.0", basic_auth=["ops:pass"], oauth=None)


@pytest.mark.parametrize(
    "arguments, variables",
    [
        (["--address=0.0.0.0"], {}),
        ([], {"FLOWER_ADDRESS": "0.0.0.0"}),
        ([], {"FLOWER_ADDRESS": ""}),
    ],
    ids=["--address", "FLOWER_ADDRESS", "every interface"],
)
def test_it_refuses_to_start_on_a_non_loopback_address_without_auth(tmp_path, arguments, variables):
    flower = _flower(tmp_path, f"--port={free_port()}", *arguments, **variables)
    stdout, stderr = flower.communicate(timeout=60)

    assert flower.returncode != 0
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("videogen: Flower refuses to listen on ")
    assert "FLOWER_BASIC_AUTH" in stderr


def test_it_listens_on_loopback_only_by_default(tmp_path, stop):
    port = free_port()
    stop(flower := _flower(tmp_path, f"--port={port}"))

    assert _status(f"http://127.0.0.1:{port}/healthcheck") == 200
    listening = subprocess.run(
        ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    local_addresses = {line.split()[3] for line in listening.splitlines()}
    assert local_addresses == {f"127.0.0.1:{port}"}
    assert flower.poll() is None


def test_it_asks_for_the_password_from_the_auth_file_on_every_interface(tmp_path, stop):
    secret = tmp_path / "flower_auth"
    secret.write_text("ops:a-long-flower-password\n")
    port = free_port()
    stop(
        _flower(tmp_path, f"--port={port}", "--address=0.0.0.0", FLOWER_BASIC_AUTH_FILE=str(secret))
    )

    assert _status(f"http://127.0.0.1:{port}/") == 401
    assert _status(f"http://127.0.0.1:{port}/", "ops:wrong") == 401
    assert _status(f"http://127.0.0.1:{port}/", "ops:a-long-flower-password") == 200


def test_it_refuses_an_unreadable_auth_file_naming_the_variable(tmp_path):
    flower = _flower(
        tmp_path, f"--port={free_port()}", FLOWER_BASIC_AUTH_FILE=str(tmp_path / "missing")
    )
    _, stderr = flower.communicate(timeout=60)

    assert flower.returncode != 0 and "Traceback" not in stderr
    assert "FLOWER_BASIC_AUTH_FILE: cannot read" in stderr.strip().splitlines()[-1]


SECRETS = {
    "DISCORD_WEBHOOK_URL": "https://discord.com/api/webhooks/1/discord-secret-token",
    "NOTION_TOKEN": "ntn_notion-secret-token",
    "REDIS_URL": "redis://:redis-secret-password@127.0.0.1:6379/11",
    "DATABASE_URL": "postgres://videogen:pg-secret-password@127.0.0.1:5432/videogen",
    "DJANGO_SECRET_KEY": "django-secret-key-value",
    "FIELD_ENCRYPTION_KEY": "field-secret-salt",
}
# What must not show: the secret part of each value (a URL's host may show).
SECRET_PARTS = {
    "DISCORD_WEBHOOK_URL": "discord-secret-token",
    "NOTION_TOKEN": "ntn_notion-secret-token",
    "REDIS_URL": "redis-secret-password",
    "DATABASE_URL": "pg-secret-password",
    "DJANGO_SECRET_KEY": "django-secret-key-value",
    "FIELD_ENCRYPTION_KEY": "field-secret-salt",
}
SHOW_CONF = """
import base64
import json
from videogen.celery import app
print(json.dumps(app.conf.table(with_defaults=False, censored=True), default=repr))
"""


def test_it_keeps_every_secret_out_of_the_configuration_flower_shows(tmp_path):
    environment = {**os.environ, "VIDEOGEN_DATA_DIR": str(tmp_path), **SECRETS}
    result = subprocess.run(
        [sys.executable, "-c", SHOW_CONF],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    table = json.loads(result.stdout)

    assert table["task_default_queue"] == "control"  # Celery's own names, read from settings
    assert table["broker_url"] == "redis://:********@127.0.0.1:6379/11"
    for name, secret in SECRET_PARTS.items():
        assert secret not in result.stdout, name
    assert not any(key.isupper() for key in table), "Django settings leaked into Celery's"


@pytest.mark.django_db
def test_it_labels_a_unit_message_with_its_video_step_and_unit(
    broker, django_capture_on_commit_callbacks
):
    from pipeline.dispatch import dispatch_unit
    from pipeline.models import WorkItem
    from tests.factories import VideoTaskFactory

    task = VideoTaskFactory()
    item = WorkItem.objects.create(
        task=task, step="videos", unit="s02", script="generate_video", provider="local",
        output_path="/tmp/out.mp4",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_unit(item.pk)

    message = json.loads(broker.lpop("units"))
    headers = message["headers"]
    assert headers["task"] == "pipeline.run_unit"
    assert headers["argsrepr"] == f"item={item.pk} video={task.pk} step=videos unit=s02"
    assert headers["kwargsrepr"] == "{}"
    args, kwargs, _ = json.loads(base64.b64decode(message["body"]))
    assert (args, kwargs) == ([item.pk], {})


@pytest.mark.django_db(transaction=True)
def test_it_shows_no_secret_in_a_running_workers_configuration(pipeline_env, worker):
    """What Flower's worker Config tab displays: the worker's answer to `inspect conf`."""
    from videogen.celery import app

    pipeline_env["DISCORD_WEBHOOK_URL"] = SECRETS["DISCORD_WEBHOOK_URL"]
    pipeline_env["NOTION_TOKEN"] = SECRETS["NOTION_TOKEN"]
    worker.start(concurrency=1)

    replies = app.control.inspect(timeout=10).conf()

    assert replies and len(replies) == 1, replies
    shown = json.dumps(replies)
    assert '"task_default_queue": "control"' in shown
    assert SECRET_PARTS["DISCORD_WEBHOOK_URL"] not in shown
    assert SECRET_PARTS["NOTION_TOKEN"] not in shown
    assert "DISCORD_WEBHOOK_URL" not in shown and "NOTION_TOKEN" not in shown

"""Pushing tasks to their cards: created once, coalesced, archived when cancelled."""

import os
import time

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from channels_app.models import NotionPush
from pipeline.integrations import notion_push as push_module
from pipeline.integrations.notion_push import notion_push, notion_push_pending, notion_push_request
from pipeline.models import VideoTask
from pipeline.transitions import task_transition
from tests.factories import VideoTaskFactory
from tests.pipeline.conftest import Worker, wait_for

REAL_ENQUEUE = push_module._enqueue  # before any test replaces it with a recorder
BURST = [
    "queued", "claimed", "generating_assets", "assets_ready", "generating_composites",
    "composites_ready", "generating_video", "video_ready", "generating_audio", "audio_ready",
]  # fmt: skip


def test_a_task_created_outside_notion_gets_its_page_once(board, notion):
    channel, data_source_id = board
    task = VideoTaskFactory(channel=channel, status="queued", error_log="waiting for budget")
    notion_push_request(task.pk)

    assert notion_push(task.pk) == "pushed"
    task.refresh_from_db()
    page = notion.pages[task.notion_page_id]
    assert notion.value(page["id"], "Task ID") == str(task.pk)
    assert notion.value(page["id"], "Status") == "Queued"
    assert notion.value(page["id"], "Channel") == "pokechannel1"
    assert notion.value(page["id"], "Error Log") == "waiting for budget"
    assert notion.value(page["id"], "Review Link") == (
        f"{settings.SITE_URL}/admin/review/{task.pk}/"
    )
    assert notion.value(page["id"], "Progress") == 0 and notion.value(page["id"], "Cost") == 0

    notion_push_request(task.pk)
    assert notion_push(task.pk) == "pushed"
    assert notion.creates == 1 and notion.updates[page["id"]] == 1


def test_a_crash_between_creating_the_page_and_saving_its_id_makes_no_second_card(board, notion):
    channel, data_source_id = board
    task = VideoTaskFactory(channel=channel, status="queued")
    # The page was created, then the pusher died before saving its id.
    page_id = notion.add_card(data_source_id, title=task.title, task_id=str(task.pk))
    notion_push_request(task.pk)

    assert notion_push(task.pk) == "pushed"

    task.refresh_from_db()
    assert task.notion_page_id == page_id
    assert notion.creates == 0 and len(notion.pages) == 1
    assert notion.value(page_id, "Status") == "Queued"


def test_a_clean_push_does_nothing(board, notion):
    channel, _ = board
    task = VideoTaskFactory(channel=channel, status="queued")
    notion_push_request(task.pk)
    notion_push(task.pk)
    requests = len(notion.requests)

    assert notion_push(task.pk) == "clean"
    assert len(notion.requests) == requests


def test_a_cancelled_task_has_its_page_archived_by_the_sweep(board, notion, enqueued):
    channel, data_source_id = board
    task = VideoTaskFactory(channel=channel, status="generating_video")
    page_id = notion.add_card(data_source_id, title=task.title, status="Generating Video")
    VideoTask.objects.filter(pk=task.pk).update(notion_page_id=page_id, cancelled_at=timezone.now())

    assert notion_push_pending() == 1  # task_cancel sends no change notice; the sweep covers it
    assert enqueued == [task.pk]
    assert notion_push(task.pk) == "pushed"

    assert notion.pages[page_id]["in_trash"] is True
    assert "in_trash" in notion.writes("PATCH", page_id)[-1].json
    assert NotionPush.objects.get(task=task).pushed_status == "archived"
    assert notion_push_pending() == 0


def test_a_rejected_property_is_recorded_with_page_and_property(board, notion):
    channel, data_source_id = board
    del notion.schemas[data_source_id]["Progress"]
    task = VideoTaskFactory(channel=channel, status="queued")
    page_id = notion.add_card(data_source_id, title=task.title, task_id=str(task.pk))
    VideoTask.objects.filter(pk=task.pk).update(notion_page_id=page_id)
    notion_push_request(task.pk)

    assert notion_push(task.pk) == "failed"

    push = NotionPush.objects.get(task=task)
    assert push.last_error.startswith(
        f"Notion rejected updating page {page_id} of task {task.pk} (channel pokechannel1) "
        "property 'Progress' (400 validation_error): Progress is not a property that exists"
    )
    assert push.lease_expires_at > timezone.now()  # retried after a backoff, not at once
    assert push.pushed_version is None and push.attempts == 1


@pytest.fixture
def notion_worker(notion, token, transactional_db, tmp_path):
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "NOTION_API_BASE": notion.url,
            "NOTION_TOKEN": token,
            "NOTION_REQUESTS_PER_SECOND": "50",
            "LOG_LEVEL": "INFO",  # the fixture waits for the worker's "ready." line
        }
    )
    worker = Worker(env, tmp_path).start(concurrency=4)
    yield worker
    worker.stop()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_burst_of_ten_transitions_makes_at_most_two_page_updates(
    board, notion, notion_worker, monkeypatch
):
    channel, data_source_id = board
    task = VideoTaskFactory(channel=channel, status="draft")
    page_id = notion.add_card(data_source_id, title=task.title, status="Draft")
    VideoTask.objects.filter(pk=task.pk).update(notion_page_id=page_id)
    monkeypatch.setattr(push_module, "_enqueue", REAL_ENQUEUE)  # real messages to the worker

    for status in BURST:
        task = task_transition(task=task, to=status, reason="burst")

    wait_for(
        lambda: notion.value(page_id, "Status") == "Audio Ready",
        timeout=20,
        describe=lambda: f"page shows {notion.value(page_id, 'Status')}; {notion_worker.log()}",
    )
    time.sleep(3)  # any straggling message would land by now
    assert 1 <= notion.updates[page_id] <= 2
    assert notion.value(page_id, "Status") == "Audio Ready"
    push = NotionPush.objects.get(task=task)
    assert push.pushed_version == push.requested_at and push.pushed_status == "Audio Ready"

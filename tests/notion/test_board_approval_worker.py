"""Approving from the board on the real stack: the poll (this process) approves, a Celery worker
process on Redis and PostgreSQL uploads (the local provider) and pushes the card to the fake
Notion; the move seen twice publishes once."""

import shutil
import uuid

import pytest
from django.contrib.auth.models import Permission

from channels_app.models import NotionPush
from core.models import AuditLog
from pipeline import paths
from pipeline.integrations.notion_intake import notion_poll_channel
from pipeline.integrations.notion_push import notion_push
from pipeline.models import TaskEvent, Video, VideoTask, WorkItem
from pipeline.status import Status
from reviews.models import NotionUser, Review
from tests.factories import ChannelFactory, UserFactory, VideoTaskFactory
from tests.pipeline.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def notion_for_worker(notion, token, pipeline_env):
    """The fake board, reachable from the worker process too."""
    pipeline_env.update(
        {
            "NOTION_API_BASE": notion.url,
            "NOTION_TOKEN": token,
            "NOTION_REQUESTS_PER_SECOND": "50",
        }
    )
    return notion


def _card_at_final_review(notion, fake_media):
    database_id, data_source_id = notion.add_board()
    channel = ChannelFactory(
        id="pokechannel1", notion_database_id=database_id, review_gates=[], max_concurrent=5
    )
    task = VideoTaskFactory(channel=channel, status=Status.FINAL_REVIEW)
    final = paths.final_video(channel.pk, str(task.pk))
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(fake_media / "template.mp4", final)
    Video.objects.create(task=task, final_path=str(final), size_bytes=final.stat().st_size)
    page_id = notion.add_card(data_source_id, title=task.title, status="Queued")
    VideoTask.objects.filter(pk=task.pk).update(notion_page_id=page_id)
    NotionPush.objects.create(task=task, requested_at=task.created_at)
    assert notion_push(task.pk) == "pushed"
    assert notion.value(page_id, "Status") == "Final Review"
    return task, page_id


def _describe(task, worker, notion, page_id):
    task = VideoTask.objects.get(pk=task.pk)
    card = notion.value(page_id, "Status")
    return f"status={task.status} card={card} log={task.error_log!r}\n{worker.log()[-3000:]}"


def test_approving_from_the_board_publishes_the_video_once_though_the_poll_sees_it_twice(
    notion_for_worker, worker, fake_media
):
    notion = notion_for_worker
    task, page_id = _card_at_final_review(notion, fake_media)
    alice = UserFactory(username="alice")
    alice.user_permissions.add(Permission.objects.get(codename="can_review"))
    alice_in_notion = str(uuid.uuid4())
    NotionUser.objects.create(notion_user_id=alice_in_notion.replace("-", ""), user=alice)
    worker.start()

    notion.move_card(page_id, "Approved", by=alice_in_notion)
    first = notion_poll_channel(channel_id=task.channel_id)
    second = notion_poll_channel(channel_id=task.channel_id)  # the same move, seen again

    def done():
        published = VideoTask.objects.get(pk=task.pk).status == Status.PUBLISHED
        return published and notion.value(page_id, "Status") == "Published"

    wait_for(done, timeout=60, describe=lambda: _describe(task, worker, notion, page_id))
    third = notion_poll_channel(channel_id=task.channel_id)

    assert first.acted == [page_id]
    assert second.acted == [] and second.moved_back == []
    assert third.acted == [] and third.moved_back == []
    review = Review.objects.get(task=task)
    assert review.reviewer == alice and review.notes.startswith("via Notion")
    audit = AuditLog.objects.get(task=task, action="review_approved")
    assert audit.actor == "alice" and "via Notion" in audit.notes
    assert not AuditLog.objects.filter(task=task, action="notion_move_refused").exists()
    path = [event.to_status for event in TaskEvent.objects.filter(task=task).order_by("id")]
    assert path == [Status.APPROVED, Status.UPLOADING, Status.PUBLISHED]
    assert WorkItem.objects.get(task=task, step="upload").attempts == 1
    published = sorted(p.name for p in paths.published_dir(task.channel_id).iterdir())
    assert published == [f"{task.pk}.json", f"{task.pk}.mp4"]
    assert notion.value(page_id, "Error Log") == ""

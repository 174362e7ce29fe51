"""Cards moved by hand: the database wins."""

from channels_app.models import NotionPush
from pipeline.integrations.notion_intake import notion_poll_channel
from pipeline.integrations.notion_push import notion_push
from pipeline.models import VideoTask
from tests.factories import VideoTaskFactory


def _task_on_card(channel, notion, data_source_id, status):
    task = VideoTaskFactory(channel=channel, status=status)
    page_id = notion.add_card(data_source_id, title=task.title, status="Queued")
    VideoTask.objects.filter(pk=task.pk).update(notion_page_id=page_id)
    NotionPush.objects.create(task=task, requested_at=task.created_at)
    assert notion_push(task.pk) == "pushed"
    assert notion.value(page_id, "Status") == "Generating Video"
    return task, page_id


def test_a_card_moved_by_hand_to_published_while_generating_is_moved_back(board, notion):
    channel, data_source_id = board
    task, page_id = _task_on_card(channel, notion, data_source_id, "generating_video")

    notion.move_card(page_id, "Published")
    result = notion_poll_channel(channel_id=channel.id)

    assert result.moved_back == [page_id]
    assert notion.value(page_id, "Status") == "Generating Video"
    log = notion.value(page_id, "Error Log")
    assert log.startswith("Moved back to 'Generating Video': the card was moved by hand to")
    assert f"/admin/review/{task.pk}/" in log
    task.refresh_from_db()
    assert task.status == "generating_video" and task.cancelled_at is None
    # Seen again in the overlap minute, the corrected card is left alone.
    assert notion_poll_channel(channel_id=channel.id).moved_back == []


def test_a_card_moved_to_draft_cancels_nothing_and_says_so(board, notion):
    channel, data_source_id = board
    task, page_id = _task_on_card(channel, notion, data_source_id, "generating_video")

    notion.move_card(page_id, "Draft")
    notion_poll_channel(channel_id=channel.id)

    assert notion.value(page_id, "Status") == "Generating Video"
    log = notion.value(page_id, "Error Log")
    assert log.startswith("Moving this card to Draft cancels nothing")
    task.refresh_from_db()
    assert task.cancelled_at is None and task.status == "generating_video"


def test_a_card_showing_our_last_push_is_stale_not_moved(board, notion):
    channel, data_source_id = board
    task, page_id = _task_on_card(channel, notion, data_source_id, "generating_video")
    VideoTask.objects.filter(pk=task.pk).update(status="video_ready")  # push not yet done

    result = notion_poll_channel(channel_id=channel.id)

    assert result.moved_back == []
    assert notion.value(page_id, "Error Log") == ""
    push = NotionPush.objects.get(task=task)  # a push is requested instead
    assert push.requested_at > push.pushed_version

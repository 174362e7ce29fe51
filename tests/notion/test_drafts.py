"""A Notion card in Draft with a Topic and no storyboard: the writer drafts one (the shipped
generate_storyboard.py, --provider local, run as a unit of work), the push writes it into the
card's body as a YAML code block, the card stays in Draft, and moving it to Queued produces the
task from the body as a person edited it."""

import pytest
import yaml

from core.text.storyboard import storyboard_parse
from pipeline.integrations.notion_intake import notion_poll_channel
from pipeline.integrations.notion_push import notion_push
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.status import Status
from pipeline.units import unit_run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def writer_board(board, workspace):
    channel, data_source_id = board
    channel.providers = {**channel.providers, "text": "local"}
    channel.brief = {**(channel.brief or {}), "scene_count": 12}
    channel.save()
    return channel, data_source_id


def draft_and_push(task):
    """What the worker does for the draft unit, then the card's push (its message recorded)."""
    item = WorkItem.objects.get(task=task, step="draft")
    assert unit_run(item.pk) == "done", WorkItem.objects.get(pk=item.pk).error
    assert notion_push(task.pk) == "pushed"
    task.refresh_from_db()
    return task


def test_a_draft_card_with_only_a_topic_gets_a_storyboard_in_its_body_and_stays_in_draft(
    writer_board, notion
):
    channel, data_source_id = writer_board
    page_id = notion.add_card(
        data_source_id, title="Axolotls", topic="the secret life of axolotls",
        direction="end on the regrowing of a limb",
    )  # fmt: skip

    result = notion_poll_channel(channel_id=channel.id)

    task = VideoTask.objects.get()
    assert result.drafting == [str(task.pk)] and result.created == []
    assert (task.status, task.notion_page_id, task.storyboard) == (Status.DRAFT, page_id, {})
    assert task.topic == "the secret life of axolotls"
    assert task.story_direction == "end on the regrowing of a limb"

    task = draft_and_push(task)

    [text] = notion.code_blocks(page_id)
    assert storyboard_parse(text, source="card") == storyboard_parse(
        yaml.safe_dump(task.storyboard), source="task"
    )
    assert "axolotl" in text.lower()
    assert notion.value(page_id, "Status") == "Draft"
    assert notion.value(page_id, "Task ID") == str(task.pk)
    # A 12-scene storyboard is longer than one rich-text object may hold (2,000 UTF-16 units).
    [block] = [b for b in notion.blocks[page_id] if b["type"] == "code"]
    assert len(block["code"]["rich_text"]) > 1

    # Pushed again, polled again: still one block, still one task.
    notion_push(task.pk)
    notion_poll_channel(channel_id=channel.id)
    assert len(notion.code_blocks(page_id)) == 1
    assert VideoTask.objects.count() == 1


def test_moving_the_drafted_card_to_queued_produces_the_task_from_the_edited_body(
    writer_board, notion
):
    channel, data_source_id = writer_board
    page_id = notion.add_card(data_source_id, title="Axolotls", topic="axolotls")
    notion_poll_channel(channel_id=channel.id)
    task = draft_and_push(VideoTask.objects.get())
    [text] = notion.code_blocks(page_id)
    edited = yaml.safe_load(text)
    edited["title"] = "Axolotls: the Forever Young"
    edited["scenes"][0]["motion"] = "a slow push in on the gills"
    notion.edit_code_block(page_id, yaml.safe_dump(edited, sort_keys=False))

    notion.move_card(page_id, "Queued")
    result = notion_poll_channel(channel_id=channel.id)

    task.refresh_from_db()
    assert result.queued == [str(task.pk)]
    assert task.status == Status.QUEUED
    assert task.title == "Axolotls: the Forever Young"
    assert task.storyboard["scenes"][0]["motion"] == "a slow push in on the gills"


def test_a_draft_card_with_its_own_storyboard_block_is_left_alone(
    writer_board, notion, storyboard_yaml
):
    channel, data_source_id = writer_board
    notion.add_card(data_source_id, title="Mine", topic="axolotls", storyboard=storyboard_yaml)

    result = notion_poll_channel(channel_id=channel.id)

    assert result.drafting == [] and not VideoTask.objects.exists()


def test_a_draft_card_without_a_topic_is_left_alone(writer_board, notion):
    channel, data_source_id = writer_board
    notion.add_card(data_source_id, title="Just an idea")

    assert notion_poll_channel(channel_id=channel.id).drafting == []
    assert not VideoTask.objects.exists()


def test_a_topic_too_long_is_refused_on_the_card_once(writer_board, notion):
    channel, data_source_id = writer_board
    page_id = notion.add_card(data_source_id, title="Long", topic="axolotl " * 200)

    notion_poll_channel(channel_id=channel.id)
    log = notion.value(page_id, "Error Log")
    assert log.startswith("Not drafted: the draft was not created:")
    assert "topic: at most 1000 characters" in log
    updates = notion.updates[page_id]
    notion_poll_channel(channel_id=channel.id)  # it sees its own edit: says nothing new
    assert notion.updates[page_id] == updates
    assert not VideoTask.objects.exists()


def test_a_failed_draft_leaves_the_card_in_draft_with_the_error(writer_board, notion, settings):
    channel, data_source_id = writer_board
    page_id = notion.add_card(data_source_id, title="Axolotls", topic="axolotls")
    notion_poll_channel(channel_id=channel.id)
    task = VideoTask.objects.get()
    VideoTask.objects.filter(pk=task.pk).update(draft_scenes=40)  # the writer refuses: exit 65

    item = WorkItem.objects.get(task=task, step="draft")
    assert unit_run(item.pk) == "failed"
    notion_push(task.pk)

    task.refresh_from_db()
    assert WorkItem.objects.get(pk=item.pk).state == WorkState.FAILED
    assert task.status == Status.DRAFT
    assert "generate_storyboard exited 65" in task.error_log
    assert "--scenes must be 4-18" in task.error_log
    assert notion.value(page_id, "Status") == "Draft"
    assert "generate_storyboard exited 65" in notion.value(page_id, "Error Log")
    assert notion.code_blocks(page_id) == []

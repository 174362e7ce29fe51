"""Issue 15's done-when on the real stack (a Celery worker, Redis, PostgreSQL, the fake Notion):
a card in Draft with only a Topic gets a storyboard in its body, a person edits it there, moves
the card to Queued, and the video is made from the edited body, to final review."""

import pytest
import yaml

from pipeline.integrations.notion_intake import notion_poll_channel
from pipeline.models import VideoTask, WorkItem
from pipeline.status import Status
from tests.factories import ChannelFactory
from tests.pipeline.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LOCAL = {"image": "local", "video": "local", "voice": "local", "upload": "local", "text": "local"}


def describe(worker, notion):
    tasks = list(VideoTask.objects.values_list("status", "error_log"))
    items = list(WorkItem.objects.values_list("step", "unit", "state", "error"))
    return f"tasks={tasks} items={items} notion={notion.problems}\n{worker.log()[-3000:]}"


def test_a_topic_card_is_drafted_edited_on_the_card_queued_and_made(
    pipeline_env, worker, calls, notion, token
):
    database_id, data_source_id = notion.add_board()
    channel = ChannelFactory(
        id="pokechannel1", notion_database_id=database_id, review_gates=[], max_concurrent=5,
        providers=LOCAL, brief={"scene_count": 4, "clip_seconds": 5},
    )  # fmt: skip
    pipeline_env.update(
        {"NOTION_API_BASE": notion.url, "NOTION_TOKEN": token, "NOTION_REQUESTS_PER_SECOND": "50"}
    )
    worker.start()
    page_id = notion.add_card(data_source_id, title="Axolotls", topic="the secret life of axolotls")

    notion_poll_channel(channel_id=channel.id)
    wait_for(lambda: notion.code_blocks(page_id), timeout=90, interval=0.5,
             describe=lambda: describe(worker, notion))  # fmt: skip

    task = VideoTask.objects.get()
    assert task.status == Status.DRAFT
    assert notion.value(page_id, "Status") == "Draft"
    [text] = notion.code_blocks(page_id)
    edited = yaml.safe_load(text)
    edited["scenes"][0]["narration"] = "Edited on the card: the axolotl smiles."
    notion.edit_code_block(page_id, yaml.safe_dump(edited, sort_keys=False, allow_unicode=True))
    notion.move_card(page_id, "Queued")

    result = notion_poll_channel(channel_id=channel.id)

    assert result.queued == [str(task.pk)]
    wait_for(
        lambda: VideoTask.objects.get(pk=task.pk).status == Status.FINAL_REVIEW,
        timeout=150,
        interval=0.5,
        describe=lambda: describe(worker, notion),
    )
    task.refresh_from_db()
    assert task.storyboard["scenes"][0]["narration"] == "Edited on the card: the axolotl smiles."
    narrations = [e["args"] for e in calls.entries()
                  if e["script"] == "generate_audio" and e["event"] == "start"]  # fmt: skip
    texts = [args[args.index("--text") + 1] for args in narrations]
    assert "Edited on the card: the axolotl smiles." in texts
    assert len(notion.code_blocks(page_id)) == 1

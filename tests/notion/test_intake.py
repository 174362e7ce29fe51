"""Poll and intake: Queued cards with a storyboard become exactly one task."""

import threading

import pytest

from channels_app.models import NotionBoard
from pipeline.integrations.notion_intake import notion_poll_channel
from pipeline.models import VideoTask


def test_it_turns_a_queued_card_into_exactly_one_task_even_when_polled_twice(
    board, notion, storyboard_yaml
):
    channel, data_source_id = board
    page_id = notion.add_card(
        data_source_id, title="Bulbasaur", status="Queued", storyboard=storyboard_yaml
    )

    first = notion_poll_channel(channel_id=channel.id)
    second = notion_poll_channel(channel_id=channel.id)

    task = VideoTask.objects.get()
    assert task.notion_page_id == page_id
    assert task.status == "queued"
    assert task.storyboard["scenes"][0]["id"] == "s01"
    assert first.created == [str(task.pk)] and second.created == []
    # The second poll asked only for pages edited since the cursor.
    queries = notion.writes("POST", "/query")
    assert "filter" not in queries[0].json
    since = queries[1].json["filter"]["last_edited_time"]["on_or_after"]
    cursor = NotionBoard.objects.get(channel=channel).poll_cursor
    assert since <= cursor.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_it_reads_every_result_page_of_a_large_board(board, notion, storyboard_yaml):
    channel, data_source_id = board
    for number in range(130):
        notion.add_card(data_source_id, title=f"old card {number}", status="Published")
    notion.add_card(data_source_id, title="Bulbasaur", status="Queued", storyboard=storyboard_yaml)

    result = notion_poll_channel(channel_id=channel.id)

    assert result.seen == 131
    assert len(result.created) == 1
    assert [q.json.get("start_cursor") is not None for q in notion.writes("POST", "/query")] == [
        False,
        True,
    ]


@pytest.mark.django_db(transaction=True)
def test_two_racing_pollers_create_one_task(board, notion, storyboard_yaml):
    channel, data_source_id = board
    page_id = notion.add_card(
        data_source_id, title="Bulbasaur", status="Queued", storyboard=storyboard_yaml
    )
    start = threading.Barrier(4)
    results, errors = [], []

    def poll():
        from django.db import connection

        try:
            start.wait()
            results.append(notion_poll_channel(channel_id=channel.id))
        except Exception as error:  # surfaced below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not errors
    assert VideoTask.objects.filter(notion_page_id=page_id).count() == 1
    assert sum(len(result.created) for result in results) == 1


def test_an_invalid_storyboard_gets_its_error_log_and_no_task(board, notion):
    channel, data_source_id = board
    broken = "title: Broken\nassets: []\nscenes:\n  - id: s01\n    composite: {environment: lake}\n"
    page_id = notion.add_card(data_source_id, title="Broken", status="Queued", storyboard=broken)
    empty_id = notion.add_card(data_source_id, title="No storyboard", status="Queued")

    result = notion_poll_channel(channel_id=channel.id)
    notion_poll_channel(channel_id=channel.id)  # nothing changes the second time

    assert not VideoTask.objects.exists()
    assert set(result.invalid) == {page_id, empty_id}
    log = notion.value(page_id, "Error Log")
    assert log.startswith("Not queued: the storyboard is invalid.")
    assert "Notion card 'Broken': scenes[0]" in log
    assert notion.value(page_id, "Status") == "Draft"
    assert "add a code block with language YAML" in notion.value(empty_id, "Error Log")
    assert notion.updates[page_id] == 1


def test_a_storyboard_naming_another_channel_is_refused(board, notion):
    channel, data_source_id = board
    from tests.notion.conftest import VALID_STORYBOARD

    page_id = notion.add_card(
        data_source_id,
        title="Elsewhere",
        status="Queued",
        storyboard=VALID_STORYBOARD.format(channel="otherchannel"),
    )

    notion_poll_channel(channel_id=channel.id)

    assert not VideoTask.objects.exists()
    assert "names channel 'otherchannel'" in notion.value(page_id, "Error Log")


# --- A draft of ours moved to Queued by hand -----------------------------------------------------


def _draft_on_card(channel, notion, data_source_id, card_storyboard=None, **fields):
    from channels_app.models import NotionPush
    from pipeline.integrations.notion_push import notion_push
    from tests.factories import VideoTaskFactory

    task = VideoTaskFactory(channel=channel, status="draft", **fields)
    page_id = notion.add_card(
        data_source_id, title=task.title, status="Draft", storyboard=card_storyboard
    )
    VideoTask.objects.filter(pk=task.pk).update(notion_page_id=page_id)
    NotionPush.objects.create(task=task, requested_at=task.created_at)
    assert notion_push(task.pk) == "pushed"
    return task, page_id


def test_a_draft_card_moved_to_queued_by_hand_queues_the_draft_once(board, notion):
    channel, data_source_id = board
    task, page_id = _draft_on_card(channel, notion, data_source_id)
    updates_before = notion.updates.get(page_id, 0)

    notion.move_card(page_id, "Queued")
    first = notion_poll_channel(channel_id=channel.id)
    second = notion_poll_channel(channel_id=channel.id)

    task.refresh_from_db()
    assert task.status == "queued"
    assert first.queued == [str(task.pk)] and first.moved_back == []
    assert second.queued == [] and second.moved_back == []
    assert task.events.filter(to_status="queued", actor="notion").count() == 1
    assert notion.value(page_id, "Status") == "Queued"
    assert notion.updates.get(page_id, 0) == updates_before  # not moved back


def test_a_draft_card_without_a_valid_storyboard_goes_back_to_draft_saying_why(board, notion):
    channel, data_source_id = board
    task, page_id = _draft_on_card(channel, notion, data_source_id, storyboard={})

    notion.move_card(page_id, "Queued")
    result = notion_poll_channel(channel_id=channel.id)

    task.refresh_from_db()
    assert task.status == "draft"
    assert result.moved_back == [page_id]
    assert notion.value(page_id, "Status") == "Draft"
    log = notion.value(page_id, "Error Log")
    assert log.startswith("Not queued: the draft's storyboard is not ready")
    assert "the storyboard is empty" in log
    assert notion_poll_channel(channel_id=channel.id).moved_back == []


def test_a_draft_is_queued_with_the_storyboard_as_edited_on_its_card(
    board, notion, storyboard_yaml
):
    channel, data_source_id = board
    edited = storyboard_yaml.replace("The Secret Life of Bulbasaur", "Bulbasaur, Edited")
    task, page_id = _draft_on_card(channel, notion, data_source_id, card_storyboard=edited)

    notion.move_card(page_id, "Queued")
    notion_poll_channel(channel_id=channel.id)

    task.refresh_from_db()
    assert task.status == "queued"
    assert task.storyboard["title"] == task.title == "Bulbasaur, Edited"


def test_a_draft_whose_card_holds_an_invalid_storyboard_stays_a_draft(
    board, notion, storyboard_yaml
):
    channel, data_source_id = board
    broken = storyboard_yaml.replace(
        "environment: forest, character", "environment: lake, character"
    )
    task, page_id = _draft_on_card(channel, notion, data_source_id, card_storyboard=broken)

    notion.move_card(page_id, "Queued")
    notion_poll_channel(channel_id=channel.id)

    task.refresh_from_db()
    assert task.status == "draft"
    assert notion.value(page_id, "Status") == "Draft"
    assert "scenes[0].composite.environment: unknown asset 'lake'" in notion.value(
        page_id, "Error Log"
    )

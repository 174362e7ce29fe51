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

"""What a card can hold and what a person can do to it, as Notion really behaves: text counted in
UTF-16 code units and split into several rich-text objects, cards trashed by hand, and a page
create that needs no schema read."""

import pytest

from channels_app.models import NotionPush
from core.models import Alert, AuditLog
from pipeline.integrations.notion_client import notion_id, rich_text
from pipeline.integrations.notion_intake import notion_poll_channel
from pipeline.integrations.notion_push import notion_push, notion_push_request
from pipeline.models import VideoTask
from tests.factories import VideoTaskFactory
from tests.fakes.notion import utf16_length


def _card_of(channel, notion, data_source_id, **fields):
    task = VideoTaskFactory(
        channel=channel, status=fields.pop("status", "generating_video"), **fields
    )
    notion_push_request(task.pk)
    assert notion_push(task.pk) == "pushed"
    task.refresh_from_db()
    return task, task.notion_page_id


def test_an_error_log_of_emoji_is_accepted_whole(board, notion):
    channel, data_source_id = board
    log = ("🔥 render failed " * 300).strip()  # 4,799 characters, 5,099 UTF-16 code units

    task, page_id = _card_of(channel, notion, data_source_id, error_log=log)

    assert NotionPush.objects.get(task=task).last_error == ""
    assert notion.value(page_id, "Error Log") == log  # split, not cut
    items = notion.pages[page_id]["properties"]["Error Log"]["rich_text"]
    assert len(items) == 3 and all(utf16_length(i["plain_text"]) <= 2000 for i in items)


def test_rich_text_splits_by_utf16_units_and_cuts_with_a_marker_beyond_100_objects():
    emoji = "😀" * 1001  # 2,002 code units: two objects, no surrogate pair broken
    items = rich_text(emoji)
    assert [len(i["text"]["content"]) for i in items] == [1000, 1]
    assert "".join(i["text"]["content"] for i in items) == emoji

    huge = rich_text("x" * 250_000)
    assert len(huge) == 100
    assert all(utf16_length(i["text"]["content"]) <= 2000 for i in huge)
    kept = sum(len(i["text"]["content"]) for i in huge[:-1]) + huge[-1]["text"]["content"].index(
        " … [cut: "
    )
    assert huge[-1]["text"]["content"].endswith(f"[cut: {250_000 - kept:,} more characters]")


def test_the_card_error_log_begins_with_the_latest_reason(board, notion):
    channel, data_source_id = board
    log = (
        "[2026-03-01 10:00:00 UTC] assets s01: Gemini answered 503; retried\n"
        "[2026-03-01 10:05:00 UTC] videos s02: KIE.ai refused the image (400 bad size)"
    )

    _, page_id = _card_of(channel, notion, data_source_id, status="video_error", error_log=log)

    shown = notion.value(page_id, "Error Log")
    assert shown.startswith("[2026-03-01 10:05:00 UTC] videos s02: KIE.ai refused the image")
    assert "Gemini answered 503" in shown


def test_a_long_title_is_quoted_at_most_about_80_characters(board, notion):
    channel, data_source_id = board
    title = "A very long working title " * 12
    page_id = notion.add_card(
        data_source_id, title=title, status="Queued", storyboard="title: x\nscenes: nope\n"
    )

    notion_poll_channel(channel_id=channel.id)

    log = notion.value(page_id, "Error Log")
    assert log.startswith("Not queued: the storyboard is invalid.")
    assert title not in log and "'A very long working title A very long" in log
    quoted = [part for part in log.split("Notion card '")[1:]]
    assert quoted and all(len(part.split("'")[0]) <= 81 for part in quoted)


def test_a_cancelled_task_trashes_its_card_with_in_trash(board, notion):
    from django.utils import timezone

    channel, data_source_id = board
    task, page_id = _card_of(channel, notion, data_source_id)
    VideoTask.objects.filter(pk=task.pk).update(cancelled_at=timezone.now())
    notion_push_request(task.pk)

    assert notion_push(task.pk) == "pushed"
    assert notion.pages[page_id]["in_trash"] is True
    assert notion.writes("PATCH", page_id)[-1].json == {"in_trash": True}


def test_a_card_trashed_by_a_person_is_recreated_once_with_a_note(board, notion):
    channel, data_source_id = board
    task, page_id = _card_of(channel, notion, data_source_id)
    notion.trash_card(page_id)
    VideoTask.objects.filter(pk=task.pk).update(status="video_ready")
    notion_push_request(task.pk)

    assert notion_push(task.pk) == "pushed"

    task.refresh_from_db()
    assert task.notion_page_id != page_id
    assert notion.pages[page_id]["in_trash"] is True
    assert notion.value(task.notion_page_id, "Status") == "Video Ready"
    assert notion.value(task.notion_page_id, "Error Log").startswith(
        "This card was trashed in Notion"
    )
    assert Alert.objects.filter(level="WARNING", key=f"notion-trashed:{task.pk}").count() == 1
    assert AuditLog.objects.filter(action="notion_card_recreated", task=task).count() == 1

    # Trashed again: the person means it. Left in the trash, no more pushes, no retry loop.
    notion.trash_card(task.notion_page_id)
    notion_push_request(task.pk)
    assert notion_push(task.pk) == "pushed"
    push = NotionPush.objects.get(task=task)
    assert push.pushed_status == "trashed" and push.last_error == ""
    requests = len(notion.requests)
    notion_push_request(task.pk)
    assert notion_push(task.pk) == "pushed"
    assert len(notion.requests) == requests
    assert notion.creates == 2


def test_a_channel_may_leave_trashed_cards_in_the_trash(board, notion, settings):
    settings.NOTION_TRASHED_CARDS = "leave"
    channel, data_source_id = board
    task, page_id = _card_of(channel, notion, data_source_id)
    notion.trash_card(page_id)
    notion_push_request(task.pk)

    assert notion_push(task.pk) == "pushed"

    assert notion.creates == 1
    assert NotionPush.objects.get(task=task).pushed_status == "trashed"
    alert = Alert.objects.get(level="WARNING", key=f"notion-trashed:{task.pk}")
    assert "left in the trash" in alert.message


def test_creating_a_card_costs_one_request_plus_the_task_id_look_up(board, notion):
    channel, data_source_id = board
    notion_poll_channel(channel_id=channel.id)  # the data source id is resolved and cached
    task = VideoTaskFactory(channel=channel, status="queued")
    notion_push_request(task.pk)
    before = len(notion.requests)

    assert notion_push(task.pk) == "pushed"

    made = [(r.method, r.path.split("/")[2]) for r in notion.requests[before:]]
    assert made == [("POST", "data_sources"), ("POST", "pages")]


def test_a_renamed_title_property_does_not_stop_card_creation(board, notion):
    channel, data_source_id = board
    notion.rename_property(data_source_id, "Title", "Name")
    task = VideoTaskFactory(channel=channel, status="queued")
    notion_push_request(task.pk)

    assert notion_push(task.pk) == "pushed"

    task.refresh_from_db()
    assert notion.value(task.notion_page_id, "Name") == task.title


@pytest.mark.parametrize(
    "written",
    [
        "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d",
        "1A2B3C4D-5E6F-7A8B-9C0D-1E2F3A4B5C6D",
        "https://www.notion.so/team/Board-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d?v=0f0e0d0c0b0a",
    ],
)
def test_a_notion_id_is_read_in_any_form_it_is_copied_in(written):
    assert notion_id(written) == "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"


def test_a_database_id_without_dashes_works_everywhere(board, notion, storyboard_yaml):
    channel, data_source_id = board
    channel.notion_database_id = channel.notion_database_id.replace("-", "").upper()
    channel.save()
    notion.add_card(data_source_id, title="Bulbasaur", status="Queued", storyboard=storyboard_yaml)

    result = notion_poll_channel(channel_id=channel.id)

    assert len(result.created) == 1
    requested = notion.requests[0].path
    assert requested == f"/v1/databases/{notion_id(channel.notion_database_id)}"


def test_a_renamed_property_fails_the_push_naming_it_and_the_board_check_finds_it(board, notion):
    from pipeline.integrations.notion_board import notion_board_check

    channel, data_source_id = board
    task, page_id = _card_of(channel, notion, data_source_id)
    notion.rename_property(data_source_id, "Error Log", "Errors")
    notion_push_request(task.pk)

    assert notion_push(task.pk) == "failed"

    push = NotionPush.objects.get(task=task)
    assert "property 'Error Log' (400 validation_error)" in push.last_error
    problems = notion_board_check(channel=channel).problems
    assert [(p.property, p.kind) for p in problems] == [("Error Log", "missing")]


def test_a_deleted_status_option_fails_the_push_naming_the_option(board, notion):
    from pipeline.integrations.notion_board import notion_board_check

    channel, data_source_id = board
    task, page_id = _card_of(channel, notion, data_source_id)
    notion.delete_option(data_source_id, "Status", "Generating Video")
    notion_push_request(task.pk)

    assert notion_push(task.pk) == "failed"

    push = NotionPush.objects.get(task=task)
    assert 'Status option "Generating Video" does not exist' in push.last_error
    assert notion.value(page_id, "Status") is None
    problems = notion_board_check(channel=channel).problems
    assert [(p.property, p.kind) for p in problems] == [("Status", "missing_options")]


def test_a_replaced_data_source_is_looked_up_again_when_notion_refuses_the_cached_one(
    board, notion
):
    from channels_app.models import NotionBoard
    from tests.fakes.notion import board_schema

    channel, old_source = board
    notion_poll_channel(channel_id=channel.id)  # caches the data source id
    database_id = next(iter(notion.databases))
    new_source = "0f0e0d0c-0b0a-4909-8807-060504030201"
    notion.databases[database_id] = [new_source]
    notion.schemas[new_source] = board_schema()
    del notion.schemas[old_source]
    task = VideoTaskFactory(channel=channel, status="queued")
    notion_push_request(task.pk)

    assert notion_push(task.pk) == "pushed"

    task.refresh_from_db()
    assert notion.pages[task.notion_page_id]["parent"]["data_source_id"] == new_source
    assert NotionBoard.objects.get(channel=channel).data_source_id == new_source

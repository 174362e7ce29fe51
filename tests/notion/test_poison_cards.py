"""One bad card fails only itself: a poll handles every card on its own, the bad one gets its
Error Log, the cards behind it are read in the same poll and the cursor moves on."""

import pytest

from channels_app.models import NotionBoard
from pipeline.integrations import notion_intake
from pipeline.integrations.notion_intake import notion_poll_channel
from pipeline.models import VideoTask

DEEP = "title: Deep\nassets: " + "[" * 5000 + "]" * 5000 + "\n"
NUL_ESCAPE = 'title: "Null \\0 byte"\n'  # YAML's "\0" escape is a NUL character


def nul_in_narration(storyboard_yaml):
    line = "narration: In the heart of the forest, something stirs."
    assert line in storyboard_yaml
    return storyboard_yaml.replace(line, 'narration: "In the heart \\0 of the forest"')


@pytest.mark.parametrize(
    "poison, expected",
    [
        ({"storyboard": DEEP}, "nested deeper than 20 levels"),
        ({"storyboard": NUL_ESCAPE}, "title: contains a NUL character"),
        ({"storyboard": "nul in narration"}, "scenes[0].narration: contains a NUL character"),
        ({"topic": "a topic with a \x00 NUL"}, "topic: contains a NUL character"),
        ({"direction": "go \x00 there"}, "direction: contains a NUL character"),
    ],
    ids=["deep nesting", "NUL in the title", "NUL in a narration", "NUL topic", "NUL direction"],
)
def test_a_poison_card_gets_its_error_log_and_the_card_behind_it_becomes_a_task_in_the_same_poll(
    board, notion, storyboard_yaml, poison, expected
):
    channel, data_source_id = board
    if poison.get("storyboard") == "nul in narration":
        poison = {"storyboard": nul_in_narration(storyboard_yaml)}
    poison = {"storyboard": storyboard_yaml, **poison}
    bad_id = notion.add_card(data_source_id, title="Poison", status="Queued", **poison)
    good_id = notion.add_card(
        data_source_id, title="Good", status="Queued", storyboard=storyboard_yaml
    )

    result = notion_poll_channel(channel_id=channel.id)

    task = VideoTask.objects.get()
    assert task.notion_page_id == good_id
    assert result.created == [str(task.pk)]
    assert result.invalid == [bad_id]
    assert expected in notion.value(bad_id, "Error Log")
    assert notion.value(bad_id, "Status") == "Draft"
    assert NotionBoard.objects.get(channel=channel).poll_cursor is not None


def test_a_card_that_fails_unforeseen_gets_its_error_log_and_does_not_stop_the_board(
    board, notion, storyboard_yaml, monkeypatch
):
    channel, data_source_id = board
    bad_id = notion.add_card(
        data_source_id, title="Unlucky", status="Queued", storyboard=storyboard_yaml
    )
    good_id = notion.add_card(
        data_source_id, title="Good", status="Queued", storyboard=storyboard_yaml
    )
    real_intake = notion_intake._intake

    def intake(channel, api, page):
        if page["id"] == bad_id:
            raise RuntimeError("something nobody foresaw")
        return real_intake(channel, api, page)

    monkeypatch.setattr(notion_intake, "_intake", intake)

    result = notion_poll_channel(channel_id=channel.id)
    again = notion_poll_channel(channel_id=channel.id)  # the same error is not written twice

    assert VideoTask.objects.get().notion_page_id == good_id
    assert "RuntimeError: something nobody foresaw" in notion.value(bad_id, "Error Log")
    assert notion.updates[bad_id] == 1
    assert any(bad_id in error for error in result.errors + again.errors)
    assert NotionBoard.objects.get(channel=channel).poll_cursor is not None


@pytest.mark.parametrize(
    "poison, expected",
    [
        ({"title": "Idea", "topic": "axo\x00lotls"}, "topic: contains a NUL character"),
        ({"title": "Id\x00ea", "topic": "axolotls"}, "title: contains a NUL character"),
    ],
    ids=["NUL topic", "NUL title"],
)
def test_a_poison_draft_card_gets_its_error_log_and_the_draft_card_behind_it_is_drafted(
    board, notion, workspace, poison, expected
):
    channel, data_source_id = board
    channel.providers = {**channel.providers, "text": "local"}
    channel.save()
    bad_id = notion.add_card(data_source_id, **poison)
    good_id = notion.add_card(data_source_id, title="Good", topic="axolotls")

    result = notion_poll_channel(channel_id=channel.id)

    task = VideoTask.objects.get()
    assert task.notion_page_id == good_id and result.drafting == [str(task.pk)]
    log = notion.value(bad_id, "Error Log")
    assert log.startswith("Not drafted: the draft was not created:") and expected in log

"""setup_notion_board: the layout check reports precisely; --fix adds what the API allows."""

import pytest
from django.core.management import CommandError, call_command

from channels_app.models import NotionBoard
from pipeline.integrations.notion_board import notion_board_check
from tests.factories import ChannelFactory


@pytest.fixture
def incomplete(notion, db):
    database_id, data_source_id = notion.add_board(
        omit_properties=("Review Link",), omit_status_options=("Asset Error", "Upload Error")
    )
    channel = ChannelFactory(id="pokechannel1", notion_database_id=database_id)
    return channel, data_source_id


def test_a_board_missing_two_options_and_one_property_is_reported_precisely(incomplete, notion):
    channel, data_source_id = incomplete

    report = notion_board_check(channel=channel)

    assert [(p.property, p.kind, p.fixable) for p in report.problems] == [
        ("Status", "missing_options", False),
        ("Review Link", "missing", True),
    ]
    assert report.problems[0].message.startswith(
        "Status: missing options 'Asset Error', 'Upload Error'; add them by hand in Notion"
    )
    assert report.problems[1].message == "Review Link: missing; expected a URL property"
    assert NotionBoard.objects.get(channel=channel).data_source_id == data_source_id
    assert not notion.writes("PATCH", "/data_sources/")


def test_fix_adds_the_property_and_leaves_status_options_to_the_operator(incomplete, notion):
    channel, data_source_id = incomplete
    notion.schemas[data_source_id]["Priority"]["select"]["options"].pop()  # "Low"
    notion.schemas[data_source_id]["Progress"] = {"id": "p", "name": "Progress", "type": "url"}

    report = notion_board_check(channel=channel, fix=True)

    schema = notion.schemas[data_source_id]
    assert schema["Review Link"]["type"] == "url"
    assert [o["name"] for o in schema["Priority"]["select"]["options"]] == [
        "High",
        "Normal",
        "Low",
    ]
    assert [(p.property, p.kind) for p in report.problems] == [
        ("Status", "missing_options"),
        ("Progress", "wrong_type"),
    ]
    assert "Progress: is a URL property, expected Number" in report.problems[1].message
    patch = notion.writes("PATCH", "/data_sources/")[0].json
    assert set(patch["properties"]) == {"Review Link", "Priority"}


def test_the_command_prints_each_problem_and_fails(incomplete, capsys):
    with pytest.raises(CommandError, match="has 2 problem"):
        call_command("setup_notion_board", "pokechannel1")
    out = capsys.readouterr().out
    assert "problem: Review Link: missing; expected a URL property (--fix adds it)" in out
    assert "problem: Status: missing options 'Asset Error', 'Upload Error'" in out


def test_the_command_passes_on_a_complete_board(notion, db, capsys):
    database_id, _ = notion.add_board()
    ChannelFactory(id="complete", notion_database_id=database_id)
    call_command("setup_notion_board", "complete")
    assert "the board matches the layout" in capsys.readouterr().out


def test_the_command_names_a_missing_database_id(db):
    ChannelFactory(id="nodb")
    expected = "channel nodb: no Notion database; set notion_database_id"
    with pytest.raises(CommandError, match=expected):
        call_command("setup_notion_board", "nodb")

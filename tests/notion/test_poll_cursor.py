"""The poll cursor: a quiet board costs one request per poll however its cards' edit times are
spread, and no edit is ever missed (Notion rounds last_edited_time down to the minute)."""

import datetime as dt

import pytest

from pipeline.integrations import notion_intake
from pipeline.integrations.notion_intake import notion_poll_channel
from pipeline.models import VideoTask


@pytest.fixture
def clock(notion, monkeypatch):
    """One clock for us and the fake Notion, moved by the test."""
    now = [dt.datetime(2026, 3, 1, 12, 0, 20, tzinfo=dt.UTC)]
    notion.clock = lambda: now[0]
    monkeypatch.setattr(notion_intake, "_now", lambda: now[0], raising=False)
    return now


def _requests_of_a_poll(notion, channel):
    before = len(notion.requests)
    notion_poll_channel(channel_id=channel.id)
    return len(notion.requests) - before


def test_a_quiet_board_of_1000_cards_edited_in_one_minute_costs_one_request_per_poll(
    board, notion, clock
):
    channel, data_source_id = board
    for number in range(1000):
        notion.add_card(data_source_id, title=f"imported card {number}", status="Published")

    counts = []
    for _ in range(9):
        counts.append(_requests_of_a_poll(notion, channel))
        clock[0] += dt.timedelta(seconds=40)

    assert counts[0] == 1 + 10  # the data source look-up, then 10 result pages of 100
    # The cursor catches up within the minute and its margin; then every poll is one request.
    assert counts[-5:] == [1, 1, 1, 1, 1]
    assert sum(counts) < 60


def test_an_edit_in_the_minute_of_the_last_poll_is_not_missed(
    board, notion, clock, storyboard_yaml
):
    channel, data_source_id = board
    notion_poll_channel(channel_id=channel.id)
    clock[0] += dt.timedelta(minutes=5)
    notion_poll_channel(channel_id=channel.id)  # at 12:05:20: the cursor moves to 12:04

    clock[0] += dt.timedelta(seconds=30)  # 12:05:50, stamped 12:05:00, before the last poll
    page_id = notion.add_card(
        data_source_id, title="Bulbasaur", status="Queued", storyboard=storyboard_yaml
    )
    clock[0] += dt.timedelta(seconds=5)
    result = notion_poll_channel(channel_id=channel.id)

    assert VideoTask.objects.get().notion_page_id == page_id
    assert len(result.created) == 1


def test_a_card_that_failed_for_a_passing_reason_holds_the_cursor(
    board, notion, clock, storyboard_yaml
):
    from tests.fakes.notion import server_error

    channel, data_source_id = board
    notion_poll_channel(channel_id=channel.id)
    page_id = notion.add_card(
        data_source_id, title="Bulbasaur", status="Queued", storyboard=storyboard_yaml
    )
    clock[0] += dt.timedelta(minutes=10)
    # The query answers; reading the card's body fails five times (every retry).
    real_route = notion._route
    failures = [server_error()] * 5

    def route(request):
        if "/children" in request.path and failures:
            return failures.pop()
        return real_route(request)

    notion._route = route
    first = notion_poll_channel(channel_id=channel.id)
    clock[0] += dt.timedelta(minutes=10)
    second = notion_poll_channel(channel_id=channel.id)

    assert first.errors and not first.created
    assert len(second.created) == 1
    assert VideoTask.objects.get().notion_page_id == page_id

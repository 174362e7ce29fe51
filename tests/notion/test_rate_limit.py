"""One Notion budget for the deployment: 3 requests/second per token, over all processes.

Burst policy (pipeline.integrations.ratelimit): a sliding window of 1.1 s holding at most 3
requests; 3 may go back to back, never a 4th within the window. So no 1-second window at Notion
ever sees more than 3."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.integrations.notion_client import NotionApi, NotionAuthError
from pipeline.integrations.ratelimit import NotionRateLimiter
from tests.fakes.notion import rate_limited, server_error

PUSHER = Path(__file__).with_name("rate_pusher.py")


def _max_in_any_second(times):
    times = sorted(times)
    return max(
        (sum(1 for other in times[i:] if other < start + 1.0) for i, start in enumerate(times)),
        default=0,
    )


def test_three_processes_pushing_45_updates_never_exceed_3_requests_per_second(
    notion, token, settings, tmp_path
):
    _, data_source_id = notion.add_board()
    pages = [notion.add_card(data_source_id, title=f"card {n}") for n in range(3)]
    processes = []
    for page_id, count in zip(pages, (15, 15, 15), strict=True):
        env = dict(os.environ)
        env.update(
            {
                "NOTION_API_BASE": notion.url,
                "NOTION_TOKEN": token,
                "NOTION_REQUESTS_PER_SECOND": "3",
                "RATE_PAGE_ID": page_id,
                "RATE_COUNT": str(count),
                "RATE_SIGNAL_DIR": str(tmp_path),
            }
        )
        processes.append(subprocess.Popen([sys.executable, str(PUSHER)], env=env))  # noqa: S603
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("ready-*"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    (tmp_path / "go").touch()
    for process in processes:
        assert process.wait(timeout=80) == 0

    times = [moment for moment, method, _ in notion.times if method == "PATCH"]
    assert len(times) == 45 and sum(notion.updates.values()) == 45
    assert _max_in_any_second(times) <= 3
    # The budget is used, not just respected: 45 requests at 3 per 1.1 s take about 15.4 s.
    assert max(times) - min(times) < 18


def test_a_429_with_retry_after_pauses_every_request_of_that_token(notion, token, settings):
    database_id, _ = notion.add_board()
    notion.fail_next(rate_limited(retry_after=1))
    api = NotionApi(token)

    api.call("reading the database", api.client.databases.retrieve, database_id)

    first, second = [moment for moment, _, _ in notion.times]
    assert second - first >= 1.0
    # The pause is shared: another process's limiter for the same token holds its requests too.
    NotionRateLimiter(token).pause(1)
    before = time.monotonic()
    api.call("reading the database", api.client.databases.retrieve, database_id)
    assert time.monotonic() - before >= 0.9


def test_5xx_answers_are_retried_with_backoff(notion, token):
    database_id, _ = notion.add_board()
    notion.fail_next(server_error(503), server_error(500, "internal_server_error"))
    api = NotionApi(token)

    database = api.call("reading the database", api.client.databases.retrieve, database_id)

    assert database["id"] == database_id
    assert len(notion.times) == 3


def test_a_page_create_is_not_retried_blindly_after_a_5xx(notion, token):
    _, data_source_id = notion.add_board()
    notion.fail_next(server_error(502, "internal_server_error"))
    api = NotionApi(token)

    with pytest.raises(Exception, match="Notion is busy or failing while creating"):
        api.call(
            "creating a page",
            api.client.pages.create,
            parent={"type": "data_source_id", "data_source_id": data_source_id},
            properties={},
            idempotent=False,
        )
    assert len(notion.times) == 1


def test_401_is_reported_clearly_without_the_token(notion, board):
    channel, _ = board
    wrong = "secret_wrong_token_value"
    api = NotionApi(wrong, owner=f"channel {channel.id}")

    with pytest.raises(NotionAuthError) as raised:
        api.call(
            f"reading database {channel.notion_database_id}",
            api.client.databases.retrieve,
            channel.notion_database_id,
        )

    message = str(raised.value)
    assert message.startswith(
        f"Notion rejected the token while reading database {channel.notion_database_id} "
        "(channel pokechannel1) (401 unauthorized): API token is invalid. Set a valid "
        "integration token with `manage.py set_channel_secret <channel> notion_token`"
    )
    assert wrong not in message
    assert len(notion.times) == 1  # not retried


def test_without_redis_the_window_holds_across_processes_through_a_file(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.DATA_DIR = tmp_path
    limiter = NotionRateLimiter("secret_file_backed", rate=3)
    started = time.monotonic()
    for _ in range(4):
        limiter.acquire()
    assert time.monotonic() - started >= 1.05  # the 4th waited for the window
    assert list((tmp_path / "notion-rate").iterdir())[0].name != "secret_file_backed.json"


def test_the_fake_refuses_a_fourth_request_in_a_second_and_our_limiter_never_meets_it(
    notion, token, settings
):
    """Notion answers 429 by itself above 3 requests/second: so does the fake (rate_limit=3).
    At the deployment's 3 per second our limiter never meets it."""
    settings.NOTION_REQUESTS_PER_SECOND = 3.0
    database_id, _ = notion.add_board()
    notion.rate_limit = 3
    api = NotionApi(token)

    for _ in range(8):
        api.call("reading the database", api.client.databases.retrieve, database_id)

    assert notion.rate_limited == 0 and len(notion.times) == 8


def test_a_client_too_fast_for_notion_gets_429_and_still_finishes_after_retry_after(
    notion, token, settings
):
    settings.NOTION_REQUESTS_PER_SECOND = 50.0  # misconfigured: faster than Notion allows
    database_id, _ = notion.add_board()
    notion.rate_limit = 3
    api = NotionApi(token)

    for _ in range(5):
        api.call("reading the database", api.client.databases.retrieve, database_id)

    assert notion.rate_limited >= 1  # the fake refused on its own, with Retry-After
    assert len(notion.times) == 5 + notion.rate_limited

"""Fixtures for the Notion board tests: a fake Notion server, a channel whose board lives there,
fast retries, and a recorder in place of the Celery push message (tests that need the real
broker and worker say so)."""

import secrets

import pytest

from pipeline.integrations import notion_client, notion_push
from tests.factories import ChannelFactory
from tests.fakes.notion import FakeNotion

VALID_STORYBOARD = """\
title: The Secret Life of Bulbasaur
channel: {channel}
atmosphere: misty golden-hour forest
assets:
  - {{id: bulbasaur, kind: character, prompt: "Bulbasaur, photorealistic"}}
  - {{id: forest, kind: environment, prompt: "ancient mossy forest floor"}}
scenes:
  - id: s01
    composite: {{environment: forest, character: bulbasaur}}
    motion: slow dolly in
    narration: In the heart of the forest, something stirs.
    duration: 5
"""


@pytest.fixture
def token():
    """A fresh token per test: the shared rate budget and any 429 pause start clean."""
    return f"secret_{secrets.token_hex(12)}"


@pytest.fixture
def notion(token, settings):
    with FakeNotion(tokens={token}) as fake:
        settings.NOTION_API_BASE = fake.url
        settings.NOTION_TOKEN = token
        settings.NOTION_REQUESTS_PER_SECOND = 50.0  # the rate tests set it back to 3
        yield fake
    assert not fake.problems, f"requests the real Notion would refuse: {fake.problems}"


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch):
    monkeypatch.setattr(notion_client, "BACKOFF_INITIAL_SECONDS", 0.05)
    monkeypatch.setattr(notion_client, "BACKOFF_MAX_SECONDS", 0.2)


@pytest.fixture
def enqueued(monkeypatch):
    """Push messages the code would send, recorded instead of sent."""
    sent = []
    monkeypatch.setattr(notion_push, "_enqueue", lambda task_id, countdown=0: sent.append(task_id))
    return sent


@pytest.fixture
def board(notion, db, enqueued):
    """A channel with a complete board on the fake: (channel, data source id)."""
    database_id, data_source_id = notion.add_board()
    channel = ChannelFactory(id="pokechannel1", notion_database_id=database_id, review_gates=[])
    return channel, data_source_id


@pytest.fixture
def storyboard_yaml():
    return VALID_STORYBOARD.format(channel="pokechannel1")

"""Logs are one JSON object per line on stdout, carrying the correlation id bound for the task, so
every line of one video's work can be found with one search."""

import io
import json
import logging
import sys

import pytest
import structlog

from core.logging import bind_correlation_id, clear_context, configure_logging


@pytest.fixture
def json_logs():
    """Configure logging as the settings do, then read what the stdout handler writes. (The
    handler holds the sys.stdout of configuration time, so the test reads through the handler
    rather than through pytest's capture.) The session's logging is put back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    structlog_config = structlog.get_config()
    configure_logging(level="INFO", fmt="json")
    [handler] = root.handlers
    assert handler.stream is sys.stdout
    buffer = io.StringIO()
    handler.setStream(buffer)

    def lines():
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line]

    yield lines
    clear_context()
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**structlog_config)


def test_it_emits_one_json_line_with_event_level_timestamp_and_correlation_id(json_logs):
    bind_correlation_id("3f0c8a52-5d2e-4b8e-9a39-0d6c1f1e2a77")

    structlog.get_logger("videogen.test").info("step_started", step="videos", scene="s03")

    [line] = json_logs()
    assert line["event"] == "step_started"
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")
    assert line["correlation_id"] == "3f0c8a52-5d2e-4b8e-9a39-0d6c1f1e2a77"
    assert (line["step"], line["scene"]) == ("videos", "s03")
    assert line["logger"] == "videogen.test"


def test_it_carries_the_correlation_id_into_standard_library_logs(json_logs):
    # Django, Celery and libraries log through the standard library, not structlog.
    bind_correlation_id("task-42", task_id="42")

    logging.getLogger("celery.worker").warning("worker lost")

    [line] = json_logs()
    assert (line["event"], line["level"]) == ("worker lost", "warning")
    assert (line["correlation_id"], line["task_id"]) == ("task-42", "42")


def test_it_replaces_the_previous_correlation_id_when_a_new_task_starts(json_logs):
    bind_correlation_id("first", channel="a")
    bind_correlation_id("second")

    structlog.get_logger().info("claimed")

    [line] = json_logs()
    assert line["correlation_id"] == "second"
    assert "channel" not in line


def test_it_drops_the_correlation_id_once_the_context_is_cleared(json_logs):
    bind_correlation_id("done")
    clear_context()

    structlog.get_logger().info("idle")

    [line] = json_logs()
    assert "correlation_id" not in line


def test_it_logs_exceptions_as_a_field_of_the_same_line(json_logs):
    try:
        raise RuntimeError("provider said no")
    except RuntimeError:
        structlog.get_logger().exception("script_failed")

    [line] = json_logs()
    assert line["event"] == "script_failed"
    assert "RuntimeError: provider said no" in line["exception"]


def test_it_filters_below_the_configured_level(json_logs):
    structlog.get_logger().debug("noise")
    logging.getLogger("kombu").info("kombu chatter")

    assert json_logs() == []

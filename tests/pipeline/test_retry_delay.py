"""A failed unit's next attempt waits at least as long as the service asked (a 429's
Retry-After or Google's RetryInfo, passed on by the script as "retry_after" in its error line)."""

import datetime as dt
import json
import textwrap

import pytest
from django.utils import timezone

from pipeline.models import WorkItem, WorkState
from pipeline.runner import Outcome, ScriptResult, run_script
from pipeline.unit_records import retry_delay_seconds, unit_fail
from tests.factories import VideoTaskFactory


def _failed(retry_after=None):
    return ScriptResult(
        script="generate_asset", exit_code=75, outcome=Outcome.TEMPORARY,
        error="Gemini answered HTTP 429", retry_after=retry_after,
    )  # fmt: skip


def test_the_runner_reads_the_asked_wait_from_the_error_line(tmp_path):
    line = {"ok": False, "error": "429", "retriable": True, "status": 429, "retry_after": 53.0}
    path = tmp_path / "script.py"
    path.write_text(
        textwrap.dedent(f"""
        import sys
        print({json.dumps(json.dumps(line))}, file=sys.stderr)
        sys.exit(75)
    """)
    )
    assert run_script("generate_asset", [], script=path).retry_after == 53.0


@pytest.mark.parametrize("value", ["53", -1, True, None, float("nan")])
def test_the_runner_ignores_a_wait_that_is_not_a_number_of_seconds(tmp_path, value):
    path = tmp_path / "script.py"
    line = json.dumps({"ok": False, "error": "x", "retry_after": value})
    path.write_text(f"import sys\nprint({line!r}, file=sys.stderr)\nsys.exit(75)\n")
    assert run_script("generate_asset", [], script=path).retry_after is None


def test_the_delay_is_the_asked_wait_when_it_is_longer_than_the_backoff(settings):
    settings.PIPELINE_RETRY_BACKOFF_BASE = 5.0
    assert retry_delay_seconds(_failed(53.0), 1) == 53.0
    assert retry_delay_seconds(_failed(0.5), 1) >= 2.5  # the backoff when longer
    assert 2.5 <= retry_delay_seconds(_failed(), 1) <= 7.5


def test_an_asked_wait_past_the_longest_backoff_is_held_to_it(settings):
    settings.PIPELINE_RETRY_BACKOFF_MAX = 600
    assert retry_delay_seconds(_failed(86400.0), 1) == 600


@pytest.mark.django_db
def test_a_unit_failing_with_a_429_is_not_tried_again_before_the_asked_wait(
    settings, django_capture_on_commit_callbacks
):
    settings.PIPELINE_RETRY_BACKOFF_BASE = 5.0
    task = VideoTaskFactory()
    item = WorkItem.objects.create(
        task=task, step="assets", unit="pond", script="generate_asset", provider="gemini",
        state=WorkState.RUNNING, attempts=1, lease_owner="worker-1", output_path="assets/pond.png",
        lease_expires_at=timezone.now() + dt.timedelta(minutes=15),
    )  # fmt: skip
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        unit_fail(item, "worker-1", 1, _failed(53.0), final=False)
    item.refresh_from_db()
    assert item.state == WorkState.PENDING
    assert item.next_attempt_at >= before + dt.timedelta(seconds=53)

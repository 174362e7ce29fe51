"""pipeline runs the final gate's check of the cut every upload sends without importing reviews:
reviews registers it when the apps are ready, and with nothing registered nothing is sent."""

from types import SimpleNamespace

import pytest

from pipeline import upload_guard
from pipeline.integrations import notion_moves
from pipeline.runner import Outcome
from pipeline.unit_spec import UnitError
from reviews.decisions import ReviewError
from reviews.notion_board_actions import board_approve
from reviews.reviewer_checks import approved_cut_only


def test_the_apps_being_ready_registers_the_final_gate_s_check_and_the_board_s_approve():
    assert upload_guard._guard == [approved_cut_only]
    assert notion_moves._performers["approve"] is board_approve
    assert ReviewError in notion_moves.board_move_refusals()


def test_an_upload_with_no_check_registered_sends_nothing(monkeypatch):
    monkeypatch.setattr(upload_guard, "_guard", [])
    sent = []
    spec = upload_guard.upload_unit_guarded(SimpleNamespace(function=sent.append))

    with pytest.raises(UnitError, match="no check of the approved cut is registered") as raised:
        spec.function(SimpleNamespace(pk=7))

    assert raised.value.outcome == Outcome.CONFIG
    assert sent == []


def test_the_registered_check_decides_whether_the_send_runs(monkeypatch):
    monkeypatch.setattr(upload_guard, "_guard", [])
    upload_guard.upload_guard_register(lambda send, task: {"checked": send(task)})
    spec = upload_guard.upload_unit_guarded(SimpleNamespace(function=lambda task: task.pk))

    assert spec.function(SimpleNamespace(pk=7)) == {"checked": 7}


def test_a_board_move_nobody_registered_is_named_in_the_error():
    with pytest.raises(LookupError, match="no board move 'publish' is registered"):
        notion_moves.board_move_perform("publish", None, None, "")

"""Approve and reject from the review page, through the same services as `manage.py review`."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from core.models import AuditLog
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.status import Status
from reviews.models import Review

pytestmark = pytest.mark.django_db


def _decide(client, task, **data):
    return client.post(
        reverse("reviews:decide", args=[task.pk]),
        {"visit": task.status_changed_at.isoformat(), **data},
    )


def _messages(response):
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def test_it_approves_with_notes_and_goes_back_to_the_queue(reviewer_client, reviewer, final_task):
    response = _decide(reviewer_client, final_task, decision="approve", notes="ship it")

    assert response.status_code == 302 and response["Location"] == reverse("reviews:queue")
    final_task.refresh_from_db()
    assert final_task.status == Status.APPROVED
    review = Review.objects.get()
    assert (review.reviewer, review.reviewer_name, review.notes) == (reviewer, "rita", "ship it")
    audit = AuditLog.objects.get()
    assert (audit.actor, audit.action, audit.notes) == ("rita", "review_approved", "ship it")
    assert _messages(response) == [
        ("success", "'The Secret Life of Bulbasaur' approved; it is now Approved.")
    ]


def test_it_rejects_and_redoes_only_the_checked_scenes_from_the_chosen_step(
    reviewer_client, final_task
):
    response = _decide(
        reviewer_client, final_task, decision="reject", notes="s01 has five legs",
        redo_step="videos", redo_units=["s01"],
    )  # fmt: skip

    assert response.status_code == 302 and response["Location"] == reverse("reviews:queue")
    final_task.refresh_from_db()
    assert (final_task.status, final_task.failed_step) == (Status.GENERATING_VIDEO, "")
    pending = set(
        WorkItem.objects.filter(task=final_task, state=WorkState.PENDING).values_list(
            "step", "unit"
        )
    )
    assert pending == {("videos", "s01"), ("assembly", "video")}
    review = Review.objects.get()
    assert (review.redo_step, review.redo_scenes) == ("videos", ["s01"])


def test_it_redoes_every_scene_of_the_step_when_none_is_ticked(reviewer_client, final_task):
    _decide(reviewer_client, final_task, decision="reject", notes="all wrong", redo_step="videos")

    pending = set(
        WorkItem.objects.filter(task=final_task, state=WorkState.PENDING).values_list(
            "step", "unit"
        )
    )
    scenes = {scene["id"] for scene in final_task.storyboard["scenes"]}
    assert pending == {("videos", s) for s in scenes} | {("assembly", "video")}


def test_a_notes_only_rejection_stops_and_the_page_offers_redo_and_cancel(
    reviewer_client, final_task
):
    response = _decide(
        reviewer_client, final_task, decision="reject_stop", notes="not sure", redo_step="videos"
    )

    assert response["Location"] == reverse("reviews:task", args=[final_task.pk])
    final_task.refresh_from_db()
    assert final_task.status == Status.VIDEO_ERROR
    assert "Rejected at final by rita: not sure" in final_task.error_log
    page = reviewer_client.get(response["Location"]).content.decode()
    assert 'id="redo"' in page and 'id="cancel-task"' in page
    assert "rejected cut" in page

    redo = reviewer_client.post(
        reverse("reviews:next", args=[final_task.pk]),
        {"visit": final_task.status_changed_at.isoformat(), "decision": "redo",
         "redo_step": "videos", "redo_units": ["s01"]},
    )  # fmt: skip

    assert redo.status_code == 302
    final_task.refresh_from_db()
    assert final_task.status == Status.GENERATING_VIDEO
    assert ("success", "'The Secret Life of Bulbasaur' sent back: it is now Generating Video.") in (
        _messages(redo)
    )


def test_the_stopped_task_can_be_cancelled_from_its_page(reviewer_client, final_task):
    _decide(reviewer_client, final_task, decision="reject_stop", notes="wrong topic")
    final_task.refresh_from_db()

    response = reviewer_client.post(
        reverse("reviews:next", args=[final_task.pk]),
        {"visit": final_task.status_changed_at.isoformat(), "decision": "cancel"},
    )

    final_task.refresh_from_db()
    assert final_task.cancelled_at is not None
    assert AuditLog.objects.filter(action="task_cancel", actor="rita").exists()
    assert _messages(response)[-1] == ("success", "'The Secret Life of Bulbasaur' cancelled.")


def test_the_queue_tells_a_second_cut_apart(reviewer_client, final_task):
    Review.objects.create(task=final_task, gate="final", decision="rejected",
                          reviewer_name="rita", notes="x")  # fmt: skip

    page = reviewer_client.get(reverse("reviews:queue")).content.decode()

    assert "second cut" in page
    assert str(final_task.pk)[:8] in page


def test_it_shows_the_reason_naming_the_task_when_a_rejection_has_no_notes(
    reviewer_client, final_task
):
    response = _decide(reviewer_client, final_task, decision="reject", notes=" ")

    assert response.status_code == 400  # the page again, with the form as it was sent
    [(level, text)] = _messages(response)
    assert level == "error"
    assert text.startswith("'The Secret Life of Bulbasaur': a rejection needs notes")
    assert VideoTask.objects.get(pk=final_task.pk).status == Status.FINAL_REVIEW


def test_it_tells_the_second_reviewer_that_the_task_was_already_decided(
    reviewer_client, final_task
):
    _decide(reviewer_client, final_task, decision="approve")
    response = _decide(reviewer_client, final_task, decision="approve")

    level, text = _messages(response)[-1]  # after the first one's success message
    assert level == "error"
    assert "changed since you opened it (now Approved); nothing was recorded" in text
    assert Review.objects.count() == 1 and AuditLog.objects.count() == 1


def test_it_refuses_a_decision_on_a_task_that_is_not_at_a_gate(reviewer_client, final_task):
    VideoTask.objects.filter(pk=final_task.pk).update(status=Status.GENERATING_VIDEO)
    final_task.refresh_from_db()

    response = _decide(reviewer_client, final_task, decision="approve")

    [(level, text)] = _messages(response)
    assert level == "error" and "is not waiting for review" in text
    assert not Review.objects.exists()


def test_it_refuses_a_get_on_the_decision_url(reviewer_client, final_task):
    assert reviewer_client.get(reverse("reviews:decide", args=[final_task.pk])).status_code == 405


def test_it_names_the_bad_field_when_the_form_is_not_valid(reviewer_client, final_task):
    response = _decide(reviewer_client, final_task, decision="reject", redo_units=["s99"])

    [(level, text)] = _messages(response)
    assert level == "error"
    assert text.startswith("'The Secret Life of Bulbasaur': nothing was recorded: redo_units:")
    assert not Review.objects.exists()


def test_a_refused_reject_and_redo_comes_back_with_the_scene_still_ticked(
    reviewer_client, final_task
):
    response = _decide(
        reviewer_client, final_task, decision="reject", notes="", redo_step="composites",
        redo_units=["s01"],
    )  # fmt: skip

    page = response.content.decode()
    assert response.status_code == 400
    assert "a rejection needs notes" in page
    assert 'value="s01" checked' in page and 'value="forest" checked' not in page
    assert '<option value="composites" selected>' in page
    assert VideoTask.objects.get(pk=final_task.pk).status == Status.FINAL_REVIEW


def test_a_refused_decision_keeps_the_notes_typed(reviewer_client, final_task):
    response = _decide(
        reviewer_client, final_task, decision="reject_changed", notes="the fox is blue"
    )
    VideoTask.objects.filter(pk=final_task.pk).update(status_changed_at=final_task.created_at)
    stale = _decide(reviewer_client, final_task, decision="approve", notes="looks fine to me")

    assert ">looks fine to me</textarea>" in stale.content.decode()
    assert response.status_code in (302, 400)

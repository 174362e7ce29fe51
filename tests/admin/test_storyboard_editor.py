"""The storyboard editor, "redo what changed" and the final review's metadata on the review page:
thin views over pipeline.storyboard_edits and reviews.decisions; refused edits come back inline
with the field path and nothing saved."""

import datetime as dt

import pytest
from django.template.defaultfilters import floatformat
from django.urls import reverse

from core.models import AuditLog
from pipeline.fingerprints import task_fingerprints
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.status import Status
from pipeline.storyboard_edits import storyboard_yaml
from reviews.decisions import redo_changed_plan, redo_estimate_usd
from reviews.models import Review
from tests.admin.conftest import make_outputs
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db


def record_fingerprints(task):
    """What the worker records when each unit is done (pipeline.units)."""
    for (step, unit), fingerprint in task_fingerprints(task).items():
        WorkItem.objects.filter(task=task, step=step, unit=unit).update(fingerprint=fingerprint)
    return task


def page(client, task):
    response = client.get(reverse("reviews:task", args=[task.pk]))
    assert response.status_code == 200
    return response.content.decode()


def post_storyboard(client, task, text):
    return client.post(reverse("reviews:storyboard", args=[task.pk]), {"storyboard": text})


def test_the_task_page_shows_the_storyboard_as_yaml_in_an_editor(reviewer_client, final_task):
    html = page(reviewer_client, final_task)

    assert 'id="id_storyboard" name="storyboard"' in html
    assert "motion: slow dolly in" in html
    assert 'id="save-storyboard"' in html


def test_a_valid_edit_is_saved_and_audited_with_the_diff(reviewer_client, final_task):
    text = storyboard_yaml(final_task.storyboard).replace("slow dolly in", "slow pan left")

    response = post_storyboard(reviewer_client, final_task, text)

    assert response.status_code == 302
    final_task.refresh_from_db()
    assert final_task.storyboard["scenes"][0]["motion"] == "slow pan left"
    audit = AuditLog.objects.get(action="storyboard_edit")
    assert audit.actor == "rita" and "+  motion: slow pan left" in audit.metadata["diff"]


def test_bad_yaml_comes_back_inline_with_its_line_and_nothing_is_saved(reviewer_client, final_task):
    response = post_storyboard(reviewer_client, final_task, "title: [unclosed\n")

    html = response.content.decode()
    assert response.status_code == 400
    assert (
        'id="vg-storyboard-errors"' in html and "storyboard: line 2, column 1: invalid YAML" in html
    )
    assert "title: [unclosed" in html  # what was typed stays in the editor
    assert VideoTask.objects.get(pk=final_task.pk).storyboard == final_task.storyboard
    assert not AuditLog.objects.exists()


def test_a_bad_field_comes_back_inline_with_its_path(reviewer_client, final_task):
    text = storyboard_yaml(final_task.storyboard).replace("duration: 5", "duration: 0")

    response = post_storyboard(reviewer_client, final_task, text)

    assert response.status_code == 400
    assert "storyboard: scenes[0].duration: " in response.content.decode()
    assert VideoTask.objects.get(pk=final_task.pk).storyboard["scenes"][0]["duration"] == 5


def test_a_task_in_production_shows_the_storyboard_read_only_and_refuses_an_edit(
    reviewer_client, final_task
):
    VideoTask.objects.filter(pk=final_task.pk).update(status=Status.GENERATING_VIDEO)
    text = storyboard_yaml(final_task.storyboard).replace("slow dolly in", "slow pan left")

    assert 'id="save-storyboard"' not in page(reviewer_client, final_task)
    response = post_storyboard(reviewer_client, final_task, text)

    assert response.status_code == 400
    assert "its storyboard can be edited in Draft, at a review gate" in response.content.decode()
    assert not AuditLog.objects.exists()


def test_editing_needs_the_review_permission(client, viewer, final_task):
    client.force_login(viewer)
    response = post_storyboard(client, final_task, storyboard_yaml(final_task.storyboard))
    assert response.status_code == 403


def test_final_review_shows_exactly_what_goes_to_youtube(reviewer_client, workspace, sample_media):
    channel = ChannelFactory(
        id="pokechannel1", review_gates=[], schedule="daily", publish_time=dt.time(18, 0),
        timezone="Europe/Berlin", privacy="public", made_for_kids=False, category_id="15",
        default_language="de",
    )  # fmt: skip
    task = VideoTaskFactory(channel=channel, status=Status.FINAL_REVIEW)
    task.storyboard = {
        **task.storyboard,
        "description": "Ein Morgen im Wald. é",
        "tags": ["bulbasaur", "nature documentary"],
        "thumbnail": "s01",
    }
    task.save()
    make_outputs(task, sample_media)

    html = page(reviewer_client, task)

    assert 'id="vg-publication"' in html
    assert "(28 / 100 characters)" in html  # "The Secret Life of Bulbasaur"
    assert "22 / 5000 bytes (UTF-8)" in html  # 21 characters, the é counts 2
    assert "30 / 458 characters as YouTube counts them" in html  # 9 + 1 + 20
    assert 'id="vg-pub-privacy">private<' in html  # scheduled: private until publishAt
    assert " Europe/Berlin · " in html and " UTC " in html
    assert "18:00 Europe/Berlin" in html
    assert 'id="vg-pub-kids">no<' in html
    assert 'id="vg-pub-synthetic">yes (disclosed to viewers)<' in html
    assert 'id="vg-pub-category">Pets &amp; Animals (15)<' in html
    assert 'id="vg-pub-language">de<' in html
    assert "scene s01&#x27;s composite" in html and "/composites/s01.png" in html
    assert "<code>videogen-" in html


def test_an_over_limit_description_is_refused_in_the_form_with_the_field_named(
    reviewer_client, final_task
):
    response = reviewer_client.post(
        reverse("reviews:metadata", args=[final_task.pk]),
        {"title": "A title", "description": "é" * 2600, "tags": "one\ntwo"},
    )

    html = response.content.decode()
    assert response.status_code == 400
    assert "storyboard: description: 5,200 bytes, YouTube allows 5,000 (UTF-8)" in html
    assert VideoTask.objects.get(pk=final_task.pk).storyboard.get("description", "") == ""


def test_title_description_and_tags_are_saved_into_the_storyboard_and_audited(
    reviewer_client, final_task
):
    response = reviewer_client.post(
        reverse("reviews:metadata", args=[final_task.pk]),
        {"title": "Bulbasaur at dawn", "description": "Line one\r\nLine two", "tags": "a\nb c, d"},
    )

    assert response.status_code == 302
    final_task.refresh_from_db()
    assert final_task.storyboard["title"] == final_task.title == "Bulbasaur at dawn"
    assert final_task.storyboard["description"] == "Line one\nLine two"
    assert final_task.storyboard["tags"] == ["a", "b c", "d"]
    assert "+title: Bulbasaur at dawn" in AuditLog.objects.get().metadata["diff"]


def test_the_thumbnail_is_re_picked_from_a_scene(reviewer_client, final_task):
    response = reviewer_client.post(
        reverse("reviews:thumbnail", args=[final_task.pk]), {"thumbnail": "s01"}
    )

    assert response.status_code == 302
    final_task.refresh_from_db()
    assert final_task.storyboard["thumbnail"] == "s01"
    assert "/composites/s01.png" in page(reviewer_client, final_task)


def priced_task(workspace, sample_media):
    channel = ChannelFactory(
        id="pokechannel1", review_gates=[],
        providers={"image": "gemini", "video": "kie", "voice": "elevenlabs", "upload": "local"},
    )  # fmt: skip
    task = VideoTaskFactory(channel=channel, status=Status.FINAL_REVIEW)
    return record_fingerprints(make_outputs(task, sample_media))


def test_after_an_edit_the_page_shows_what_will_be_remade_and_its_cost_before_confirming(
    reviewer_client, workspace, sample_media
):
    task = priced_task(workspace, sample_media)
    assert "nothing made so far differs" in page(reviewer_client, task)
    text = storyboard_yaml(task.storyboard).replace("slow dolly in", "slow pan left")
    assert post_storyboard(reviewer_client, task, text).status_code == 302
    task.refresh_from_db()
    estimate = redo_estimate_usd(task, redo_changed_plan(task))
    assert estimate > 0

    html = page(reviewer_client, task)

    assert "<li><strong>videos</strong>: s01</li>" in html
    assert "<li><strong>assembly</strong>: the final video</li>" in html
    assert "<strong>composites</strong>" not in html.split('id="vg-redo-changed-units"')[1][:400]
    assert f'id="vg-redo-changed-cost">${floatformat(estimate, 2)}<' in html
    assert WorkItem.objects.filter(task=task, state=WorkState.DONE).count() == 7  # none reset


def test_redo_what_changed_sends_back_only_the_changed_units(
    reviewer_client, workspace, sample_media
):
    task = priced_task(workspace, sample_media)
    text = storyboard_yaml(task.storyboard).replace("slow dolly in", "slow pan left")
    post_storyboard(reviewer_client, task, text)
    task.refresh_from_db()

    response = reviewer_client.post(
        reverse("reviews:decide", args=[task.pk]),
        {"visit": task.status_changed_at.isoformat(), "decision": "reject_changed", "notes": ""},
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == Status.GENERATING_VIDEO
    pending = set(
        WorkItem.objects.filter(task=task).exclude(state=WorkState.DONE).values_list("step", "unit")
    )
    assert pending == {("videos", "s01"), ("assembly", "video")}
    review = Review.objects.get(task=task)
    assert review.redo_step == "videos" and "redo what changed" in review.notes

"""task_storyboard_edit: a task's storyboard edited in Draft, at a gate or in an error column,
validated by the storyboard parser, saved only once valid, every saved change audited with its
diff; the final review's metadata and thumbnail go through the same service."""

import pytest

from core.models import AuditLog
from core.text.storyboard import storyboard_validate
from pipeline.status import Status
from pipeline.storyboard_edits import (
    StoryboardEditError,
    storyboard_yaml,
    task_metadata_edit,
    task_storyboard_edit,
    task_thumbnail_pick,
)
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db


def make_task(status=Status.VIDEO_READY, **fields):
    channel = ChannelFactory(id="pokechannel1")
    storyboard = storyboard_validate(dict(SAMPLE_STORYBOARD))
    return VideoTaskFactory(channel=channel, status=status, storyboard=storyboard, **fields)


def edited_text(task, *, motion="slow pan left"):
    text = storyboard_yaml(task.storyboard)
    assert "motion: slow dolly in" in text
    return text.replace("motion: slow dolly in", f"motion: {motion}")


@pytest.mark.parametrize(
    "status",
    [
        Status.DRAFT,
        Status.ASSETS_READY,
        Status.VIDEO_READY,
        Status.AUDIO_READY,
        Status.FINAL_REVIEW,
        Status.ASSET_ERROR,
        Status.VIDEO_ERROR,
        Status.AUDIO_ERROR,
        Status.UPLOAD_ERROR,
    ],
)
def test_it_saves_a_valid_edit_in_draft_at_every_gate_and_in_every_error_column(status):
    task = make_task(status)

    saved, diff = task_storyboard_edit(task_id=task.pk, actor="alice", text=edited_text(task))

    task.refresh_from_db()
    assert task.storyboard["scenes"][0]["motion"] == "slow pan left"
    assert "-  motion: slow dolly in\n+  motion: slow pan left\n" in diff


def test_every_saved_edit_writes_an_audit_row_with_the_unified_diff():
    task = make_task()

    _, diff = task_storyboard_edit(task_id=task.pk, actor="alice", text=edited_text(task))

    audit = AuditLog.objects.get(action="storyboard_edit")
    assert (audit.actor, audit.task_id, audit.object_type) == ("alice", task.pk, "storyboard")
    assert audit.metadata["diff"] == diff
    assert diff.startswith("--- storyboard (before)\n+++ storyboard (after)\n@@ ")
    assert audit.metadata["status"] == Status.VIDEO_READY


def test_an_edit_that_changes_nothing_saves_and_records_nothing():
    task = make_task()

    _, diff = task_storyboard_edit(
        task_id=task.pk, actor="alice", text=storyboard_yaml(task.storyboard)
    )

    assert diff == "" and not AuditLog.objects.exists()


def test_bad_yaml_is_refused_with_its_line_and_nothing_is_saved():
    task = make_task()
    before = dict(task.storyboard)

    with pytest.raises(StoryboardEditError) as refused:
        task_storyboard_edit(task_id=task.pk, actor="alice", text="title: [unclosed\nscenes: 1\n")

    assert refused.value.errors[0].startswith("storyboard: line ")
    assert "invalid YAML" in refused.value.errors[0]
    task.refresh_from_db()
    assert task.storyboard == before and not AuditLog.objects.exists()


def test_a_bad_field_is_refused_with_its_path():
    task = make_task()
    text = storyboard_yaml(task.storyboard).replace("duration: 5", "duration: 99")

    with pytest.raises(StoryboardEditError) as refused:
        task_storyboard_edit(task_id=task.pk, actor="alice", text=text)

    assert any(
        error.startswith("storyboard: scenes[0].duration: ") for error in refused.value.errors
    )
    task.refresh_from_db()
    assert task.storyboard["scenes"][0]["duration"] == 5


def test_an_unknown_asset_is_refused_naming_the_path_and_the_known_ids():
    task = make_task()
    text = storyboard_yaml(task.storyboard).replace("character: bulbasaur", "character: pikachu")

    with pytest.raises(StoryboardEditError, match=r"scenes\[0\]\.composite\.character: "):
        task_storyboard_edit(task_id=task.pk, actor="alice", text=text)


@pytest.mark.parametrize("status", [Status.GENERATING_VIDEO, Status.QUEUED, Status.PUBLISHED])
def test_a_task_in_production_or_published_cannot_be_edited(status):
    task = make_task(status)

    with pytest.raises(StoryboardEditError, match=r"can be edited in Draft, at a review gate"):
        task_storyboard_edit(task_id=task.pk, actor="alice", text=edited_text(task))

    task.refresh_from_db()
    assert task.storyboard["scenes"][0]["motion"] == "slow dolly in"
    assert not AuditLog.objects.exists()


def test_a_storyboard_cannot_move_the_task_to_another_channel():
    task = make_task()
    text = edited_text(task).replace("channel: pokechannel1", "channel: otherchannel")

    with pytest.raises(StoryboardEditError, match=r"storyboard: channel: 'otherchannel' is not"):
        task_storyboard_edit(task_id=task.pk, actor="alice", text=text)


def test_metadata_is_edited_through_the_same_service_and_the_title_follows():
    task = make_task(Status.FINAL_REVIEW)

    task_metadata_edit(
        task_id=task.pk,
        actor="alice",
        title="Bulbasaur at dawn",
        description="A morning in the forest.",
        tags=["bulbasaur", "nature documentary"],
    )

    task.refresh_from_db()
    assert task.title == "Bulbasaur at dawn"
    assert task.storyboard["tags"] == ["bulbasaur", "nature documentary"]
    assert "+title: Bulbasaur at dawn" in AuditLog.objects.get().metadata["diff"]


def test_a_description_over_5000_bytes_is_refused_with_the_field_named():
    task = make_task(Status.FINAL_REVIEW)

    with pytest.raises(StoryboardEditError) as refused:
        task_metadata_edit(task_id=task.pk, actor="a", title="t", description="é" * 2600, tags=[])

    assert refused.value.errors == [
        "storyboard: description: 5,200 bytes, YouTube allows 5,000 (UTF-8)"
    ]


def test_tags_over_the_limit_are_refused_with_the_field_named():
    task = make_task(Status.FINAL_REVIEW)
    tags = [f"tag number {n:03d}" for n in range(40)]

    with pytest.raises(StoryboardEditError, match=r"storyboard: tags: 679 characters"):
        task_metadata_edit(task_id=task.pk, actor="a", title="t", description="", tags=tags)


def test_the_thumbnail_is_picked_from_a_scene_and_an_unknown_one_is_refused():
    task = make_task(Status.FINAL_REVIEW)

    task_thumbnail_pick(task_id=task.pk, actor="alice", thumbnail="s01")
    task.refresh_from_db()
    assert task.storyboard["thumbnail"] == "s01"

    with pytest.raises(StoryboardEditError, match=r"storyboard: thumbnail: unknown asset or scene"):
        task_thumbnail_pick(task_id=task.pk, actor="alice", thumbnail="s99")

    task_thumbnail_pick(task_id=task.pk, actor="alice", thumbnail="")
    task.refresh_from_db()
    assert task.storyboard["thumbnail"] is None

"""The reviewer's and operator's commands around the review loop: `review reject` with and
without a redo, `review redo`, `task_status --follow` stopping only where a person is needed, and
`create_task` naming a mistyped channel."""

import io

import pytest
from django.core.management import CommandError, call_command

from pipeline.models import VideoTask
from pipeline.selectors import task_waits_for_person
from pipeline.status import Status
from tests.factories import ChannelFactory, VideoTaskFactory, reviewer_user
from tests.pipeline.test_commands import STORYBOARD
from tests.pipeline.test_reviewing import finished_task  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def carol(db):
    return reviewer_user("carol")


def call(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_rejection_with_a_redo_says_the_task_is_back_in_production(finished_task):  # noqa: F811
    output = call(
        "review", "reject", str(finished_task.pk), "--as", "carol", "--notes", "s02 legs",
        "--redo-step", "videos", "--redo", "s02",
    )  # fmt: skip

    assert output.startswith(f"rejected: task {finished_task.pk} is now Generating Video")
    assert "rejectd" not in output and "next:" not in output


def test_a_notes_only_rejection_names_the_next_commands_and_redo_follows(finished_task):  # noqa: F811
    output = call("review", "reject", str(finished_task.pk), "--as", "carol",
                  "--notes", "not sure")  # fmt: skip

    assert f"rejected: task {finished_task.pk} is now Video Error" in output
    assert f"manage.py review redo {finished_task.pk} --as carol --redo-step" in output
    assert f"manage.py cancel_task {finished_task.pk}" in output

    output = call("review", "redo", str(finished_task.pk), "--as", "carol",
                  "--redo-step", "audio", "--redo", "s01")  # fmt: skip

    assert output.startswith(f"redo sent: task {finished_task.pk} is now Generating Audio")


def test_redo_needs_a_step_and_refuses_a_task_at_a_gate(finished_task):  # noqa: F811
    with pytest.raises(CommandError, match="name the step to redo from"):
        call("review", "redo", str(finished_task.pk), "--as", "carol")
    with pytest.raises(CommandError, match="a redo from a step is for a task stopped"):
        call("review", "redo", str(finished_task.pk), "--as", "carol", "--redo-step",
             "videos")  # fmt: skip


def test_scenes_without_a_step_are_refused(finished_task):  # noqa: F811
    with pytest.raises(CommandError, match="name the step to redo the scenes from"):
        call("review", "reject", str(finished_task.pk), "--as", "carol", "--notes", "x",
             "--redo", "s01")  # fmt: skip
    assert VideoTask.objects.get(pk=finished_task.pk).status == Status.FINAL_REVIEW


@pytest.mark.parametrize(
    ("status", "gates", "waits"),
    [
        (Status.ASSETS_READY, [], False),  # passing through: no assets gate on this channel
        (Status.VIDEO_READY, [], False),
        (Status.ASSETS_READY, ["assets"], True),
        (Status.FINAL_REVIEW, [], True),
        (Status.VIDEO_ERROR, [], True),
        (Status.PUBLISHED, [], True),
        (Status.DRAFT, [], True),
        (Status.QUEUED, [], False),
        (Status.GENERATING_VIDEO, [], False),
        (Status.ASSEMBLY_READY, [], False),
    ],
)
def test_follow_and_the_demo_stop_only_where_a_person_is_needed(status, gates, waits):
    task = VideoTaskFactory(channel=ChannelFactory(review_gates=gates), status=status)

    assert task_waits_for_person(task) is waits


def test_create_task_names_the_file_and_field_and_suggests_the_closest_channel(tmp_path):
    ChannelFactory(id="pokechannel1")
    ChannelFactory(id="natureclips")
    path = tmp_path / "video.yaml"
    path.write_text(STORYBOARD.replace("channel: cmdchannel", "channel: pokechanel1"))

    with pytest.raises(CommandError) as error:
        call("create_task", str(path))

    assert str(error.value).startswith(
        f"{path}: channel: unknown channel 'pokechanel1'; did you mean 'pokechannel1'?"
    )
    assert not VideoTask.objects.exists()


def test_create_task_lists_the_channels_when_nothing_is_close(tmp_path):
    ChannelFactory(id="pokechannel1")
    path = tmp_path / "video.yaml"

    path.write_text(STORYBOARD)
    with pytest.raises(CommandError, match="--channel: unknown channel 'zzz'; known channels: "
                       "pokechannel1"):  # fmt: skip
        call("create_task", str(path), "--channel", "zzz")

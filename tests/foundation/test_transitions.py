"""The status machine: the one table of transitions, the TaskEvent timeline, conflicts between
concurrent movers, and the mapping of statuses to Notion board columns and lifecycle groups."""

import itertools

import pytest
from django.utils import timezone

from pipeline import transitions
from pipeline.models import TaskEvent, VideoTask
from pipeline.status import (
    BOARD_COLUMNS,
    LIFECYCLE_GROUPS,
    TRANSITIONS,
    IllegalTransition,
    Status,
    board_column,
    lifecycle_group,
    status_for_column,
)
from pipeline.transitions import TransitionConflict, task_transition
from tests.factories import VideoTaskFactory

# design.md, "Task status: 26 values, one per board column", in board order.
DESIGN_BOARD = [
    ("draft", "Draft"),
    ("queued", "Queued"),
    ("claimed", "Claimed"),
    ("generating_assets", "Generating Assets"),
    ("assets_ready", "Assets Ready"),
    ("assets_approved", "Assets Approved"),
    ("generating_composites", "Generating Composites"),
    ("composites_ready", "Composites Ready"),
    ("generating_video", "Generating Video"),
    ("video_ready", "Video Ready"),
    ("video_approved", "Video Approved"),
    ("generating_audio", "Generating Audio"),
    ("audio_ready", "Audio Ready"),
    ("audio_approved", "Audio Approved"),
    ("generating_sfx", "Generating SFX"),
    ("sfx_ready", "SFX Ready"),
    ("assembling", "Assembling"),
    ("assembly_ready", "Assembly Ready"),
    ("final_review", "Final Review"),
    ("approved", "Approved"),
    ("uploading", "Uploading"),
    ("published", "Published"),
    ("asset_error", "Asset Error"),
    ("video_error", "Video Error"),
    ("audio_error", "Audio Error"),
    ("upload_error", "Upload Error"),
]

ALLOWED = sorted((source, target) for source, targets in TRANSITIONS.items() for target in targets)
REFUSED = sorted(
    (source, target)
    for source, target in itertools.product(Status, Status)
    if target not in TRANSITIONS[source]
)


def _ids(pair):
    return f"{pair[0]}->{pair[1]}"


def test_it_lists_the_26_board_columns_of_the_design_in_order():
    assert BOARD_COLUMNS == [column for _, column in DESIGN_BOARD]
    assert [status.value for status in Status] == [value for value, _ in DESIGN_BOARD]


def test_it_splits_all_676_pairs_into_allowed_and_refused():
    assert len(ALLOWED) + len(REFUSED) == 26 * 26
    assert not any(source == target for source, target in ALLOWED)


@pytest.mark.django_db
@pytest.mark.parametrize("pair", ALLOWED, ids=_ids)
def test_it_makes_every_allowed_transition_and_records_it(pair):
    source, target = pair
    task = VideoTaskFactory(status=source)
    before = timezone.now()

    moved = task_transition(task=task, to=target, reason="because the test says so", actor="ada")

    assert moved.status == target
    assert VideoTask.objects.get(pk=task.pk).status == target
    assert moved.status_changed_at >= before
    event = TaskEvent.objects.get(task=task)
    assert (event.from_status, event.to_status) == (source, target)
    assert event.reason == "because the test says so"
    assert event.actor == "ada"
    assert before <= event.created_at <= timezone.now()


@pytest.mark.django_db
@pytest.mark.parametrize("pair", REFUSED, ids=_ids)
def test_it_refuses_every_other_transition_naming_both_statuses(pair):
    source, target = pair
    task = VideoTaskFactory(status=source)

    with pytest.raises(IllegalTransition) as caught:
        task_transition(task=task, to=target)

    message = str(caught.value)
    assert f"from {source} to {target}" in message
    assert str(task.pk) in message
    assert VideoTask.objects.get(pk=task.pk).status == source
    assert not TaskEvent.objects.filter(task=task).exists()


@pytest.mark.django_db
def test_it_says_where_a_task_may_go_instead():
    task = VideoTaskFactory(status=Status.DRAFT)
    with pytest.raises(IllegalTransition, match="from draft it may go to queued"):
        task_transition(task=task, to=Status.PUBLISHED)


@pytest.mark.django_db
def test_it_says_a_published_task_goes_nowhere():
    task = VideoTaskFactory(status=Status.PUBLISHED)
    with pytest.raises(IllegalTransition, match=r"nothing \(final\)"):
        task_transition(task=task, to=Status.DRAFT)


@pytest.mark.django_db
def test_it_raises_a_conflict_and_records_nothing_when_the_task_moved_meanwhile():
    task = VideoTaskFactory(status=Status.QUEUED)
    stale_copy = VideoTask.objects.get(pk=task.pk)
    task_transition(task=task, to=Status.CLAIMED, actor="worker-1")

    with pytest.raises(TransitionConflict) as caught:
        task_transition(task=stale_copy, to=Status.CLAIMED, actor="worker-2")

    message = str(caught.value)
    assert "expected status queued, found claimed" in message
    assert VideoTask.objects.get(pk=task.pk).status == Status.CLAIMED
    assert list(TaskEvent.objects.filter(task=task).values_list("actor", flat=True)) == ["worker-1"]


@pytest.mark.django_db
def test_it_checks_the_expected_status_rather_than_the_in_memory_one():
    task = VideoTaskFactory(status=Status.FINAL_REVIEW)

    with pytest.raises(TransitionConflict):
        task_transition(task=task, to=Status.UPLOADING, expected=Status.APPROVED)

    assert not TaskEvent.objects.filter(task=task).exists()


@pytest.mark.django_db
def test_it_saves_extra_fields_in_the_same_update():
    task = VideoTaskFactory(status=Status.GENERATING_VIDEO)

    task_transition(
        task=task, to=Status.VIDEO_ERROR, error_log="s03: provider refused", failed_step="videos"
    )

    task.refresh_from_db()
    assert (task.status, task.error_log, task.failed_step) == (
        Status.VIDEO_ERROR,
        "s03: provider refused",
        "videos",
    )


@pytest.mark.django_db
def test_it_keeps_a_readable_timeline_of_every_move():
    task = VideoTaskFactory(status=Status.DRAFT)
    for target in (Status.QUEUED, Status.CLAIMED, Status.GENERATING_ASSETS, Status.ASSET_ERROR):
        task_transition(task=task, to=target)

    timeline = list(TaskEvent.objects.filter(task=task).values_list("from_status", "to_status"))
    assert timeline == [
        ("draft", "queued"),
        ("queued", "claimed"),
        ("claimed", "generating_assets"),
        ("generating_assets", "asset_error"),
    ]


@pytest.mark.django_db
def test_it_notifies_listeners_only_after_the_commit(django_capture_on_commit_callbacks):
    heard = []
    listener = transitions.on_transition(lambda *args: heard.append(args))
    try:
        task = VideoTaskFactory(status=Status.DRAFT)
        with django_capture_on_commit_callbacks(execute=True):
            task_transition(task=task, to=Status.QUEUED)
            assert heard == []
    finally:
        transitions._listeners.remove(listener)

    assert heard == [(task.pk, Status.DRAFT, Status.QUEUED)]


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_it_maps_each_status_to_its_column_and_back(status):
    assert status_for_column(board_column(status)) == status
    assert board_column(status.value) == status.label


def test_it_refuses_an_unknown_board_column():
    with pytest.raises(ValueError, match="unknown board column 'Done'"):
        status_for_column("Done")


def test_it_puts_every_status_in_exactly_one_lifecycle_group():
    memberships = [status for members in LIFECYCLE_GROUPS.values() for status in members]
    assert sorted(memberships) == sorted(Status)
    for group, members in LIFECYCLE_GROUPS.items():
        for status in members:
            assert lifecycle_group(status) == group
            assert lifecycle_group(status.value) == group


@pytest.mark.parametrize(
    "status, group",
    [
        (Status.DRAFT, "pending"),
        (Status.CLAIMED, "claimed"),
        (Status.GENERATING_VIDEO, "processing"),
        (Status.FINAL_REVIEW, "awaiting_review"),
        (Status.APPROVED, "approved"),
        (Status.PUBLISHED, "completed"),
        (Status.UPLOAD_ERROR, "failed"),
    ],
)
def test_it_groups_statuses_into_the_coarse_lifecycle(status, group):
    assert lifecycle_group(status) == group


def _reachable_from(start):
    seen, frontier = {start}, [start]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_it_can_reach_every_status_from_draft():
    assert _reachable_from(Status.DRAFT) == set(Status)


@pytest.mark.parametrize("status", sorted(set(Status) - {Status.PUBLISHED}), ids=str)
def test_it_leaves_no_dead_end_short_of_published(status):
    assert Status.PUBLISHED in _reachable_from(status)

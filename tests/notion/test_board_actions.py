"""Acting on the board: a mapped reviewer's Final Review -> Approved approves, a mapped operator's
error -> Queued retries, anyone else's move is moved back with an audit row."""

import copy
import uuid

import pytest
from django.contrib.auth.models import Permission

from channels_app.models import NotionPush
from core.models import AuditLog
from pipeline.integrations.notion_actions import DONE, notion_card_act
from pipeline.integrations.notion_client import NotionApi
from pipeline.integrations.notion_intake import notion_poll_channel
from pipeline.integrations.notion_push import notion_push
from pipeline.models import TaskEvent, VideoTask
from pipeline.status import Status
from reviews.models import NotionUser, Review, notion_user_id_normalize
from tests.factories import UserFactory, VideoTaskFactory


def _task_on_card(channel, notion, data_source_id, status, **fields):
    task = VideoTaskFactory(channel=channel, status=status, **fields)
    page_id = notion.add_card(data_source_id, title=task.title, status="Queued")
    VideoTask.objects.filter(pk=task.pk).update(notion_page_id=page_id)
    NotionPush.objects.create(task=task, requested_at=task.created_at)
    assert notion_push(task.pk) == "pushed"
    return task, page_id


def _person(username, *permissions, active=True):
    """A Django user with these permissions ("app.codename"), mapped from a new Notion user."""
    user = UserFactory(username=username, is_active=active)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    notion_user_id = str(uuid.uuid4())
    NotionUser.objects.create(notion_user_id=notion_user_id, user=user, name=username.title())
    return user, notion_user_id


@pytest.fixture
def at_final_review(board, notion):
    channel, data_source_id = board
    return _task_on_card(channel, notion, data_source_id, Status.FINAL_REVIEW)


def test_a_mapped_reviewer_moving_a_card_to_approved_approves_the_video_once(
    board, notion, at_final_review
):
    channel, _ = board
    task, page_id = at_final_review
    alice, alice_in_notion = _person("alice", "reviews.can_review")

    notion.move_card(page_id, "Approved", by=alice_in_notion)
    first = notion_poll_channel(channel_id=channel.id)
    second = notion_poll_channel(channel_id=channel.id)  # the boundary minute: seen again

    assert first.acted == [page_id] and first.moved_back == []
    assert second.acted == [] and second.moved_back == []
    task.refresh_from_db()
    assert task.status == Status.APPROVED
    review = Review.objects.get(task=task)
    assert review.decision == "approved" and review.gate == "final"
    assert review.reviewer == alice and review.reviewer_name == "alice"
    assert review.notes.startswith("via Notion: card moved from 'Final Review' to 'Approved'")
    assert alice_in_notion in review.notes
    audit = AuditLog.objects.get(task=task, action="review_approved")
    assert audit.actor == "alice" and audit.notes.startswith("via Notion")
    event = TaskEvent.objects.get(task=task, to_status=Status.APPROVED)
    assert event.actor == "alice"
    assert notion.value(page_id, "Status") == "Approved"  # left where the reviewer put it


def test_a_card_on_two_result_pages_of_one_poll_is_approved_once(
    board, notion, at_final_review, monkeypatch
):
    """Notion's query is not a snapshot: a card edited while a poll pages through the results can
    come back on a later page too."""
    channel, _ = board
    task, page_id = at_final_review
    _, alice_in_notion = _person("alice", "reviews.can_review")
    notion.move_card(page_id, "Approved", by=alice_in_notion)
    paginate, served = NotionApi.paginate, []

    def twice(self, what, method, *args, **kwargs):
        for result in paginate(self, what, method, *args, **kwargs):
            yield result
            if what.startswith("querying data source"):
                served.append(result["id"])
                yield copy.deepcopy(result)

    monkeypatch.setattr(NotionApi, "paginate", twice)
    result = notion_poll_channel(channel_id=channel.id)

    assert served == [page_id]  # the card came back a second time in the same poll
    assert result.acted == [page_id] and result.moved_back == []
    assert Review.objects.filter(task=task).count() == 1
    assert AuditLog.objects.filter(task=task).count() == 1
    assert VideoTask.objects.get(pk=task.pk).status == Status.APPROVED


def test_a_second_poller_holding_the_same_card_approves_nothing_twice(
    board, notion, at_final_review
):
    task, page_id = at_final_review
    _, alice_in_notion = _person("alice", "reviews.can_review")
    notion.move_card(page_id, "Approved", by=alice_in_notion)
    page = notion.pages[page_id]  # both pollers read the card before either acted
    api = NotionApi.for_channel(task.channel)

    assert notion_card_act(api, task, page, "Approved") == DONE
    # The second read the task and its push record before the first committed.
    assert task.status == Status.FINAL_REVIEW
    NotionPush.objects.filter(task=task).update(pushed_status="Final Review")
    assert notion_card_act(api, task, page, "Approved") == DONE

    assert Review.objects.filter(task=task).count() == 1
    assert AuditLog.objects.filter(task=task, action="review_approved").count() == 1
    assert not AuditLog.objects.filter(action="notion_move_refused").exists()
    assert notion.value(page_id, "Status") == "Approved"


def test_an_unmapped_persons_move_to_approved_is_moved_back_and_audited(
    board, notion, token, at_final_review
):
    channel, _ = board
    task, page_id = at_final_review
    stranger = str(uuid.uuid4())

    notion.move_card(page_id, "Approved", by=stranger)
    result = notion_poll_channel(channel_id=channel.id)

    assert result.moved_back == [page_id] and result.acted == []
    assert notion.value(page_id, "Status") == "Final Review"
    log = notion.value(page_id, "Error Log")
    assert log.startswith(
        "Moved back to 'Final Review': moving the card to 'Approved' would approve this video, "
        f"but Notion user {stranger} is not mapped to a user here."
    )
    assert f"/admin/review/{task.pk}/" in log
    task.refresh_from_db()
    assert task.status == Status.FINAL_REVIEW
    assert not Review.objects.filter(task=task).exists()
    audit = AuditLog.objects.get(task=task)
    assert audit.action == "notion_move_refused" and audit.actor == stranger
    assert audit.metadata["moved_to"] == "Approved" and audit.metadata["user"] == ""
    # our correction is signed by our integration, and a later poll leaves the card alone
    assert notion.pages[page_id]["last_edited_by"] == {
        "object": "user",
        "id": notion.bot_user_id(token),
    }
    assert notion_poll_channel(channel_id=channel.id).moved_back == []
    assert AuditLog.objects.filter(task=task).count() == 1


def test_a_mapped_user_without_the_review_permission_is_moved_back(board, notion, at_final_review):
    channel, _ = board
    task, page_id = at_final_review
    bob, bob_in_notion = _person("bob", "pipeline.change_videotask")

    notion.move_card(page_id, "Approved", by=bob_in_notion)
    result = notion_poll_channel(channel_id=channel.id)

    assert result.moved_back == [page_id]
    assert notion.value(page_id, "Status") == "Final Review"
    assert "bob (Notion user" in notion.value(page_id, "Error Log")
    assert "lacks the permission 'reviews.can_review'" in notion.value(page_id, "Error Log")
    task.refresh_from_db()
    assert task.status == Status.FINAL_REVIEW and not Review.objects.filter(task=task).exists()
    audit = AuditLog.objects.get(task=task, action="notion_move_refused")
    assert audit.actor == bob_in_notion and audit.metadata["user"] == "bob"


def test_an_inactive_reviewer_is_moved_back(board, notion, at_final_review):
    channel, _ = board
    task, page_id = at_final_review
    _, carol_in_notion = _person("carol", "reviews.can_review", active=False)

    notion.move_card(page_id, "Approved", by=carol_in_notion)
    notion_poll_channel(channel_id=channel.id)

    assert notion.value(page_id, "Status") == "Final Review"
    assert "whose account is inactive" in notion.value(page_id, "Error Log")
    assert not Review.objects.filter(task=task).exists()


def test_a_mapped_operator_moving_an_error_card_to_queued_retries_the_failed_step(board, notion):
    channel, data_source_id = board
    task, page_id = _task_on_card(
        channel, notion, data_source_id, Status.VIDEO_ERROR, failed_step="videos"
    )
    assert notion.value(page_id, "Status") == "Video Error"
    dana, dana_in_notion = _person("dana", "pipeline.change_videotask")

    notion.move_card(page_id, "Queued", by=dana_in_notion)
    result = notion_poll_channel(channel_id=channel.id)
    again = notion_poll_channel(channel_id=channel.id)

    assert result.acted == [page_id] and again.acted == [] and again.moved_back == []
    task.refresh_from_db()
    assert task.status == Status.GENERATING_VIDEO
    audit = AuditLog.objects.get(task=task, action="task_retry")
    assert audit.actor == "dana" and audit.notes.startswith(
        "via Notion: card moved from 'Video Error' to 'Queued'"
    )
    event = TaskEvent.objects.get(task=task, to_status=Status.GENERATING_VIDEO)
    assert event.actor == "dana" and event.reason.startswith("retry: via Notion")


def test_a_reviewer_without_the_change_permission_cannot_retry_from_the_board(board, notion):
    channel, data_source_id = board
    task, page_id = _task_on_card(channel, notion, data_source_id, Status.UPLOAD_ERROR)
    _, erin_in_notion = _person("erin", "reviews.can_review")

    notion.move_card(page_id, "Queued", by=erin_in_notion)
    result = notion_poll_channel(channel_id=channel.id)

    assert result.moved_back == [page_id]
    assert notion.value(page_id, "Status") == "Upload Error"
    assert "would retry this task" in notion.value(page_id, "Error Log")
    assert "'pipeline.change_videotask'" in notion.value(page_id, "Error Log")
    task.refresh_from_db()
    assert task.status == Status.UPLOAD_ERROR
    assert not AuditLog.objects.filter(task=task, action="task_retry").exists()
    assert AuditLog.objects.filter(task=task, action="notion_move_refused").count() == 1


def test_a_stale_card_still_showing_queued_is_no_retry(board, notion):
    channel, data_source_id = board
    task, page_id = _task_on_card(channel, notion, data_source_id, Status.QUEUED)
    assert notion.value(page_id, "Status") == "Queued"
    VideoTask.objects.filter(pk=task.pk).update(status=Status.ASSET_ERROR)  # push not yet done

    result = notion_poll_channel(channel_id=channel.id)

    assert result.acted == [] and result.moved_back == []
    assert VideoTask.objects.get(pk=task.pk).status == Status.ASSET_ERROR
    push = NotionPush.objects.get(task=task)  # our push brings the card up to date
    assert push.requested_at > push.pushed_version


def test_a_move_to_approved_from_another_column_is_corrected_as_before(board, notion):
    channel, data_source_id = board
    task, page_id = _task_on_card(channel, notion, data_source_id, Status.GENERATING_VIDEO)
    _, alice_in_notion = _person("alice", "reviews.can_review")

    notion.move_card(page_id, "Approved", by=alice_in_notion)
    result = notion_poll_channel(channel_id=channel.id)

    assert result.moved_back == [page_id]
    assert notion.value(page_id, "Error Log").startswith(
        "Moved back to 'Generating Video': the card was moved by hand"
    )
    assert VideoTask.objects.get(pk=task.pk).status == Status.GENERATING_VIDEO
    assert not Review.objects.filter(task=task).exists()


def test_a_draft_queued_from_the_board_needs_no_mapping(board, notion, storyboard_yaml):
    channel, data_source_id = board
    task, page_id = _task_on_card(channel, notion, data_source_id, Status.DRAFT)
    notion.move_card(page_id, "Queued", by=str(uuid.uuid4()))  # nobody we know

    result = notion_poll_channel(channel_id=channel.id)

    assert result.queued == [str(task.pk)]
    assert VideoTask.objects.get(pk=task.pk).status == Status.QUEUED


@pytest.mark.parametrize(
    "pasted",
    ["5BA97CC9E5E04363B33A1D80A635577F", " 5ba97cc9-e5e0-4363-b33a-1d80a635577f "],
)
def test_a_notion_user_id_is_accepted_with_or_without_dashes(pasted):
    assert notion_user_id_normalize(pasted) == "5ba97cc9-e5e0-4363-b33a-1d80a635577f"


@pytest.mark.parametrize("pasted", ["", "alice@example.com", "5ba97cc9-e5e0-4363-b33a"])
def test_a_notion_user_id_that_is_no_id_is_refused_with_the_field_named(pasted):
    with pytest.raises(ValueError, match=r"^notion_user_id: expected a Notion user id"):
        notion_user_id_normalize(pasted)

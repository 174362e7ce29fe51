"""Queueing a draft (Draft -> Queued): the service task_queue, manage.py queue_task, the admin's
action and button. The Notion board's way in is in tests/notion/test_intake.py."""

import io

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.models import AuditLog
from pipeline.models import TaskEvent, VideoTask
from pipeline.services import PipelineError
from pipeline.status import Status
from pipeline.task_actions import task_queue
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:pipeline_videotask_changelist"


def draft(**fields):
    return VideoTaskFactory(status=Status.DRAFT, **fields)


def call(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def messages_of(response):
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


# --- The service ---------------------------------------------------------------------------------


def test_it_queues_a_draft_through_the_transition_table_with_a_timeline_event_and_audit_row():
    task = draft()

    task, queued = task_queue(task_id=task.pk, actor="ann")

    assert queued and task.status == Status.QUEUED
    event = TaskEvent.objects.get(task=task)
    assert (event.from_status, event.to_status, event.actor) == ("draft", "queued", "ann")
    assert AuditLog.objects.get().action == "task_queue"


def test_queueing_twice_is_a_no_op():
    task = draft()
    task_queue(task_id=task.pk, actor="ann")

    task, queued = task_queue(task_id=task.pk, actor="bob")

    assert not queued and task.status == Status.QUEUED
    assert TaskEvent.objects.filter(task=task).count() == 1
    assert AuditLog.objects.count() == 1


@pytest.mark.parametrize("status", [Status.GENERATING_ASSETS, Status.PUBLISHED])
def test_a_task_queued_before_is_left_alone(status):
    task = VideoTaskFactory(status=status)

    assert task_queue(task_id=task.pk, actor="ann") == (task, False)
    assert VideoTask.objects.get(pk=task.pk).status == status
    assert not AuditLog.objects.exists()


@pytest.mark.parametrize("status", [Status.VIDEO_ERROR, Status.UPLOAD_ERROR])
def test_a_task_stopped_in_an_error_column_is_refused_naming_its_status(status):
    task = VideoTaskFactory(status=status)
    with pytest.raises(PipelineError) as error:
        task_queue(task_id=task.pk, actor="ann")
    label = Status(status).label
    assert str(error.value).startswith(f"task {task.pk} is in {label}, not Draft")
    assert VideoTask.objects.get(pk=task.pk).status == status


def test_a_draft_without_a_valid_storyboard_is_refused_with_the_problems():
    empty, broken = draft(storyboard={}), draft(storyboard={"title": "x", "scenes": []})
    with pytest.raises(PipelineError) as error:
        task_queue(task_id=empty.pk, actor="ann")
    assert "the draft's storyboard is not ready" in str(error.value)
    assert "the storyboard is empty" in str(error.value)
    with pytest.raises(PipelineError) as error:
        task_queue(task_id=broken.pk, actor="ann")
    assert f"task {broken.pk}: storyboard: assets" in str(error.value)
    assert VideoTask.objects.filter(status=Status.DRAFT).count() == 2


def test_a_cancelled_draft_or_one_of_an_inactive_channel_is_refused():
    cancelled = draft()
    VideoTask.objects.filter(pk=cancelled.pk).update(cancelled_at="2026-01-01T00:00:00Z")
    inactive = draft(channel=ChannelFactory(is_active=False))
    with pytest.raises(PipelineError, match="is cancelled; it cannot be queued"):
        task_queue(task_id=cancelled.pk, actor="ann")
    with pytest.raises(PipelineError, match="is inactive"):
        task_queue(task_id=inactive.pk, actor="ann")


# --- The commands --------------------------------------------------------------------------------


def test_queue_task_queues_a_draft_and_says_so_the_second_time():
    task = draft()
    assert f"task {task.pk} is queued" in call("queue_task", str(task.pk))
    assert VideoTask.objects.get(pk=task.pk).status == Status.QUEUED
    assert call("queue_task", str(task.pk)[:8]) == (
        f"task {task.pk} was already queued (now Queued); nothing to do\n"
    )


def test_queueing_a_task_already_on_its_way_does_nothing_and_says_so():
    task = VideoTaskFactory(status=Status.CLAIMED)

    assert call("queue_task", str(task.pk)) == (
        f"task {task.pk} was already queued (now Claimed); nothing to do\n"
    )


def test_queue_task_refuses_a_stopped_task_naming_its_status():
    task = VideoTaskFactory(status=Status.AUDIO_ERROR)
    with pytest.raises(CommandError, match="is in Audio Error, not Draft.*retry_task"):
        call("queue_task", str(task.pk))


def test_queue_task_names_a_bad_id():
    with pytest.raises(CommandError, match="'nope' is not a task id"):
        call("queue_task", "nope")


def test_retry_task_on_a_draft_points_to_queue_task():
    task = draft()
    with pytest.raises(CommandError, match=f"queue_task {task.pk}"):
        call("retry_task", str(task.pk))


# --- The admin -----------------------------------------------------------------------------------


def test_the_admin_action_queues_drafts_and_names_the_others(admin_client):
    drafts = [draft(), draft()]
    already = VideoTaskFactory(title="Waiting", status=Status.QUEUED)
    running = VideoTaskFactory(title="Busy", status=Status.AUDIO_ERROR)

    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "queue_drafts", "_selected_action": [t.pk for t in [*drafts, already, running]]},
    )

    assert VideoTask.objects.filter(status=Status.QUEUED).count() == 3
    messages = messages_of(response)
    assert ("success", "2 tasks queued.") in messages
    assert (
        "error",
        f"'Busy' ({running.pk}) could not be queued: task {running.pk} is in Audio Error, not "
        "Draft: only a draft can be queued (a task in an error status is sent back with "
        "retry_task)",
    ) in messages
    assert ("info", f"'Waiting' ({already.pk}) was already queued; nothing to do.") in messages


def test_the_task_page_of_a_draft_has_a_queue_button_that_queues_it(admin_client):
    task = draft()
    page = admin_client.get(reverse("admin:pipeline_videotask_change", args=[task.pk]))
    url = reverse("admin:pipeline_videotask_queue", args=[task.pk])
    html = page.content.decode()
    # the button submits the page's own POST form, which carries the CSRF token
    form_start = html.index('id="videotask_form"')
    assert form_start < html.index(f'formaction="{url}"') < html.index("</form>", form_start)
    assert "csrfmiddlewaretoken" in html[form_start:]

    response = admin_client.post(url)

    assert response.status_code == 302
    assert response.url == reverse("admin:pipeline_videotask_change", args=[task.pk])
    assert VideoTask.objects.get(pk=task.pk).status == Status.QUEUED
    page = admin_client.get(response.url)
    assert b"1 task queued." in page.content
    assert b"Queue this draft" not in page.content
    again = admin_client.post(url)
    assert messages_of(again) == [
        ("info", f"'{task.title}' ({task.pk}) was already queued; nothing to do.")
    ]


def test_the_queue_button_needs_a_post_and_the_change_permission(client):
    task = draft()
    viewer = User.objects.create_user("vic", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_videotask"))
    client.force_login(viewer)
    url = reverse("admin:pipeline_videotask_queue", args=[task.pk])

    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 403
    assert VideoTask.objects.get(pk=task.pk).status == Status.DRAFT


def test_the_queue_button_works_with_csrf_checks_as_a_browser_sends_it(admin_user):
    import re

    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    task = draft()
    page = browser.get(reverse("admin:pipeline_videotask_change", args=[task.pk])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    action = re.search(r'formaction="([^"]+)"', page)[1]

    assert browser.post(action).status_code == 403  # no token: refused
    assert browser.post(action, {"csrfmiddlewaretoken": token}).status_code == 302
    assert VideoTask.objects.get(pk=task.pk).status == Status.QUEUED

"""The "New video" form on the task list: a topic in, a draft task out (pipeline.drafting)."""

import pytest
from django.urls import reverse

from core.models import AuditLog
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.status import Status
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

NEW = reverse("admin:pipeline_videotask_new")


@pytest.fixture
def channel(workspace):
    return ChannelFactory(id="pokechannel1", priority="normal")


def test_the_task_list_links_to_the_new_video_form(admin_client, channel):
    html = admin_client.get(reverse("admin:pipeline_videotask_changelist")).content.decode()
    assert f'<a href="{NEW}" class="addlink" id="vg-new-video">New video</a>' in html


def test_the_form_renders_with_its_fields(admin_client, channel):
    response = admin_client.get(NEW)

    assert response.status_code == 200
    html = response.content.decode()
    for name in ("channel", "topic", "direction", "priority", "scenes", "queue"):
        assert f'name="{name}"' in html
    assert '<option value="pokechannel1">' in html
    assert "manage.py create_task" in html  # the precise way stays documented


def test_posting_it_creates_a_draft_whose_storyboard_the_writer_drafts(
    admin_client, channel, superuser
):
    response = admin_client.post(
        NEW,
        {"channel": "pokechannel1", "topic": "the secret life of axolotls",
         "direction": "end with a regrown limb", "priority": "high", "scenes": "6"},
    )  # fmt: skip

    task = VideoTask.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reviews:task", args=[task.pk])  # where it is queued
    assert (task.status, task.storyboard, task.topic) == (
        Status.DRAFT, {}, "the secret life of axolotls",
    )  # fmt: skip
    assert (task.story_direction, task.priority, task.draft_scenes) == (
        "end with a regrown limb", "high", 6,
    )  # fmt: skip
    assert task.queue_when_drafted is False
    item = WorkItem.objects.get(task=task, step="draft")
    assert (item.unit, item.state, item.script) == ("storyboard", WorkState.PENDING,
                                                     "generate_storyboard")  # fmt: skip
    audit = AuditLog.objects.get(action="task_draft_create")
    assert audit.actor == superuser.username
    page = admin_client.get(response["Location"]).content.decode()
    assert "the writer is drafting its storyboard; queue it when ready." in page
    assert 'id="vg-drafting"' in page


def test_the_queue_box_asks_to_queue_it_once_drafted(admin_client, channel):
    admin_client.post(NEW, {"channel": "pokechannel1", "topic": "axolotls", "queue": "on"})

    task = VideoTask.objects.get()
    assert task.queue_when_drafted is True and task.priority == "normal"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"topic": ""}, "This field is required."),
        ({"scenes": "40"}, "Ensure this value is less than or equal to 18."),
        ({"scenes": "2"}, "Ensure this value is greater than or equal to 4."),
        ({"channel": "nope"}, "Select a valid choice."),
        ({"priority": "urgent"}, "Select a valid choice."),
        ({"topic": "x" * 1001}, "Topic is 1001 characters; the writer takes at most 1000"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_creates_nothing(admin_client, channel, data, error):
    response = admin_client.post(NEW, {"channel": "pokechannel1", "topic": "axolotls", **data})

    assert response.status_code == 200
    assert error in response.content.decode()
    assert not VideoTask.objects.exists()


def test_an_inactive_channel_is_not_offered(admin_client, channel):
    ChannelFactory(id="sleepy", is_active=False)
    html = admin_client.get(NEW).content.decode()
    assert '<option value="sleepy">' not in html


def test_staff_without_the_add_permission_get_403_and_no_link(client, viewer, channel):
    client.force_login(viewer)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {"channel": "pokechannel1", "topic": "axolotls"}).status_code == 403
    html = client.get(reverse("admin:pipeline_videotask_changelist")).content.decode()
    assert "vg-new-video" not in html
    assert not VideoTask.objects.exists()


def test_a_topic_over_the_limit_is_refused_saying_so_and_never_cut(admin_client, channel):
    topic = "axolotls " * 560 + "!"  # 5,041 characters

    form = admin_client.get(NEW).content.decode()
    response = admin_client.post(NEW, {"channel": "pokechannel1", "topic": topic})

    page = response.content.decode()
    assert 'maxlength="1000"' not in form
    assert "Topic is 5041 characters; the writer takes at most 1000" in page
    assert "nothing was cut" in page
    assert not VideoTask.objects.exists()

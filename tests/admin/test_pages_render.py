"""Every control-room page renders, for a superuser, with a task at each gate."""

import pytest
from django.urls import reverse

from pipeline.status import Status
from tests.admin.conftest import add_costs, make_outputs
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def gated_tasks(workspace, sample_media):
    channel = ChannelFactory(id="gated", review_gates=["assets", "video", "audio"])
    tasks = {
        "assets": make_outputs(
            VideoTaskFactory(channel=channel, status=Status.ASSETS_READY), sample_media, ["assets"]
        ),
        "video": make_outputs(
            VideoTaskFactory(channel=channel, status=Status.VIDEO_READY),
            sample_media,
            ["assets", "composites", "videos"],
        ),
        "audio": make_outputs(
            VideoTaskFactory(channel=channel, status=Status.AUDIO_READY),
            sample_media,
            ["assets", "composites", "videos", "audio"],
        ),
    }
    for task in tasks.values():
        add_costs(task)
    return tasks


def test_it_shows_a_video_player_fed_by_the_media_view_at_final_review(admin_client, final_task):
    response = admin_client.get(reverse("reviews:task", args=[final_task.pk]))

    assert response.status_code == 200
    media_url = reverse(
        "media",
        kwargs={"relative": f"channels/pokechannel1/projects/{final_task.pk}/final.mp4"},
    )
    html = response.content.decode()
    assert (
        f'<video id="final-video" class="vg-player" controls preload="metadata" src="{media_url}"'
        in html
    )
    assert "In the heart of the forest, something stirs." in html  # narration
    assert "slow dolly in" in html and "wind through leaves" in html  # motion, sfx
    assert "$1.48" in html  # cost so far
    assert 'name="decision" value="approve"' in html


def test_it_shows_a_contact_sheet_of_images_at_the_assets_gate(admin_client, gated_tasks):
    html = admin_client.get(reverse("reviews:task", args=[gated_tasks["assets"].pk])).content
    assert html.count(b"<img src=") == 2  # bulbasaur and forest


def test_it_shows_the_clips_at_the_video_gate(admin_client, gated_tasks):
    html = admin_client.get(reverse("reviews:task", args=[gated_tasks["video"].pk])).content
    assert b'<video controls preload="metadata" src="/admin/media/channels/gated/' in html


def test_it_shows_audio_players_at_the_audio_gate(admin_client, gated_tasks):
    html = admin_client.get(reverse("reviews:task", args=[gated_tasks["audio"].pk])).content
    assert b'<audio controls preload="none" src="/admin/media/channels/gated/' in html


def test_it_lists_every_gate_in_the_queue_only_where_the_gate_is_on(
    admin_client, gated_tasks, final_task
):
    ungated = ChannelFactory(id="ungated", review_gates=[])
    passing = VideoTaskFactory(channel=ungated, status=Status.ASSETS_READY, title="Passing by")

    html = admin_client.get(reverse("reviews:queue")).content.decode()

    for task in [*gated_tasks.values(), final_task]:
        assert str(task.title) in html
    assert passing.title not in html


@pytest.mark.parametrize("name", ["dashboard", "spend", "quota", "admin:index", "reviews:queue"])
def test_it_renders_the_control_room_pages(admin_client, final_task, name):
    response = admin_client.get(reverse(name))
    assert response.status_code == 200
    assert b'id="vg-nav"' in response.content  # the admin's base_site with our links


def test_it_links_the_control_room_from_the_admin_index(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    for name in ("dashboard", "reviews:queue", "spend", "quota"):
        assert f'href="{reverse(name)}"' in html


def test_it_renders_the_task_change_page_with_timeline_and_scenes(admin_client, final_task):
    response = admin_client.get(reverse("admin:pipeline_videotask_change", args=[final_task.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "timeline" in html.lower() and "per-scene status" in html.lower()
    assert reverse("reviews:task", args=[final_task.pk]) in html


def test_it_filters_tasks_by_status_group_and_by_gate(admin_client, gated_tasks, final_task):
    url = reverse("admin:pipeline_videotask_changelist")

    waiting = admin_client.get(url, {"group": "awaiting_review"}).context["cl"].result_list
    at_final = admin_client.get(url, {"gate": "final"}).context["cl"].result_list

    assert {task.pk for task in waiting} == {final_task.pk, *(t.pk for t in gated_tasks.values())}
    assert [task.pk for task in at_final] == [final_task.pk]


def test_it_shows_the_task_page_read_only_to_staff_who_may_only_view(client, viewer, final_task):
    client.force_login(viewer)
    response = client.get(reverse("admin:pipeline_videotask_change", args=[final_task.pk]))

    assert response.status_code == 200
    assert b'name="_save"' not in response.content


def test_it_links_the_notion_card_and_the_youtube_video_when_they_exist(admin_client, final_task):
    from pipeline.models import Video

    final_task.__class__.objects.filter(pk=final_task.pk).update(
        notion_page_id="1a2b3c4d-0000-1111-2222-333344445555"
    )
    Video.objects.create(
        task=final_task, final_path="final.mp4", youtube_url="https://youtu.be/abc123"
    )

    html = admin_client.get(
        reverse("admin:pipeline_videotask_change", args=[final_task.pk])
    ).content.decode()

    assert 'href="https://www.notion.so/1a2b3c4d000011112222333344445555"' in html
    assert 'href="https://youtu.be/abc123"' in html

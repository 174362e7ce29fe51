"""A published task's page keeps what was published and when: the title, description, tags and
thumbnail as they were sent, the upload and public times, and the video's link (or local file)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline.models import Upload, Video, VideoTask
from pipeline.publish_local import publish_locally
from pipeline.status import Status

pytestmark = pytest.mark.django_db


def _published(task, **video):
    VideoTask.objects.filter(pk=task.pk).update(status=Status.PUBLISHED)
    Video.objects.create(task=task, final_path="final.mp4", published_at=timezone.now(), **video)
    task.refresh_from_db()
    return task


def test_a_locally_published_task_shows_what_went_out_and_the_file(admin_client, final_task):
    publish_locally(final_task)
    _published(final_task)

    page = admin_client.get(reverse("reviews:task", args=[final_task.pk])).content.decode()

    section = page.split('id="vg-published"')[1].split("</section>")[0]
    assert "The Secret Life of Bulbasaur" in section
    assert "published file (local upload provider)" in section
    assert '<time datetime="' in section.split('id="vg-published-at"')[1]
    assert "on upload" in section


def test_a_task_published_on_youtube_shows_the_request_it_sent(admin_client, final_task):
    public_at = timezone.now() + dt.timedelta(days=1)
    Upload.objects.create(
        task=final_task, state="done", video_id="abc123xyz00", publish_at=public_at,
        request_body={
            "snippet": {"title": "Bulbasaur at dusk", "description": "A bulb opens.",
                        "tags": ["bulbasaur", "videogen-" + "0" * 32], "categoryId": "15"},
            "status": {"privacyStatus": "private"},
        },
    )  # fmt: skip
    _published(final_task, youtube_url="https://youtu.be/abc123xyz00")

    page = admin_client.get(reverse("reviews:task", args=[final_task.pk])).content.decode()

    section = page.split('id="vg-published"')[1].split("</section>")[0]
    assert "Bulbasaur at dusk" in section and "A bulb opens." in section
    assert ">bulbasaur<" in section and "videogen-000" not in section
    assert 'href="https://youtu.be/abc123xyz00"' in section
    assert "Pets &amp; Animals (15)" in section and "scheduled" in section

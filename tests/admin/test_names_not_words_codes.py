"""People read names and words: the product's name in the header, "View site" to the queue,
channel and category names, audit actions in words, a storyboard edit as a diff, one date
format, and a task's History that shows its audit rows."""

import re

import pytest
from django.urls import reverse

from core.models import AuditLog
from pipeline.models import VideoTask
from pipeline.storyboard_edits import storyboard_yaml, task_storyboard_edit

pytestmark = pytest.mark.django_db


def test_the_header_names_the_product_and_view_site_opens_the_queue(admin_client, final_task):
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert "videogen control room" in page and "Django administration" not in page
    assert 'href="/admin/review/">View site' in page
    assert admin_client.get("/admin/review/").status_code == 200


def test_lists_and_forms_show_the_channel_by_its_name(admin_client, final_task):
    tasks = admin_client.get(reverse("admin:pipeline_videotask_changelist")).content.decode()
    new_video = admin_client.get(reverse("admin:pipeline_videotask_new")).content.decode()

    assert "Poke Channel" in tasks
    assert '<option value="pokechannel1">Poke Channel</option>' in new_video


def test_the_model_list_says_youtube(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert "YouTube quota usage" in page and "You tube" not in page


def test_a_storyboard_edit_reads_as_a_diff_and_actions_as_words(admin_client, final_task):
    edited = {**final_task.storyboard, "atmosphere": "a rainy night"}
    task_storyboard_edit(task_id=final_task.pk, actor="rita", text=storyboard_yaml(edited))
    entry = AuditLog.objects.get(action="storyboard_edit")

    listing = admin_client.get(reverse("admin:core_auditlog_changelist")).content.decode()
    record = admin_client.get(
        reverse("admin:core_auditlog_change", args=[entry.pk])
    ).content.decode()

    assert "storyboard edited" in listing and ">storyboard_edit<" not in listing
    assert 'class="vg-diff"' in record and "+atmosphere: a rainy night" in record
    assert "\\n" not in record.split('class="vg-diff"')[1].split("</pre>")[0]


def test_a_tasks_history_button_shows_its_audit_rows(admin_client, final_task):
    AuditLog.objects.create(actor="rita", action="task_queue", task=final_task)
    other = VideoTask.objects.create(channel=final_task.channel, title="Other", storyboard={})
    AuditLog.objects.create(actor="rita", action="task_cancel", task=other)

    response = admin_client.get(
        reverse("admin:pipeline_videotask_history", args=[final_task.pk]), follow=True
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert 'field-action_label">draft queued<' in page
    assert 'field-action_label">cancelled<' not in page


def test_dates_read_one_way_with_utc_on_hover(admin_client, final_task):
    record = admin_client.get(
        reverse("admin:pipeline_videotask_change", args=[final_task.pk])
    ).content.decode()
    review = admin_client.get(reverse("reviews:queue")).content.decode()

    assert "p.m." not in record and "a.m." not in record
    assert f"{final_task.created_at:%Y-%m-%d %H:%M} UTC" in record
    assert re.search(r'<time datetime="[^"]+" title="[-0-9]{10} [:0-9]{8} UTC"', review)


def test_the_category_is_named(admin_client, final_task):
    page = admin_client.get(
        reverse("admin:channels_app_channel_change", args=[final_task.channel_id])
    ).content.decode()

    assert "People &amp; Blogs (22)" in page

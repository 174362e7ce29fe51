"""Who may see and do what: anonymous users get the login page (never a file), staff without the
review permission see read-only pages and cannot decide, CSRF is enforced, the audit log cannot be
changed through the admin by anyone."""

import pytest
from django.test import Client
from django.urls import reverse

from core.audit import audit_log_record
from core.models import AuditLog
from pipeline.models import VideoTask
from pipeline.status import Status
from reviews.models import Review

pytestmark = pytest.mark.django_db


def _final_mp4(task):
    return reverse(
        "media", kwargs={"relative": f"channels/{task.channel_id}/projects/{task.pk}/final.mp4"}
    )


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/pipeline/videotask/",
        "/admin/core/auditlog/",
        "/admin/review/",
        "/admin/dashboard/",
        "/admin/spend/",
        "/admin/spend/export.csv",
        "/admin/quota/",
    ],
)
def test_it_sends_anonymous_users_to_the_login_page(client, final_task, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


def test_it_sends_anonymous_users_to_the_login_page_instead_of_the_file(client, final_task):
    response = client.get(_final_mp4(final_task), HTTP_RANGE="bytes=0-")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")
    assert not getattr(response, "streaming", False)


def test_it_sends_logged_in_non_staff_users_to_the_login_page(
    client, final_task, django_user_model
):
    client.force_login(django_user_model.objects.create_user("nostaff", password="x" * 12))

    assert client.get(_final_mp4(final_task))["Location"].startswith("/admin/login/")
    assert client.get(reverse("reviews:queue"))["Location"].startswith("/admin/login/")


def test_it_refuses_media_and_the_queue_to_staff_without_any_task_permission(
    client, final_task, django_user_model
):
    client.force_login(django_user_model.objects.create_user("bare", is_staff=True))

    assert client.get(_final_mp4(final_task)).status_code == 403
    assert client.get(reverse("reviews:queue")).status_code == 403


def test_it_shows_the_review_page_read_only_to_staff_without_the_permission(
    client, viewer, final_task
):
    client.force_login(viewer)
    response = client.get(reverse("reviews:task", args=[final_task.pk]))

    assert response.status_code == 200
    assert b"you can see this review but not decide it" in response.content.lower()
    assert b'name="decision"' not in response.content
    assert client.get(_final_mp4(final_task)).status_code == 200  # may still watch


def test_it_refuses_an_approval_from_staff_without_the_permission_and_changes_nothing(
    client, viewer, final_task
):
    client.force_login(viewer)
    response = client.post(
        reverse("reviews:decide", args=[final_task.pk]),
        {"decision": "approve", "visit": final_task.status_changed_at.isoformat()},
    )

    assert response.status_code == 403
    assert VideoTask.objects.get(pk=final_task.pk).status == Status.FINAL_REVIEW
    assert not Review.objects.exists() and not AuditLog.objects.exists()


def test_it_enforces_csrf_on_approve_and_reject(reviewer, final_task):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    url = reverse("reviews:decide", args=[final_task.pk])
    visit = final_task.status_changed_at.isoformat()

    approve = client.post(url, {"decision": "approve", "visit": visit})
    reject = client.post(url, {"decision": "reject", "notes": "no", "visit": visit})

    assert (approve.status_code, reject.status_code) == (403, 403)
    assert b"CSRF" in approve.content
    assert VideoTask.objects.get(pk=final_task.pk).status == Status.FINAL_REVIEW
    assert not Review.objects.exists()


def test_it_accepts_the_decision_with_the_csrf_token_of_the_page(reviewer, final_task):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    page = client.get(reverse("reviews:task", args=[final_task.pk]))
    token = page.context["csrf_token"]

    response = client.post(
        reverse("reviews:decide", args=[final_task.pk]),
        {
            "decision": "approve",
            "notes": "lovely",
            "visit": final_task.status_changed_at.isoformat(),
            "csrfmiddlewaretoken": str(token),
        },
    )

    assert response.status_code == 302
    assert VideoTask.objects.get(pk=final_task.pk).status == Status.APPROVED


@pytest.fixture
def entry(final_task):
    return audit_log_record(actor="ada", action="review_approved", task=final_task, notes="ok")


def test_it_refuses_adding_changing_and_deleting_audit_rows_even_for_a_superuser(
    admin_client, entry
):
    change = reverse("admin:core_auditlog_change", args=[entry.pk])

    assert admin_client.get(reverse("admin:core_auditlog_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:core_auditlog_add"), {"actor": "x"}).status_code == 403
    )
    assert admin_client.post(change, {"actor": "mallory", "action": "x"}).status_code == 403
    assert (
        admin_client.get(reverse("admin:core_auditlog_delete", args=[entry.pk])).status_code
        == 403
    )
    assert (
        admin_client.post(
            reverse("admin:core_auditlog_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    bulk = admin_client.post(
        reverse("admin:core_auditlog_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302)
    entry.refresh_from_db()
    assert (entry.actor, entry.action, AuditLog.objects.count()) == ("ada", "review_approved", 1)


def test_it_shows_an_audit_row_read_only_without_save_buttons(admin_client, entry):
    response = admin_client.get(reverse("admin:core_auditlog_change", args=[entry.pk]))

    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert b"deletelink" not in response.content


def test_it_offers_no_write_to_tasks_reviews_or_costs_through_the_admin(admin_client, final_task):
    for model in ("pipeline/videotask", "reviews/review", "costs/videocost"):
        assert admin_client.get(f"/admin/{model}/add/").status_code == 403
    change = reverse("admin:pipeline_videotask_change", args=[final_task.pk])
    assert admin_client.post(change, {"title": "hijacked"}).status_code == 403
    assert VideoTask.objects.get(pk=final_task.pk).title == "The Secret Life of Bulbasaur"

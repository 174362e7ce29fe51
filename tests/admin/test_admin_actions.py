"""Operator actions in the admin call the services, count what they did, name what failed, and
leave an audit row: retry, cancel, budget override, credential change."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from channels_app.models import ChannelSecret
from channels_app.services import BudgetOverrideInvalid, budget_override, channel_secret_get
from core.models import AuditLog
from pipeline.models import VideoTask
from pipeline.status import Status
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:pipeline_videotask_changelist"


def _messages(response):
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def _act(client, action, tasks):
    return client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [t.pk for t in tasks]}
    )


def test_it_retries_failed_tasks_and_names_the_ones_it_could_not_retry(admin_client):
    channel = ChannelFactory(id="retry")
    failed = VideoTaskFactory(
        channel=channel, title="Broken", status=Status.VIDEO_ERROR, failed_step="videos"
    )
    running = VideoTaskFactory(channel=channel, title="Busy", status=Status.GENERATING_AUDIO)

    response = _act(admin_client, "retry_tasks", [failed, running])

    assert VideoTask.objects.get(pk=failed.pk).status == Status.GENERATING_VIDEO
    assert _messages(response) == [
        ("success", "1 task sent back to the step that failed."),
        (
            "error",
            f"'Busy' ({running.pk}) could not be retried: task {running.pk} is generating_audio, "
            "not in an error status: nothing to retry",
        ),
    ]
    assert AuditLog.objects.get().action == "task_retry"


def test_it_cancels_tasks_and_names_the_published_one_it_refused(admin_client):
    channel = ChannelFactory(id="cancel")
    queued = [VideoTaskFactory(channel=channel, status=Status.QUEUED) for _ in range(2)]
    published = VideoTaskFactory(channel=channel, title="Out", status=Status.PUBLISHED)

    response = _act(admin_client, "cancel_tasks", [*queued, published])

    assert VideoTask.objects.filter(cancelled_at__isnull=False).count() == 2
    messages = _messages(response)
    assert messages[0] == ("success", "2 tasks cancelled.")
    assert messages[1][0] == "error" and "'Out'" in messages[1][1] and "published" in messages[1][1]
    assert AuditLog.objects.filter(action="task_cancel").count() == 2


def test_it_offers_no_actions_to_staff_who_may_only_view_tasks(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert b"retry_tasks" not in response.content


def test_it_overrides_a_budget_with_notes_and_an_audit_row(admin_client):
    channel = ChannelFactory(id="budget")
    url = reverse("admin:channels_app_channel_change", args=[channel.pk])

    refused = admin_client.post(url, {"budget_daily_usd": "80", "budget_weekly_usd": "300"})
    assert refused.status_code == 200  # the form again: notes are required
    assert b"Say why the budget changes." in refused.content

    response = admin_client.post(
        url,
        {"budget_daily_usd": "80", "budget_weekly_usd": "300", "override_notes": "launch week"},
    )

    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.budget_daily_usd == Decimal("80.00")
    entry = AuditLog.objects.get(action="budget_override")
    assert (entry.actor, entry.object_id, entry.notes) == ("root", "budget", "launch week")
    assert entry.metadata["daily_usd"] == ["50.00", "80.00"]


def test_it_refuses_a_budget_override_that_breaks_the_rules(db):
    channel = ChannelFactory(id="rules")
    with pytest.raises(BudgetOverrideInvalid, match="needs notes"):
        budget_override(channel=channel, actor="ada", daily_usd=10, notes="")
    with pytest.raises(BudgetOverrideInvalid, match="below the daily budget"):
        budget_override(channel=channel, actor="ada", daily_usd=400, notes="x")
    with pytest.raises(BudgetOverrideInvalid, match="positive"):
        budget_override(channel=channel, actor="ada", weekly_usd="-5", notes="x")
    assert not AuditLog.objects.exists()


def test_it_stores_a_credential_write_only_and_audits_the_change(admin_client):
    channel = ChannelFactory(id="creds")
    response = admin_client.post(
        reverse("admin:channels_app_channelsecret_add"),
        {"channel": channel.pk, "name": "kie_api_key", "new_value": "kie-secret-123\n"},
    )

    assert response.status_code == 302
    assert channel_secret_get(channel=channel, name="kie_api_key") == "kie-secret-123"
    secret = ChannelSecret.objects.get()
    entry = AuditLog.objects.get(action="credential_changed")
    assert entry.metadata == {"name": "kie_api_key", "created": True}
    assert "kie-secret-123" not in str(entry.metadata) + entry.notes

    for url in (
        reverse("admin:channels_app_channelsecret_change", args=[secret.pk]),
        reverse("admin:channels_app_channelsecret_changelist"),
    ):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert b"kie-secret-123" not in page.content

    admin_client.post(
        reverse("admin:channels_app_channelsecret_change", args=[secret.pk]),
        {"new_value": "kie-secret-456"},
    )
    assert channel_secret_get(channel=channel, name="kie_api_key") == "kie-secret-456"
    assert AuditLog.objects.filter(action="credential_changed").count() == 2

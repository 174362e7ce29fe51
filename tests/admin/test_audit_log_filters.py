"""The audit log as an auditor reads it: every row carries its channel (the task's, or the
channel acted on), and the admin filters by channel, action, actor and period."""

import pytest
from django.urls import reverse

from core.audit import audit_log_record
from core.models import AuditLog
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail():
    poke = ChannelFactory(id="poke", name="Poké Nature")
    cats = ChannelFactory(id="cats", name="Cat Facts")
    audit_log_record(actor="ada", action="review_approved", task=VideoTaskFactory(channel=poke))
    audit_log_record(actor="bob", action="review_rejected", task=VideoTaskFactory(channel=cats))
    audit_log_record(actor="ada", action="budget_override", object_type="channel", object_id="cats")
    audit_log_record(actor="ada", action="notion_user_mapped", object_type="notion_user")
    return poke, cats


def test_it_gives_each_row_the_channel_of_its_task_or_of_the_channel_acted_on(trail):
    rows = dict(AuditLog.objects.values_list("action", "channel_id"))

    assert rows == {
        "review_approved": "poke",
        "review_rejected": "cats",
        "budget_override": "cats",
        "notion_user_mapped": None,
    }


def test_it_filters_the_audit_log_by_channel_action_actor_and_period(admin_client, trail):
    url = reverse("admin:core_auditlog_changelist")

    by_channel = admin_client.get(url, {"channel__id__exact": "cats"})
    by_actor = admin_client.get(url, {"actor": "ada", "action": "review_approved"})
    by_period = admin_client.get(
        url, {"created_at__gte": "2000-01-01 00:00:00+00:00", "channel__id__exact": "poke"}
    )

    assert by_channel.status_code == by_actor.status_code == by_period.status_code == 200
    assert [row.action for row in by_channel.context["cl"].result_list] == [
        "budget_override",
        "review_rejected",
    ]
    assert [row.actor for row in by_actor.context["cl"].result_list] == ["ada"]
    assert [row.action for row in by_period.context["cl"].result_list] == ["review_approved"]
    assert "Cat Facts" in by_channel.content.decode()  # the channel's name, not its id

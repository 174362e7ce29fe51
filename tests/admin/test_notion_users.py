"""The Notion user mapping in the admin: ids are checked and kept as Notion writes them, and each
change is in the audit log."""

import pytest
from django.urls import reverse

from core.models import AuditLog
from reviews.models import NotionUser
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOTION_ID = "5ba97cc9-e5e0-4363-b33a-1d80a635577f"


def test_it_maps_a_notion_user_pasted_without_dashes_and_audits_it(admin_client):
    alice = UserFactory(username="alice")

    response = admin_client.post(
        reverse("admin:reviews_notionuser_add"),
        {"notion_user_id": NOTION_ID.replace("-", "").upper(), "user": alice.pk, "name": "Alice"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    mapping = NotionUser.objects.get()
    assert mapping.notion_user_id == NOTION_ID and mapping.user == alice
    audit = AuditLog.objects.get(action="notion_user_mapped")
    assert audit.actor == "root" and audit.notes == f"Notion user {NOTION_ID} acts as alice"


def test_it_refuses_what_is_no_notion_user_id_and_names_the_field(admin_client):
    alice = UserFactory(username="alice")

    response = admin_client.post(
        reverse("admin:reviews_notionuser_add"),
        {"notion_user_id": "alice@example.com", "user": alice.pk},
    )

    assert response.status_code == 200
    assert "notion_user_id: expected a Notion user id" in response.content.decode()
    assert not NotionUser.objects.exists() and not AuditLog.objects.exists()


def test_it_refuses_a_notion_user_mapped_twice(admin_client):
    NotionUser.objects.create(notion_user_id=NOTION_ID, user=UserFactory(username="alice"))

    response = admin_client.post(
        reverse("admin:reviews_notionuser_add"),
        {"notion_user_id": NOTION_ID.upper(), "user": UserFactory(username="bob").pk},
    )

    assert response.status_code == 200
    assert "Notion user with this Notion user id already exists" in response.content.decode()
    assert NotionUser.objects.get().user.username == "alice"


def test_it_audits_a_mapping_deleted_from_the_changelist(admin_client):
    mapping = NotionUser.objects.create(
        notion_user_id=NOTION_ID, user=UserFactory(username="alice")
    )

    response = admin_client.post(
        reverse("admin:reviews_notionuser_changelist"),
        {"action": "delete_selected", "_selected_action": [mapping.pk], "post": "yes"},
    )

    assert response.status_code == 302
    assert not NotionUser.objects.exists()
    audit = AuditLog.objects.get(action="notion_user_unmapped")
    assert audit.actor == "root"
    assert audit.metadata == {"notion_user_id": NOTION_ID, "user": "alice"}

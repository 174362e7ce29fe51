"""The "Reviewers" group (migration reviews 0003) exists with the review permission, and its
members can decide where other staff can only look."""

import importlib

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission

pytestmark = pytest.mark.django_db
migration = importlib.import_module("reviews.migrations.0003_reviewers_group")


def test_it_creates_the_reviewers_group_with_the_review_permission():
    Group.objects.filter(name="Reviewers").delete()  # as on a fresh database
    migration.create_group(global_apps, None)

    group = Group.objects.get(name="Reviewers")
    codenames = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert ("reviews", "can_review") in codenames
    assert ("pipeline", "view_videotask") in codenames


def test_it_creates_the_permission_rows_itself_when_post_migrate_has_not_run_yet():
    Group.objects.filter(name="Reviewers").delete()
    Permission.objects.filter(codename="can_review").delete()

    migration.create_group(global_apps, None)

    group = Group.objects.get(name="Reviewers")
    assert group.permissions.filter(codename="can_review").exists()


def test_it_can_run_twice_without_duplicates():
    # Run today, the function also grants a reviews.view_auditlog again: the audit log's own
    # permission moved to core with its model (core 0001 relabelled it). A second run adds none.
    migration.create_group(global_apps, None)
    granted = set(Group.objects.get(name="Reviewers").permissions.values_list("pk", flat=True))
    migration.create_group(global_apps, None)
    assert Permission.objects.filter(codename="can_review").count() == 1
    again = set(Group.objects.get(name="Reviewers").permissions.values_list("pk", flat=True))
    assert again == granted
    assert len(granted) == len(migration.PERMISSIONS) + 1


def test_it_gives_a_member_the_right_to_decide(reviewer, viewer):
    assert reviewer.has_perm("reviews.can_review")
    assert not viewer.has_perm("reviews.can_review")


def test_a_member_still_views_the_audit_log_after_it_moved_to_core(reviewer):
    # The group was granted reviews.view_auditlog; core 0001 relabelled that permission's
    # content type, so the same grant now reads core.view_auditlog.
    assert reviewer.has_perm("core.view_auditlog")

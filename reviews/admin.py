"""Reviews and the audit trail in the admin: both written only by services, so read-only here.
The audit log refuses add, change and delete for everyone, superusers included (the database
refuses UPDATE and DELETE as well)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from reviews.models import AuditLog, Review
from videogen.admin_base import ReadOnlyAdminMixin


def _task_link(task):
    if task is None:
        return "-"
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:pipeline_videotask_change", args=[task.pk]), task
    )


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "task_link", "gate", "decision", "reviewer_name", "notes_short")
    list_select_related = ("task",)
    list_filter = ("gate", "decision")
    search_fields = ("reviewer_name", "notes", "task__title")
    date_hierarchy = "created_at"

    @admin.display(description="task", ordering="task__title")
    def task_link(self, review):
        return _task_link(review.task)

    @admin.display(description="notes")
    def notes_short(self, review):
        return review.notes[:80] + ("…" if len(review.notes) > 80 else "")


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "actor", "action", "task_link", "object", "notes_short")
    list_select_related = ("task",)
    list_filter = ("action",)
    search_fields = ("actor", "action", "notes", "object_id")
    date_hierarchy = "created_at"
    actions = None

    @admin.display(description="task", ordering="task__title")
    def task_link(self, entry):
        return _task_link(entry.task)

    @admin.display(description="object")
    def object(self, entry):
        return f"{entry.object_type} {entry.object_id}".strip() or "-"

    @admin.display(description="notes")
    def notes_short(self, entry):
        return entry.notes[:80] + ("…" if len(entry.notes) > 80 else "")

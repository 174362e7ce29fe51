"""Reviews and the audit trail in the admin: both written only by services, so read-only here.
The audit log refuses add, change and delete for everyone, superusers included (the database
refuses UPDATE and DELETE as well)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from reviews.models import AuditLog, NotionUser, Review
from reviews.services import audit_log_record
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
    list_display = (
        "created_at", "actor", "action", "channel_name", "task_link", "object", "notes_short",
    )  # fmt: skip
    list_select_related = ("task", "channel")
    # What an auditor asks: one channel, one kind of action, one person, one period.
    list_filter = ("channel", "action", ("actor", admin.AllValuesFieldListFilter), "created_at")
    search_fields = ("actor", "action", "notes", "object_id")
    date_hierarchy = "created_at"
    actions = None

    @admin.display(description="task", ordering="task__title")
    def task_link(self, entry):
        return _task_link(entry.task)

    @admin.display(description="channel", ordering="channel__name")
    def channel_name(self, entry):
        return entry.channel.name if entry.channel else "-"

    @admin.display(description="object")
    def object(self, entry):
        return f"{entry.object_type} {entry.object_id}".strip() or "-"

    @admin.display(description="notes")
    def notes_short(self, entry):
        return entry.notes[:80] + ("…" if len(entry.notes) > 80 else "")


@admin.register(NotionUser)
class NotionUserAdmin(admin.ModelAdmin):
    """Who a person on the Notion boards is here: a card they move acts as this user, with this
    user's permissions (README, "Acting on the board"). Each change is in the audit log."""

    list_display = ("notion_user_id", "name", "user", "user_is_active", "created_at")
    list_select_related = ("user",)
    search_fields = ("notion_user_id", "name", "user__username")
    raw_id_fields = ("user",)

    @admin.display(description="user active", boolean=True, ordering="user__is_active")
    def user_is_active(self, mapping):
        return mapping.user.is_active

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_log_record(
            actor=request.user,
            action="notion_user_mapped",
            notes=f"Notion user {obj.notion_user_id} acts as {obj.user.get_username()}",
            metadata={"notion_user_id": obj.notion_user_id, "user": obj.user.get_username()},
            object_type="notion_user",
            object_id=obj.pk,
        )

    def delete_model(self, request, obj):
        audit_log_record(
            actor=request.user,
            action="notion_user_unmapped",
            notes=f"Notion user {obj.notion_user_id} no longer acts as {obj.user.get_username()}",
            metadata={"notion_user_id": obj.notion_user_id, "user": obj.user.get_username()},
            object_type="notion_user",
            object_id=obj.pk,
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for mapping in queryset.select_related("user"):
            self.delete_model(request, mapping)

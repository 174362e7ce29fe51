"""Reviews and the audit trail in the admin: both written only by services, so read-only here.
The audit log refuses add, change and delete for everyone, superusers included (the database
refuses UPDATE and DELETE as well)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from core.admin_mixins import ReadOnlyAdminMixin
from core.audit import audit_log_record
from core.models import AuditLog, audit_action_label
from pipeline.models import VideoTask
from pipeline.status import Status
from reviews.models import NotionUser, Review


def _task_link(task):
    if task is None:
        return "-"
    return format_html('<a href="{}">{}</a>', reverse("reviews:task", args=[task.pk]), task.title)


class TaskFilter(admin.SimpleListFilter):
    """One task's rows (the task record's History button links here); shown only when used."""

    title = "task"
    parameter_name = "task"

    def lookups(self, request, model_admin):
        if not self.value():
            return []
        task = VideoTask.objects.filter(pk=self.value()).only("title").first()
        return [(self.value(), task.title if task else self.value())]

    def queryset(self, request, queryset):
        return queryset.filter(task_id=self.value()) if self.value() else queryset


class ActionFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        actions = AuditLog.objects.order_by("action").values_list("action", flat=True).distinct()
        return [(action, audit_action_label(action)) for action in actions]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


def _words(value, key=""):
    """A metadata value as text: a status by its board column, lists joined, mappings as
    "key: values"."""
    if key == "status" and value in Status.values:
        return Status(value).label
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_words(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_words(item) for item in value)
    return str(value)


def _diff_html(diff):
    """A unified diff as lines coloured by what they do: added, removed, or where."""
    styles = {"+": "color:#1e7e34;background:#e6ffed", "-": "color:#b31d28;background:#ffeef0"}
    lines = []
    for line in diff.splitlines():
        kind = "@" if line.startswith("@@") else line[:1]
        if line.startswith(("+++", "---")):
            kind = ""
        style = styles.get(kind, "color:#6a737d" if kind == "@" else "")
        lines.append(format_html('<span style="{}">{}</span>', style, line))
    return format_html(
        '<pre class="vg-diff" style="white-space:pre-wrap;margin:0">{}</pre>',
        format_html("\n".join(["{}"] * len(lines)), *lines) if lines else "",
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
        "created_at", "actor", "action_label", "channel_name", "task_link", "object", "notes_short",
    )  # fmt: skip
    list_select_related = ("task", "channel")
    # What an auditor asks: one channel, one kind of action, one person, one period (and one
    # task, from the task record's History button).
    list_filter = (
        "channel", ActionFilter, ("actor", admin.AllValuesFieldListFilter), "created_at",
        TaskFilter,
    )  # fmt: skip
    search_fields = ("actor", "action", "notes", "object_id")
    date_hierarchy = "created_at"
    actions = None
    fields = ("created_at", "actor", "action_label", "task_link", "object", "notes", "details")
    readonly_fields = fields

    @admin.display(description="action", ordering="action")
    def action_label(self, entry):
        return audit_action_label(entry.action)

    @admin.display(description="details")
    def details(self, entry):
        """The metadata in words: a storyboard edit's diff as a diff, the rest as fields."""
        metadata = dict(entry.metadata or {})
        diff = metadata.pop("diff", "")
        rows = [
            format_html(
                "<div><strong>{}</strong>: {}</div>", key.replace("_", " "), _words(value, key)
            )
            for key, value in metadata.items()
            if value not in ("", None, [], {})
        ]
        parts = [*rows, _diff_html(diff)] if diff else rows
        if not parts:
            return "-"
        return format_html("".join(["{}"] * len(parts)), *parts)

    @admin.display(description="task", ordering="task__title")
    def task_link(self, entry):
        return _task_link(entry.task)

    @admin.display(description="channel", ordering="channel__name")
    def channel_name(self, entry):
        return entry.channel.name if entry.channel else "-"

    @admin.display(description="object")
    def object(self, entry):
        # What the task column names needs no id; an object of no task keeps its id.
        if entry.task_id:
            return entry.object_type.replace("_", " ") or "-"
        return f"{entry.object_type.replace('_', ' ')} {entry.object_id}".strip() or "-"

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

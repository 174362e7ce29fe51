"""Channels and their credentials in the admin.

A channel's settings come from channel_configs/<id>.yaml (sync_channels), so they are read-only
here, except its budgets, which an operator may override (channels_app.services.budget_override,
written to the audit log) until the next sync. Credentials are write-only: their values are never
shown, and a new value goes through channels_app.services.channel_secret_set, which encrypts it and
writes the audit row. The tasks in flight per channel are added by pipeline/admin_channels.py."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from channels_app.models import Channel, ChannelSecret
from channels_app.services import (
    BudgetOverrideInvalid,
    ChannelSecretInvalid,
    budget_override,
    channel_secret_set,
)
from core.text.youtube_text_limits import category_label

BUDGET_FIELDS = ("budget_daily_usd", "budget_weekly_usd")


def count_subquery(queryset):
    """How many rows of `queryset` point at the channel (an annotation; 0 when none)."""
    counted = queryset.order_by().values("channel").annotate(count=Count("pk")).values("count")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


class ChannelBudgetForm(forms.ModelForm):
    override_notes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when a budget changes: why (kept in the audit log). The next "
        "sync_channels sets the budgets from the channel's YAML file again.",
    )

    class Meta:
        model = Channel
        fields = BUDGET_FIELDS

    def clean(self):
        cleaned = super().clean()
        if (
            set(BUDGET_FIELDS) & set(self.changed_data)
            and not cleaned.get("override_notes", "").strip()
        ):
            self.add_error("override_notes", "Say why the budget changes.")
        return cleaned


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelBudgetForm
    list_display = (
        "id",
        "name",
        "is_active",
        "budget_daily_usd",
        "budget_weekly_usd",
        "gates",
        "quota_project",
        "credentials",
    )
    list_filter = ("is_active", "quota_project")
    search_fields = ("id", "name")
    fieldsets = (
        (None, {"fields": ("id", "name", "is_active", "config_file", "config_sha256")}),
        ("Budget (override)", {"fields": (*BUDGET_FIELDS, "override_notes")}),
        (
            "Production",
            {
                "fields": (
                    "review_gates",
                    "providers",
                    "voice_id",
                    "video_model",
                    "priority",
                    "max_concurrent",
                    "schedule",
                    "publish_days",
                    "publish_time",
                    "timezone",
                )
            },
        ),
        (
            "YouTube and Notion",
            {
                "fields": (
                    "youtube_channel_id",
                    "quota_project",
                    "privacy",
                    "made_for_kids",
                    "category",
                    "default_language",
                    "tags",
                    "notion_database_id",
                )
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [
            field.name
            for field in Channel._meta.fields
            if field.name not in BUDGET_FIELDS and field.name not in ("created_at", "updated_at")
        ] + ["category"]

    @admin.display(description="YouTube category", ordering="category_id")
    def category(self, channel):
        return category_label(channel.category_id)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                secret_count=count_subquery(ChannelSecret.objects.filter(channel=OuterRef("pk")))
            )
        )

    def has_add_permission(self, request):
        return False  # channels come from their YAML files (manage.py sync_channels)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="review gates")
    def gates(self, channel):
        return ", ".join([*channel.review_gates, "final"])

    @admin.display(description="credentials", ordering="secret_count")
    def credentials(self, channel):
        return channel.secret_count

    def save_model(self, request, obj, form, change):
        # Never obj.save(): the only editable values are the budgets, and they change through
        # the service that records the override.
        changed = {
            name: form.cleaned_data[name] for name in BUDGET_FIELDS if name in form.changed_data
        }
        if not changed:
            return
        try:
            budget_override(
                channel=obj,
                actor=request.user.get_username(),
                daily_usd=changed.get("budget_daily_usd"),
                weekly_usd=changed.get("budget_weekly_usd"),
                notes=form.cleaned_data["override_notes"],
            )
        except BudgetOverrideInvalid as error:
            self.message_user(request, f"{obj.pk}: budget not changed: {error}", messages.ERROR)


class ChannelSecretForm(forms.ModelForm):
    new_value = forms.CharField(
        label="value",
        widget=forms.PasswordInput(render_value=False),
        strip=True,
        help_text="Write-only: the stored value is never shown. Paste a new value to replace it.",
    )

    class Meta:
        model = ChannelSecret
        fields = ("channel", "name")


@admin.register(ChannelSecret)
class ChannelSecretAdmin(admin.ModelAdmin):
    form = ChannelSecretForm
    list_display = ("channel", "name", "updated_at")
    list_select_related = ("channel",)
    list_filter = ("name", "channel")
    search_fields = ("channel__id",)

    def get_fields(self, request, obj=None):
        return (
            ("channel", "name", "new_value", "updated_at")
            if obj
            else ("channel", "name", "new_value")
        )

    def get_readonly_fields(self, request, obj=None):
        return ("channel", "name", "updated_at") if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # The service encrypts, stores and writes the audit row; the form never saves the model.
        try:
            channel_secret_set(
                channel=obj.channel,
                name=obj.name,
                value=form.cleaned_data["new_value"],
                actor=request.user.get_username(),
            )
        except ChannelSecretInvalid as error:
            self.message_user(request, f"{obj.channel_id}: {error}", messages.ERROR)
            return
        obj.pk = (
            ChannelSecret.objects.filter(channel=obj.channel, name=obj.name)
            .values_list("pk", flat=True)
            .get()
        )

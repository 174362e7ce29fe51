"""Cost rows and the YouTube quota ledger in the admin: written by the pipeline, read-only here.
The spend, quota and dashboard screens are pipeline.control_room."""

from django.contrib import admin

from core.admin_mixins import ReadOnlyAdminMixin
from costs.models import VideoCost, YouTubeQuotaUsage


@admin.register(VideoCost)
class VideoCostAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "channel",
        "task_title",
        "component",
        "provider",
        "amount",
        "usd_text",
    )
    list_select_related = ("channel", "task")
    list_filter = ("component", "provider", "channel")
    search_fields = ("task__title",)
    date_hierarchy = "created_at"
    # A full COUNT(*) over hundreds of thousands of rows on every page is the slow part.
    show_full_result_count = False

    @admin.display(description="task", ordering="task__title")
    def task_title(self, cost):
        return cost.task.title

    @admin.display(description="USD", ordering="usd")
    def usd_text(self, cost):
        return f"${cost.usd:.2f}"

    @admin.display(description="units", ordering="units")
    def amount(self, cost):
        return f"{cost.units.normalize():f} {cost.unit_name.replace('_', ' ')}"


@admin.register(YouTubeQuotaUsage)
class YouTubeQuotaUsageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pacific_date", "quota_project", "uploads", "units", "exhausted_at")
    list_filter = ("quota_project",)
    date_hierarchy = "pacific_date"

    @admin.display(description="uploads used / limit", ordering="upload_calls_used")
    def uploads(self, usage):
        return f"{usage.upload_calls_used} / {usage.upload_calls_limit}"

    @admin.display(description="units used / limit", ordering="units_used")
    def units(self, usage):
        return f"{usage.units_used} / {usage.units_limit}"

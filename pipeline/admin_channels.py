"""Channels in the admin with their tasks: channels_app's channel admin (settings, budgets,
credentials) plus the tasks in flight. The count reads pipeline's tasks, so it is added here, not
in channels_app, which stands below pipeline."""

from django.contrib import admin
from django.db.models import OuterRef

from channels_app.admin import ChannelAdmin, count_subquery
from channels_app.models import Channel
from pipeline.models import VideoTask
from pipeline.status import Status


class ChannelWithTasksAdmin(ChannelAdmin):
    list_display = (*ChannelAdmin.list_display[:-1], "tasks_in_flight", "credentials")

    def get_queryset(self, request):
        in_flight = VideoTask.objects.filter(
            channel=OuterRef("pk"), cancelled_at__isnull=True
        ).exclude(status__in=[Status.DRAFT, Status.PUBLISHED])
        return super().get_queryset(request).annotate(in_flight_count=count_subquery(in_flight))

    @admin.display(description="tasks in flight", ordering="in_flight_count")
    def tasks_in_flight(self, channel):
        return channel.in_flight_count


admin.site.unregister(Channel)
admin.site.register(Channel, ChannelWithTasksAdmin)

"""Tasks in the admin: read-only records (only the pipeline's services move a task), with retry and
cancel as actions that call those services."""

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from core.admin_mixins import ReadOnlyAdminMixin
from core.models import Alert
from pipeline import admin_channels  # noqa: F401  (channels with their tasks in flight)
from pipeline.admin_forms import NewVideoForm
from pipeline.drafting import task_draft_create
from pipeline.models import TaskEvent, Upload, Video, VideoTask, WorkItem, WorkState
from pipeline.selectors import published_link, task_cost_subquery, task_progress, tasks_progress
from pipeline.services import PipelineError
from pipeline.status import (
    ERROR_STATUSES,
    GATE_BY_STATUS,
    GATES,
    LIFECYCLE_GROUPS,
    IllegalTransition,
    Status,
)
from pipeline.task_actions import task_cancel, task_queue, task_retry
from pipeline.templatetags.pipeline_admin import GROUP_LABELS, progress_bar, status_badge
from pipeline.transitions import TransitionConflict

# Errors an operator action can meet; each is shown naming the task and the reason.
ACTION_ERRORS = (PipelineError, IllegalTransition, TransitionConflict)
MAX_ERROR_MESSAGES = 10


class LifecycleGroupFilter(admin.SimpleListFilter):
    title = "status group"
    parameter_name = "group"

    def lookups(self, request, model_admin):
        return [(group, GROUP_LABELS[group]) for group in LIFECYCLE_GROUPS]

    def queryset(self, request, queryset):
        if self.value() in LIFECYCLE_GROUPS:
            return queryset.filter(status__in=LIFECYCLE_GROUPS[self.value()])
        return queryset


class GateFilter(admin.SimpleListFilter):
    title = "waiting at gate"
    parameter_name = "gate"

    def lookups(self, request, model_admin):
        return [(gate, gate) for gate in GATES]

    def queryset(self, request, queryset):
        if self.value() in GATES:
            return queryset.filter(status=GATES[self.value()][0], cancelled_at__isnull=True)
        return queryset


class TaskChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # The progress of the whole page in one grouped query, instead of one query per row.
        progress = tasks_progress(task.pk for task in self.result_list)
        for task in self.result_list:
            task.progress = progress.get(task.pk, {})


class TaskEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TaskEvent
    verbose_name = "event"
    verbose_name_plural = "timeline"
    fields = ("created_at", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    extra = 0


class WorkItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WorkItem
    verbose_name = "unit of work"
    verbose_name_plural = "per-scene status"
    fields = ("step", "unit", "state_text", "provider", "attempts", "calls", "exit_code", "error")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("task")

    @admin.display(description="state")
    def state_text(self, item):
        # A unit reset by a notes-only rejection or a redo waits for the person's next action,
        # not for a worker: "pending" alone would say it is about to run.
        if item.state == WorkState.PENDING and item.task.status in ERROR_STATUSES:
            return "to be made again on the next redo or retry"
        return item.get_state_display()


@admin.register(VideoTask)
class VideoTaskAdmin(admin.ModelAdmin):
    change_list_template = "admin/pipeline/videotask/change_list.html"
    list_display = (
        "title",
        "channel",
        "status_column",
        "progress",
        "cost",
        "age",
    )
    list_select_related = ("channel",)
    list_filter = (LifecycleGroupFilter, GateFilter, "channel", "status")
    search_fields = ("title", "channel__id")
    ordering = ("-created_at",)
    actions = ("queue_drafts", "retry_tasks", "cancel_tasks")
    inlines = (TaskEventInline, WorkItemInline)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "title",
                    "channel",
                    "status_column",
                    "progress",
                    "cost",
                    "links",
                    "queue_button",
                )
            },
        ),
        (
            "Pipeline",
            {
                "fields": (
                    "priority",
                    "attempts",
                    "next_attempt_at",
                    "waiting_reason",
                    "failed_step",
                    "error_log_text",
                    "cancelled_at",
                )
            },
        ),
        ("Story", {"fields": ("topic", "story_direction"), "classes": ("collapse",)}),
        (
            "Times",
            {"fields": ("created_at", "started_at", "status_changed_at", "updated_at", "id")},
        ),
    )
    readonly_fields = flatten_fieldsets(fieldsets)  # a read-only view (see below)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(cost_usd=task_cost_subquery())

    def get_changelist(self, request, **kwargs):
        return TaskChangeList

    # A task changes only through the pipeline's services (status transitions are conditional
    # UPDATEs); a form save would write every column back and could undo a worker's move. So the
    # change page is a read-only view, and the change permission only unlocks the actions.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="status", ordering="status")
    def status_column(self, task):
        return status_badge(task.status, cancelled=bool(task.cancelled_at))

    @admin.display(description="progress")
    def progress(self, task):
        progress = getattr(task, "progress", None)
        return progress_bar(progress if progress is not None else task_progress(task))

    @admin.display(description="cost", ordering="cost_usd")
    def cost(self, task):
        return f"${task.cost_usd:.2f}"

    @admin.display(description="age", ordering="created_at")
    def age(self, task):
        return timesince(task.created_at, timezone.now()).split(",")[0]

    @admin.display(description="error log")
    def error_log_text(self, task):
        if not task.error_log:
            return "-"
        return format_html('<pre style="white-space:pre-wrap;margin:0">{}</pre>', task.error_log)

    @admin.display(description="links")
    def links(self, task):
        # The task's page: where it is reviewed, its storyboard edited and its draft queued.
        parts = [
            format_html(
                '<a href="{}">{}</a>',
                reverse("reviews:task", args=[task.pk]),
                "Open the review page"
                if task.status in GATE_BY_STATUS and not task.cancelled_at
                else "Open its page (storyboard, actions)",
            )
        ]
        if task.notion_page_id:
            page = task.notion_page_id.replace("-", "")
            parts.append(format_html('<a href="https://www.notion.so/{}">Notion card</a>', page))
        published = published_link(task)
        if published:
            parts.append(format_html('<a href="{}">Published: {}</a>', published[1], published[0]))
        return format_html(" · ".join(["{}"] * len(parts)), *parts)

    @admin.display(description="draft")
    def queue_button(self, task):
        if task.status != Status.DRAFT or task.cancelled_at:
            return "-"
        # The read-only change page is still a POST form with its CSRF token: the button sends
        # that form to the queue view instead of nesting a second form.
        return format_html(
            '<button type="submit" class="button" name="queue" formaction="{}">'
            "Queue this draft</button> its storyboard, as it is now, goes into production",
            reverse("admin:pipeline_videotask_queue", args=[task.pk]),
        )

    def history_view(self, request, object_id, extra_context=None):
        # A task's history is its audit log (every human action on it) and its timeline (on the
        # record itself); Django's own history (admin edits) is empty, since tasks are read-only.
        url = reverse("admin:core_auditlog_changelist")
        return HttpResponseRedirect(f"{url}?task={object_id}")

    def get_urls(self):
        queue = path(
            "<path:object_id>/queue/",
            self.admin_site.admin_view(self.queue_view),
            name="pipeline_videotask_queue",
        )
        new_video = path(
            "new/",
            self.admin_site.admin_view(self.new_video_view),
            name="pipeline_videotask_new",
        )
        return [new_video, queue, *super().get_urls()]

    def new_video_view(self, request):
        """The "New video" form: a draft task whose storyboard the writer drafts."""
        if not request.user.has_perm("pipeline.add_videotask"):
            raise PermissionDenied
        form = NewVideoForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                task = task_draft_create(
                    channel=data["channel"],
                    topic=data["topic"],
                    direction=data["direction"],
                    scenes=data["scenes"],
                    priority=data["priority"] or None,
                    queue=data["queue"],
                    actor=request.user,
                )
            except PipelineError as error:
                form.add_error(None, str(error))
            else:
                self.message_user(
                    request,
                    f"Draft {task.pk} created: the writer is drafting its storyboard"
                    + (", then it is queued." if data["queue"] else "; queue it when ready."),
                    messages.SUCCESS,
                )
                # To the page where the draft is read, edited and queued.
                return HttpResponseRedirect(reverse("reviews:task", args=[task.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "New video",
            "form": form,
        }
        return render(request, "admin/pipeline/videotask/new_video.html", context)

    def queue_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not super().has_change_permission(request):
            raise PermissionDenied
        task = get_object_or_404(VideoTask, pk=object_id)
        self.queue_drafts(request, VideoTask.objects.filter(pk=task.pk))
        return HttpResponseRedirect(reverse("admin:pipeline_videotask_change", args=[task.pk]))

    @admin.action(description="Queue the selected drafts", permissions=["change"])
    def queue_drafts(self, request, queryset):
        already = []

        def queue(task):
            _, queued = task_queue(task_id=task.pk, actor=request.user.get_username())
            if not queued:
                already.append(task)
            return queued

        self._bulk(request, queryset, queue, "queued", "could not be queued")
        for task in already[:MAX_ERROR_MESSAGES]:
            self.message_user(
                request,
                f"'{task.title}' ({task.pk}) was already queued; nothing to do.",
                messages.INFO,
            )

    @admin.action(
        description="Retry the selected tasks from their failed step", permissions=["change"]
    )
    def retry_tasks(self, request, queryset):
        self._bulk(
            request,
            queryset,
            lambda task: task_retry(task_id=task.pk, actor=request.user.get_username()),
            "sent back to the step that failed",
            "could not be retried",
        )

    @admin.action(
        description="Cancel the selected tasks (take them off the board)", permissions=["change"]
    )
    def cancel_tasks(self, request, queryset):
        self._bulk(
            request,
            queryset,
            lambda task: task_cancel(
                task_id=task.pk, actor=request.user.get_username(), reason="cancelled in the admin"
            ),
            "cancelled",
            "could not be cancelled",
        )

    def _bulk(self, request, queryset, call, done_text, failed_text):
        done, failures = 0, []
        for task in queryset.only("id", "title", "channel_id"):
            try:
                if call(task) is not False:
                    done += 1
            except ACTION_ERRORS as error:
                failures.append((task, error))
        if done:
            self.message_user(
                request, f"{done} task{'s' if done != 1 else ''} {done_text}.", messages.SUCCESS
            )
        for task, error in failures[:MAX_ERROR_MESSAGES]:
            self.message_user(
                request, f"'{task.title}' ({task.pk}) {failed_text}: {error}", messages.ERROR
            )
        if len(failures) > MAX_ERROR_MESSAGES:
            self.message_user(
                request,
                f"... and {len(failures) - MAX_ERROR_MESSAGES} more tasks {failed_text}.",
                messages.ERROR,
            )


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("task", "state", "quota_project", "video_id", "attempts", "updated_at")
    list_select_related = ("task",)
    list_filter = ("state", "quota_project")
    search_fields = ("video_id", "task__title")
    exclude = ("session_uri",)  # a live upload URL: anyone holding it can write to the upload


@admin.register(Video)
class VideoAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("task", "duration_seconds", "size_bytes", "youtube_url", "published_at")
    list_select_related = ("task",)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "level", "title", "delivered", "suppressed")
    list_filter = ("level", "delivered", "suppressed")
    search_fields = ("title", "key")
    date_hierarchy = "created_at"

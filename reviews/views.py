"""The review queue and the review page, inside the admin (wrapped by admin_view in reviews/urls:
staff only, anonymous users get the admin login). Decisions go through reviews.decisions, the
same services as `manage.py review`."""

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from costs.selectors import VideoCosts, video_cost_breakdown
from pipeline.drafting import draft_retry
from pipeline.models import VideoTask
from pipeline.selectors import (
    published_link,
    task_cost,
    task_cost_breakdown,
    task_progress,
    tasks_progress,
)
from pipeline.services import PipelineError
from pipeline.status import IllegalTransition, Status
from pipeline.task_actions import task_cancel, task_queue, task_retry
from pipeline.transitions import TransitionConflict
from reviews.decisions import (
    GATE_STEP,
    ReviewError,
    redo_steps,
    redo_steps_after_stop,
    review_approve,
    review_reject,
    task_redo,
)
from reviews.edit_preview import editing_context
from reviews.selectors import (
    cut_label,
    published_record,
    rejected_cuts,
    review_media,
    storyboard_scenes,
    task_gate,
    task_repeated_calls,
    task_stopped,
    task_unit_states,
)
from reviews.waiting import (
    WAIT_DRAFT,
    WAIT_HELD,
    WAIT_LABELS,
    WAIT_REVIEW,
    WAIT_STOPPED,
    draft_failed,
    last_line,
    stopped_by_rejection,
    waiting_kind,
    waiting_queue,
)

REVIEW_PERMISSION = "reviews.can_review"
VIEW_PERMISSION = "pipeline.view_videotask"
QUEUE_PAGE_SIZE = 100
REDO_CHANGED_NOTE = "the storyboard was edited: redo what changed"


def can_view_tasks(user):
    return user.has_perm(VIEW_PERMISSION) or user.has_perm(REVIEW_PERMISSION)


def _require_view(request):
    if not can_view_tasks(request.user):
        raise PermissionDenied("viewing tasks needs the pipeline.view_videotask permission")


def _context(request, **extra):
    # Full width: these pages are wide tables and a player, not a model list.
    return {**admin.site.each_context(request), "is_nav_sidebar_enabled": False, **extra}


def waiting_why(task, kind):
    """What a task in the queue waits for, in a few words."""
    if kind == WAIT_REVIEW:
        gate = task_gate(task)
        rejections = getattr(task, "rejections", 0)
        cut = f" ({cut_label(rejections)})" if gate == "final" and rejections else ""
        return f"{gate} review{cut}"
    if kind == WAIT_DRAFT:
        if draft_failed(task) and not task.storyboard:
            return f"the writer failed: {last_line(task.error_log)}"
        return "drafted: read, edit and queue it"
    if kind == WAIT_STOPPED:
        return last_line(task.error_log) or f"stopped in {task.get_status_display()}"
    zone = ZoneInfo(task.channel.timezone or "UTC")
    until = task.next_attempt_at.astimezone(zone).strftime(" until %Y-%m-%d %H:%M %Z")
    what = "the channel's budget" if task.waiting_reason == "budget" else "YouTube's daily quota"
    return f"held by {what}{until if task.next_attempt_at else ''}"


WAIT_ACTIONS = {
    WAIT_REVIEW: "approve or reject",
    WAIT_DRAFT: "queue, edit or cancel",
    WAIT_STOPPED: "retry, redo or cancel",
    WAIT_HELD: "raise the budget, wait or cancel",
}


def waiting_actions(task, kind):
    # A notes-only rejection made nothing that failed: there is nothing to retry.
    if kind == WAIT_STOPPED and last_line(task.error_log).startswith("Rejected at "):
        return "redo or cancel"
    if kind == WAIT_HELD and task.waiting_reason == "quota":
        return "wait for the reset, or cancel"
    return WAIT_ACTIONS.get(kind, "")


@require_GET
def queue(request):
    _require_view(request)
    page = Paginator(waiting_queue(), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    progress = tasks_progress(task.pk for task in page)
    now = timezone.now()
    rows = []
    for task in page:
        kind = waiting_kind(task)
        rows.append(
            {
                "task": task,
                "kind": kind,
                "kind_label": WAIT_LABELS.get(kind, ""),
                "why": waiting_why(task, kind),
                "actions": waiting_actions(task, kind),
                "gate": task_gate(task),
                "waiting": now - task.status_changed_at,
                "progress": progress.get(task.pk, {}),
                "cut": cut_label(task.rejections) if task_gate(task) == "final" else "",
            }
        )
    return TemplateResponse(
        request,
        "reviews/queue.html",
        _context(
            request,
            title="Waiting for you",
            rows=rows,
            page=page,
            can_review=request.user.has_perm(REVIEW_PERMISSION),
        ),
    )


class DecisionForm(forms.Form):
    # reject: with the redo step chosen, back into production at once; reject_stop (or reject
    # with no step): notes only, the task stops in its error column for the next action.
    decision = forms.ChoiceField(
        choices=[
            ("approve", "Approve"),
            ("reject", "Reject"),
            ("reject_stop", "Reject, stop"),
            ("reject_changed", "Reject, redo what changed"),
        ]
    )
    notes = forms.CharField(required=False, widget=forms.Textarea)
    # The status_changed_at the reviewer saw: a decision is about that visit to the gate.
    visit = forms.CharField()
    redo_step = forms.CharField(required=False)
    redo_units = forms.MultipleChoiceField(required=False, choices=())

    def __init__(self, *args, task, **kwargs):
        super().__init__(*args, **kwargs)
        units = [a["id"] for a in task.storyboard.get("assets", [])] + [
            s["id"] for s in task.storyboard.get("scenes", [])
        ]
        self.fields["redo_units"].choices = [(unit, unit) for unit in units]


class NextActionForm(DecisionForm):
    """What to do with a task that waits for a person outside a gate: a stopped one (retry the
    failed step, redo from a step, cancel), a draft (queue it, draft it again, cancel), a held
    one (cancel)."""

    decision = forms.ChoiceField(
        choices=[
            ("retry", "Retry"),
            ("redo", "Redo"),
            ("redo_changed", "Redo what changed"),
            ("queue", "Queue"),
            ("draft_again", "Draft again"),
            ("cancel", "Cancel"),
        ]
    )


@require_GET
def task_review(request, task_id):
    _require_view(request)
    task = get_object_or_404(VideoTask.objects.select_related("channel"), pk=task_id)
    return task_page(request, task)


def task_page(request, task, *, status=200, posted=None, **edits):
    """The review page; `edits` carry a refused edit back to its form (text and errors), and
    `posted` a refused decision or next action (notes, step, ticked units) back to its form."""
    posted = posted or {}
    gate = task_gate(task) if not task.cancelled_at else None
    stopped = task_stopped(task)
    kind = waiting_kind(task)
    stop_steps = redo_steps_after_stop(task) if stopped else []
    unit_states = task_unit_states(task)
    asset_ids = {asset["id"] for asset in task.storyboard.get("assets", [])}
    return TemplateResponse(
        request,
        "reviews/task.html",
        status=status,
        context=_context(
            request,
            title=f"Review: {task.title}",
            task=task,
            gate=gate,
            media=review_media(task, gate, unit_states) if gate else [],
            scenes=storyboard_scenes(task, unit_states),
            assets=[a for a in task.storyboard.get("assets", []) if a["id"] in asset_ids],
            progress=task_progress(task),
            costs=task_cost_breakdown(task),
            cost_total=task_cost(task),
            books=video_cost_breakdown([task.pk]).get(task.pk, VideoCosts()),
            events=task.events.all(),
            reviews=task.reviews.all(),
            redo_steps=redo_steps(gate) if gate else [],
            default_redo_step=posted.get("redo_step")
            or ("videos" if gate == "final" else GATE_STEP.get(gate, "")),
            posted_notes=posted.get("notes", ""),
            ticked=posted.get("redo_units", []),
            stopped=stopped,
            waiting=kind,
            waiting_label=WAIT_LABELS.get(kind, ""),
            waiting_why=waiting_why(task, kind) if kind else "",
            rejection=stopped_by_rejection(task) if stopped else "",
            upload_stopped=task.status == Status.UPLOAD_ERROR and not task.cancelled_at,
            stop_steps=stop_steps,
            stop_default=next(
                (step for step in (posted.get("redo_step"), "videos") if step in stop_steps),
                stop_steps[-1] if stop_steps else "",
            ),
            rejected_cuts=rejected_cuts(task),
            cut=cut_label(task.reviews.filter(gate="final", decision="rejected").count())
            if gate == "final"
            else "",
            repeated_calls=task_repeated_calls(task),
            published=published_link(task),
            published_record=published_record(task),
            can_review=request.user.has_perm(REVIEW_PERMISSION),
            visit=task.status_changed_at.isoformat(),
            **editing_context(task, gate=gate, stopped=stopped, **edits),
        ),
    )


def _refused(request, task, message):
    """The page again, with the reason and everything the person entered still in the form."""
    messages.error(request, message)
    task.refresh_from_db()
    posted = {
        "notes": request.POST.get("notes", ""),
        "redo_step": request.POST.get("redo_step", ""),
        "redo_units": request.POST.getlist("redo_units"),
    }
    return task_page(request, task, status=400, posted=posted)


def _posted_decision(request, task_id, form_class, *, needed_for, nothing):
    """The reviewer's posted form for a task, or None (with the reason shown) when it is invalid
    or the task changed since the page was opened (`visit`): a stale page decides nothing."""
    if not request.user.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied(f"{needed_for} needs the reviews.can_review permission")
    task = get_object_or_404(VideoTask, pk=task_id)
    form = form_class(request.POST, task=task)
    if not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return task, _refused(request, task, f"'{task.title}': {nothing}: {problems}")
    if form.cleaned_data["visit"] != task.status_changed_at.isoformat():
        return task, _refused(
            request,
            task,
            f"'{task.title}' changed since you opened it (now {task.get_status_display()}); "
            f"{nothing}. Look at it again.",
        )
    return task, form.cleaned_data


@require_POST
def decide(request, task_id):
    task, data = _posted_decision(
        request,
        task_id,
        DecisionForm,
        needed_for="approving or rejecting",
        nothing="nothing was recorded",
    )
    back = redirect("reviews:task", task_id=task.pk)
    if not isinstance(data, dict):
        return data  # the page again, with the reason
    stop = data["decision"] == "reject_stop"
    try:
        if data["decision"] == "approve":
            review_approve(task_id=task.pk, reviewer=request.user, notes=data["notes"])
        elif data["decision"] == "reject_changed":
            review_reject(
                task_id=task.pk,
                reviewer=request.user,
                notes=data["notes"] or REDO_CHANGED_NOTE,
                redo_changed=True,
            )
        else:
            review_reject(
                task_id=task.pk,
                reviewer=request.user,
                notes=data["notes"],
                redo_step="" if stop else data["redo_step"],
                redo_scenes=[] if stop else data["redo_units"],
            )
    except ReviewError as error:
        return _refused(request, task, f"'{task.title}': {error}")
    task.refresh_from_db()
    verb = "approved" if data["decision"] == "approve" else "rejected"
    messages.success(request, f"'{task.title}' {verb}; it is now {task.get_status_display()}.")
    if task_stopped(task):
        return back  # the page offers the next actions
    return redirect("reviews:queue")


@require_POST
def next_action(request, task_id):
    """The next action on a task waiting outside a gate (NextActionForm)."""
    task, data = _posted_decision(
        request,
        task_id,
        NextActionForm,
        needed_for="redoing or cancelling",
        nothing="nothing was done",
    )
    back = redirect("reviews:task", task_id=task.pk)
    if not isinstance(data, dict):
        return data  # the page again, with the reason
    actor = request.user.get_username()
    done = ""
    try:
        if data["decision"] == "queue":
            task, queued = task_queue(task_id=task.pk, actor=actor)
            done = "queued" if queued else "was already queued; nothing was done"
        elif data["decision"] == "draft_again":
            draft_retry(task_id=task.pk, actor=actor)
            done = "sent back to the writer"
        elif data["decision"] == "retry":
            task_retry(task_id=task.pk, actor=actor, notes=data["notes"])
        elif data["decision"] == "redo_changed":
            task_redo(
                task_id=task.pk, actor=actor, notes=data["notes"] or REDO_CHANGED_NOTE, changed=True
            )
        elif data["decision"] == "redo":
            if not data["redo_step"]:
                raise ReviewError("choose the step to redo from")
            task_redo(
                task_id=task.pk,
                actor=actor,
                step=data["redo_step"],
                units=data["redo_units"],
                notes=data["notes"],
            )
        else:
            task_cancel(task_id=task.pk, actor=actor, reason=data["notes"] or "cancelled on review")
    except (ReviewError, PipelineError, IllegalTransition, TransitionConflict) as error:
        return _refused(request, task, f"'{task.title}': {error}")
    task.refresh_from_db()
    if task.cancelled_at:
        done = "cancelled"
    done = done or f"sent back: it is now {task.get_status_display()}"
    messages.success(request, f"'{task.title}' {done}.")
    return back

"""Edits on the review page: the storyboard's YAML, the final review's title, description and tags,
and the thumbnail. Each is one call of pipeline.storyboard_edits; a refused edit shows the page
again with what was typed and every problem, each naming its field."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from pipeline.models import VideoTask
from pipeline.storyboard_edits import (
    StoryboardEditError,
    task_metadata_edit,
    task_storyboard_edit,
    task_thumbnail_pick,
)
from reviews.views import REVIEW_PERMISSION, task_page


def _task(request, task_id):
    if not request.user.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied("editing a storyboard needs the reviews.can_review permission")
    return get_object_or_404(VideoTask.objects.select_related("channel"), pk=task_id)


def _saved(request, task, diff, what):
    if diff:
        messages.success(request, f"'{task.title}': {what} saved (see the audit log for the diff).")
    else:
        messages.info(request, f"'{task.title}': nothing changed, nothing was saved.")
    return redirect("reviews:task", task_id=task.pk)


@require_POST
def storyboard_edit(request, task_id):
    task = _task(request, task_id)
    text = request.POST.get("storyboard", "")
    try:
        task, diff = task_storyboard_edit(task_id=task.pk, actor=request.user, text=text)
    except StoryboardEditError as refused:
        return task_page(
            request, task, status=400, storyboard_text=text, storyboard_errors=refused.errors
        )
    return _saved(request, task, diff, "storyboard")


def tags_from_text(text):
    """One tag per line (commas separate tags too, as YouTube does)."""
    return [tag.strip() for line in text.splitlines() for tag in line.split(",") if tag.strip()]


@require_POST
def metadata_edit(request, task_id):
    task = _task(request, task_id)
    title = request.POST.get("title", "")
    description = request.POST.get("description", "").replace("\r\n", "\n")
    tags_text = request.POST.get("tags", "")
    try:
        task, diff = task_metadata_edit(
            task_id=task.pk,
            actor=request.user,
            title=title,
            description=description,
            tags=tags_from_text(tags_text),
        )
    except StoryboardEditError as refused:
        return task_page(
            request,
            task,
            status=400,
            title=title,
            description=description,
            tags_text=tags_text,
            metadata_errors=refused.errors,
        )
    return _saved(request, task, diff, "title, description and tags")


@require_POST
def thumbnail_pick(request, task_id):
    task = _task(request, task_id)
    try:
        task, diff = task_thumbnail_pick(
            task_id=task.pk, actor=request.user, thumbnail=request.POST.get("thumbnail", "")
        )
    except StoryboardEditError as refused:
        return task_page(request, task, status=400, metadata_errors=refused.errors)
    return _saved(request, task, diff, "thumbnail")

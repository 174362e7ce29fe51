"""Step 0, the writers' room (before any step that makes media): a task in Draft with a topic and
no storyboard gets one drafted by scripts/generate_storyboard.py, and stays in Draft until a
person queues it.

The draft is one unit of work like any other (pipeline/units.py: a WorkItem claimed with a lease,
retried by exit code within PIPELINE_MAX_ATTEMPTS, run under the text provider's concurrency cap,
its call costed to the task); the unit's step is pipeline.steps.DraftStep. What is particular to
drafting is here: creating a draft task, and what happens when its unit is done (the storyboard,
validated, written to the task; queued if asked) or stopped (the task stays in Draft, with the
error in its Error Log and an alert: Draft has no error column, and the phase error columns
would say an asset, a clip or a sound failed when nothing was produced).

Never paid twice: a drafted file that exists and parses is not drafted again (units.py checks
the output before a call), and a task whose storyboard is already written is left alone.
"""

import hashlib

import structlog
from django.db import transaction

from core.alerts import alert_send
from core.audit import audit_log_record
from core.text.channel_brief import SCENE_COUNT_MAX, SCENE_COUNT_MIN
from core.text.input_bounds import (  # noqa: F401 (re-exported for the admin's form)
    DIRECTION_MAX_CHARACTERS,
    TOPIC_MAX_CHARACTERS,
    character_problem,
    topic_problems,
)
from core.text.storyboard import StoryboardInvalid, storyboard_parse
from pipeline import dispatch, paths
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.services import PipelineError, budget_wait
from pipeline.status import DRAFT_STEP, Status
from pipeline.steps import DRAFT
from pipeline.task_actions import task_queue
from pipeline.transitions import error_log_append, notify_task_changed

log = structlog.get_logger(__name__)

S = Status
def _check_request(channel, topic, direction, scenes, title):
    problems = []
    if not channel.is_active:
        problems.append(f"channel {channel.id} is inactive; activate it in its YAML first")
    if not topic:
        problems.append("topic: a draft needs a topic (what the video is about)")
    problems += topic_problems(topic, direction)
    if problem := character_problem(title or ""):
        problems.append(f"title: {problem}")
    if scenes is not None and (
        isinstance(scenes, bool)
        or not isinstance(scenes, int)
        or not SCENE_COUNT_MIN <= scenes <= SCENE_COUNT_MAX
    ):
        problems.append(f"scenes: must be {SCENE_COUNT_MIN}-{SCENE_COUNT_MAX}, got {scenes!r}")
    if problems:
        raise PipelineError("the draft was not created:\n" + "\n".join(problems))


def task_draft_create(
    *,
    channel,
    topic,
    direction="",
    scenes=None,
    priority=None,
    queue=False,
    actor="system",
    title="",
    notion_page_id="",
):
    """A new task in Draft whose storyboard the writer drafts (a unit of work, sent after the
    commit). With queue=True it is queued as soon as its draft is written; otherwise it waits in
    Draft for a person (admin Queue button, `manage.py queue_task`, its card moved to Queued)."""
    topic = " ".join((topic or "").split())
    direction = (direction or "").strip()
    _check_request(channel, topic, direction, scenes, title)
    with transaction.atomic():
        task = VideoTask.objects.create(
            channel=channel,
            title=(title or topic)[:200],
            topic=topic,
            story_direction=direction,
            storyboard={},
            priority=priority or channel.priority,
            draft_scenes=scenes,
            queue_when_drafted=queue,
            notion_page_id=notion_page_id,
        )
        audit_log_record(
            actor=actor,
            action="task_draft_create",
            task=task,
            metadata={"topic": topic, "scenes": scenes, "queue": queue},
        )
        draft_start(task)
    log.info("draft_created", task_id=str(task.pk), channel=channel.id)
    return task


def draft_start(task):
    """The draft's unit of work (once per task) and its message, sent after the commit, when
    the channel's budget allows the writer's estimated cost; otherwise the unit waits until the
    budget allows it (the task's waiting reason says "budget", with an alert), and the reconciler
    comes back here then. The reconciler also comes back here if the message is lost."""
    spec = DRAFT.units(task)[0]
    item, _ = WorkItem.objects.get_or_create(
        task=task,
        step=DRAFT_STEP,
        unit=spec.unit,
        defaults={
            "script": spec.script,
            "provider": spec.provider,
            "output_path": str(spec.output),
        },
    )
    if item.state == WorkState.DONE:
        return item
    resume_at = budget_wait(task, DRAFT_STEP, [spec])
    if resume_at:
        WorkItem.objects.filter(pk=item.pk, state=WorkState.PENDING).update(
            next_attempt_at=resume_at
        )
        return item
    dispatch.dispatch_unit(item.pk)
    return item


def draft_retry(*, task_id, actor):
    """Draft again a draft whose writer failed (after fixing the cause: a key, the brief, the
    topic): a new round of attempts of the same unit, as retry_task does for a production step."""
    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    if task.status != S.DRAFT or task.cancelled_at or task.storyboard:
        raise PipelineError(
            f"task {task.pk} is not a draft waiting for its storyboard "
            f"({task.get_status_display()}{', cancelled' if task.cancelled_at else ''}"
            f"{', already drafted' if task.storyboard else ''}): nothing to draft again"
        )
    with transaction.atomic():
        updated = WorkItem.objects.filter(
            task=task, step=DRAFT_STEP, state=WorkState.FAILED
        ).new_round()
        if not updated:
            raise PipelineError(f"task {task.pk}: its draft has not failed; it is still drafting")
        audit_log_record(actor=actor, action="task_draft_retry", task=task)
        draft_start(task)
    return task


def draft_complete(task_id):
    """The draft unit is done: validate the drafted file and write it to the task (still in
    Draft, storyboard still empty: a no-op otherwise), then queue it if that was asked."""
    task = VideoTask.objects.select_related("channel").get(pk=task_id)
    if task.status != S.DRAFT or task.cancelled_at:
        return False
    path = paths.draft_storyboard(task.channel_id, str(task.pk))
    with transaction.atomic():
        locked = VideoTask.objects.select_for_update().get(pk=task.pk)
        if locked.status != S.DRAFT or locked.storyboard:
            return False  # already written (a redelivered message)
        try:
            storyboard = storyboard_parse(path.read_bytes(), source=str(path))
        except (OSError, StoryboardInvalid) as error:
            draft_stopped(task, f"step draft: the drafted storyboard {path} is not usable: {error}")
            return False
        # The draft belongs to the task's channel, whatever the file says.
        storyboard["channel"] = task.channel_id
        VideoTask.objects.filter(pk=task.pk).update(
            storyboard=storyboard, title=storyboard["title"][:200]
        )
        notify_task_changed(task.pk)
    log.info("draft_written", task_id=str(task.pk), scenes=len(storyboard["scenes"]))
    if task.queue_when_drafted:
        try:
            task_queue(task_id=task.pk, actor="writer")
        except PipelineError as error:
            draft_stopped(task, f"drafted, but not queued: {error}")
    return True


def draft_stopped(task, message):
    """The draft could not be made: the task stays in Draft (nothing was produced, so no phase
    error column fits) with the error in its Error Log, and an alert. Call inside the
    transaction that recorded the failure, so a crash cannot leave it unannounced."""
    with transaction.atomic():
        task = VideoTask.objects.select_for_update().get(pk=task.pk)
        VideoTask.objects.filter(pk=task.pk).update(
            error_log=error_log_append(task.error_log, message)
        )
        notify_task_changed(task.pk)
        alert_send(
            level="ERROR",
            title=f"{task.channel_id}: the draft of '{task.title}' failed",
            message=message,
            key=f"draft-failed:{task.pk}:{hashlib.sha256(message.encode()).hexdigest()[:16]}",
            fields={"task": str(task.pk), "status": S.DRAFT.value},
        )
    log.error("draft_failed", task_id=str(task.pk), error=message)

"""Celery tasks of the Notion integration (thin: ids in, a service call)."""

from celery import shared_task

from pipeline.integrations import notion_intake as intake
from pipeline.integrations import notion_push as push

# Short limits: a Notion call takes seconds; waiting for the shared rate budget is bounded too.
LIMITS = {"soft_time_limit": 240, "time_limit": 300}


@shared_task(name="pipeline.notion_push", **LIMITS)
def notion_push(task_id):
    push.notion_push(task_id)


@shared_task(name="pipeline.notion_push_pending", **LIMITS)
def notion_push_pending():
    push.notion_push_pending()


@shared_task(name="pipeline.notion_poll", **LIMITS)
def notion_poll():
    for channel_id in intake.notion_poll_channels():
        notion_poll_channel.apply_async(args=[channel_id])


@shared_task(name="pipeline.notion_poll_channel", **LIMITS)
def notion_poll_channel(channel_id):
    intake.notion_poll_channel(channel_id=channel_id)

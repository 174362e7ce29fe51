"""Celery tasks of the Notion integration (thin: ids in, a service call)."""

from celery import shared_task

from channels_app.models import Channel
from pipeline.integrations import notion_intake as intake
from pipeline.integrations import notion_push as push

# Short limits: a Notion call takes seconds; waiting for the shared rate budget is bounded too.
LIMITS = {"soft_time_limit": 240, "time_limit": 300}
# The periodic Notion tasks: beat sends them only while some channel has a board
# (videogen.beat.Scheduler), so an installation without Notion sends and logs nothing for them.
PERIODIC_NAMES = frozenset({"pipeline.notion_poll", "pipeline.notion_push_pending"})


def notion_boards_exist():
    """Any channel, active or not, with a Notion database (an inactive one may still have cards
    to update)."""
    return Channel.objects.exclude(notion_database_id="").exists()


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

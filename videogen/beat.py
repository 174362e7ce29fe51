"""The beat scheduler: django-celery-beat's database scheduler (schedules editable in the admin),
minus the Notion polling while no channel has a Notion board."""

import logging

from django.db import DatabaseError
from django_celery_beat.schedulers import DatabaseScheduler

from pipeline.integrations import notion_tasks

logger = logging.getLogger(__name__)


class Scheduler(DatabaseScheduler):
    def apply_entry(self, entry, producer=None):
        # Before Celery's own "Sending due task" line: an idle installation without Notion logs
        # nothing, and no worker receives a message that could only find nothing to do.
        if entry.task in notion_tasks.PERIODIC_NAMES and not self._notion_boards_exist():
            return
        super().apply_entry(entry, producer=producer)

    @staticmethod
    def _notion_boards_exist():
        try:
            return notion_tasks.notion_boards_exist()
        except DatabaseError:
            # Unknown: send, and let the task meet the database error (and its retries) itself.
            logger.warning("beat: could not check for Notion boards", exc_info=True)
            return True

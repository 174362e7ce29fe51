"""The beat scheduler: django-celery-beat's database scheduler (schedules editable in the admin),
minus the Notion polling while no channel has a Notion board, recording beat's heartbeat from its
own loop: /status and doctor call beat alive only while the loop that sends the schedules turns
(the watchdog thread beside it could go on ticking with the loop stuck)."""

import logging
import socket
import time

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django_celery_beat.schedulers import DatabaseScheduler

from pipeline.integrations import notion_tasks

logger = logging.getLogger(__name__)


class Scheduler(DatabaseScheduler):
    _last_heartbeat = 0.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Wake at least this often, so that the heartbeat below stays fresh on a quiet schedule.
        self.max_interval = min(self.max_interval, settings.WATCHDOG_INTERVAL_SECONDS)

    def tick(self, *args, **kwargs):
        interval = super().tick(*args, **kwargs)
        now = time.monotonic()
        if now - self._last_heartbeat >= settings.WATCHDOG_INTERVAL_SECONDS:
            self._last_heartbeat = now
            self._heartbeat()
        return interval

    @staticmethod
    def _heartbeat():
        from pipeline.models import Heartbeat
        from pipeline.watchdog import heartbeat_record

        try:
            close_old_connections()  # one that broke with the database is replaced
            heartbeat_record(kind=Heartbeat.Kind.BEAT, hostname=socket.gethostname())
        except DatabaseError:
            # The watchdog thread alerts on the database itself; the loop must go on.
            logger.warning("beat: could not record its heartbeat", exc_info=True)

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

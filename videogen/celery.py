import os

from celery import Celery
from celery.signals import beat_init, task_postrun, worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")


class CelerySettings:
    """Django's CELERY_* settings under Celery's own names (CELERY_TASK_ROUTES is task_routes).

    Celery keeps its configuration source whole: `app.conf.table()` (what `inspect conf` and
    Flower's worker Config tab show) lists every name of the object it was given. Given Django's
    settings, that was every setting, DISCORD_WEBHOOK_URL and REDIS_URL in clear among them.
    Under Celery's own names its censoring works too: it masks broker_url's password (it does not
    recognise CELERY_BROKER_URL) besides names like *KEY*, *TOKEN*, *PASS*. Settings are read
    lazily, on first use, as with config_from_object("django.conf:settings")."""

    PREFIX = "CELERY_"

    def __dir__(self):
        settings = self._settings()
        return [
            name.removeprefix(self.PREFIX).lower()
            for name in dir(settings)
            if name.startswith(self.PREFIX)
        ]

    def __getattr__(self, name):
        if name.startswith("_") or name != name.lower():
            raise AttributeError(name)
        return getattr(self._settings(), self.PREFIX + name.upper())

    @staticmethod
    def _settings():
        # The first read loads Django's settings: for `celery` commands, this is where a bad
        # environment variable surfaces.
        from django.conf import settings

        from videogen.startup import exit_on_settings_problem

        exit_on_settings_problem()
        return settings


app = Celery("videogen")
app.config_from_object(CelerySettings())
app.autodiscover_tasks()


@worker_init.connect
def refuse_to_start_with_a_wrong_encryption_key(**kwargs):
    """The fernet library returns ciphertext instead of raising when the key is wrong; a worker
    must not start and hand ciphertext to providers as if it were a key."""
    import sys

    from channels_app.crypto import EncryptionKeyError, encryption_key_check

    try:
        encryption_key_check()
    except EncryptionKeyError as error:
        # Celery logs and swallows exceptions raised by signal handlers; exit for real.
        print(f"videogen worker refused to start: {error}", file=sys.stderr, flush=True)
        raise SystemExit(78) from error
    finally:
        _close_connection_pools()


@worker_init.connect
def refuse_to_start_without_a_usable_ffmpeg(**kwargs):
    """A worker whose FFmpeg cannot run a filter the scripts use would buy a sound effect and
    then fail to normalize it, on every attempt: refuse to start instead (78, configuration),
    naming the binary, its version and the filter. Passing primes the scripts' check cache."""
    import sys

    from core.ffmpeg import FFmpegUnusable, usable_ffmpeg

    try:
        capability = usable_ffmpeg(use_cache=False)
    except FFmpegUnusable as error:
        print(f"videogen worker refused to start: {error.message}", file=sys.stderr, flush=True)
        raise SystemExit(78) from error
    print(
        f"videogen worker: {capability.describe()} runs every filter and encoder the "
        f"scripts use (checked in {capability.seconds:.1f} s)",
        file=sys.stderr,
        flush=True,
    )


def _close_connection_pools():
    """The check above opened this process's connection pool; a prefork pool's children must not
    inherit its sockets and threads (each child opens its own on first use)."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()
        if getattr(connection, "pool", None) is not None:
            connection.close_pool()


@task_postrun.connect
def forget_the_task_context(**kwargs):
    from core.logging import clear_context

    clear_context()


@worker_init.connect
def name_this_worker_process(**kwargs):
    """In the main process, before a prefork pool forks: every lease its pool takes carries this
    name, and its heartbeat says the name is alive (pipeline/workers.py)."""
    from pipeline.workers import worker_instance_start

    worker_instance_start()


@worker_ready.connect
def record_that_the_worker_is_alive(sender=None, **kwargs):
    from pipeline.watchdog import worker_heartbeat_start
    from pipeline.workers import worker_instance, worker_start_record

    worker_start_record(hostname=sender.hostname)
    worker_heartbeat_start(hostname=sender.hostname, instance=worker_instance())


@beat_init.connect
def start_the_watchdog(**kwargs):
    """The watchdog runs in the beat process itself: beat's scheduled tasks run on workers, and
    an alarm about dead workers cannot come from them."""
    from pipeline.watchdog import beat_watchdog_start

    beat_watchdog_start()

import os

from celery import Celery
from celery.signals import beat_init, task_postrun, worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")

app = Celery("videogen")
app.config_from_object("django.conf:settings", namespace="CELERY")
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
    from videogen.logging import clear_context

    clear_context()


@worker_ready.connect
def record_that_the_worker_is_alive(sender=None, **kwargs):
    from pipeline.watchdog import worker_heartbeat_start

    worker_heartbeat_start(hostname=sender.hostname)


@beat_init.connect
def start_the_watchdog(**kwargs):
    """The watchdog runs in the beat process itself: beat's scheduled tasks run on workers, and
    an alarm about dead workers cannot come from them."""
    from pipeline.watchdog import beat_watchdog_start

    beat_watchdog_start()

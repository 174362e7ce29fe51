"""A bad or missing environment variable stops every entry point (manage.py, celery, gunicorn)
with the one line that names it, not a traceback through Django's settings loader; a manage.py
command run on a database without its tables says "run migrate first" in one line."""

import functools
import sys

# EX_CONFIG (sysexits.h), as the worker's encryption-key check uses.
EXIT_CONFIGURATION_ERROR = 78


def settings_problem():
    """The message of the error that stops settings from loading, or None once they load."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings module
    except ImproperlyConfigured as error:
        return f"videogen: {error}"
    return media_store_problem()


@functools.cache  # asked once per process: celery reads its settings through here many times
def media_store_problem():
    """With a bucket configured, a wrong key or a missing bucket stops start-up here, naming the
    variable, instead of failing the first unit or the first review an hour later."""
    from django.conf import settings

    if not settings.MEDIA_BUCKET_NAME:
        return None
    from core.media_bucket import bucket_problem
    from core.media_store import media_store

    problem = bucket_problem(media_store(), settings.MEDIA_BUCKET_NAME_VARIABLE)
    return f"videogen: {problem}" if problem else None


def exit_on_settings_problem():
    problem = settings_problem()
    if problem:
        print(problem, file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CONFIGURATION_ERROR)


def unmigrated_database_problem():
    """One line saying the database lacks migrations, when it does (a command failed on a missing
    table); None when every migration is applied or the database cannot be asked."""
    from django.db import DatabaseError, connection
    from django.db.migrations.executor import MigrationExecutor

    try:
        connection.close()  # the failed statement may have left its connection unusable
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return None
    if not plan:
        return None
    first = plan[0][0]
    return (
        f"videogen: the database has {len(plan)} migration(s) not applied (the first is "
        f"{first.app_label}.{first.name}): run `python manage.py migrate` first"
    )


def run_command(argv):
    """manage.py: run the command; a database error from missing tables ends in one line."""
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    try:
        execute_from_command_line(argv)
    except DatabaseError:
        problem = unmigrated_database_problem()
        if problem is None:
            raise
        print(problem, file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CONFIGURATION_ERROR) from None

"""A bad or missing environment variable stops every entry point (manage.py, celery, gunicorn)
with the one line that names it, not a traceback through Django's settings loader."""

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
    return None


def exit_on_settings_problem():
    problem = settings_problem()
    if problem:
        print(problem, file=sys.stderr, flush=True)
        raise SystemExit(EXIT_CONFIGURATION_ERROR)

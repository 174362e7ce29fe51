"""gunicorn's settings for the web process (Procfile: `gunicorn -c python:videogen.gunicorn_conf`).

A bad environment variable stops the server in the master, before any worker is forked, with the
same one line and exit code (78) as manage.py and celery. Left to the workers, every worker fails
to load the app, and gunicorn's arbiter, reaping two failed workers at once, prints a HaltServer
traceback under the message (a race in gunicorn's shutdown, seen in CI with --workers 2).
"""

import os


def on_starting(server):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")
    from videogen.startup import exit_on_settings_problem

    exit_on_settings_problem()

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")

from videogen.startup import settings_problem  # noqa: E402

if problem := settings_problem():
    # gunicorn prints an AppImportError's message alone and stops; any other error in a worker
    # is a traceback, and a SystemExit there would make it boot workers forever.
    from gunicorn.errors import AppImportError

    raise AppImportError(problem)

application = get_wsgi_application()

# Refuse to serve with keys that cannot read the stored secrets (see channels_app.crypto).
from channels_app.crypto import encryption_key_check  # noqa: E402

encryption_key_check()

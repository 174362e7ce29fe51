import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videogen.settings")

application = get_wsgi_application()

# Refuse to serve with keys that cannot read the stored secrets (see channels_app.crypto).
from channels_app.crypto import encryption_key_check  # noqa: E402

encryption_key_check()

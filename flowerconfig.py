"""Flower's configuration file: `celery -A videogen flower` reads ./flowerconfig.py from the
working directory (the Procfile's and the container's). The access rules are in
videogen/flower_access.py; the environment and the command line still override these values."""

from tornado.options import options

from videogen import flower_access

address = flower_access.flower_address()

try:
    _pairs = flower_access.flower_basic_auth()
except flower_access.FlowerAccessError as error:
    raise SystemExit(f"videogen: {error}") from None
if _pairs:
    basic_auth = _pairs

options.add_parse_callback(lambda: flower_access.refuse_open_access(options))

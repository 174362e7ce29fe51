"""The shape of an id that may become part of a path or a storyboard reference: letters, digits,
'-' and '_', 1-64 characters, starting with a letter or digit (no dots, slashes or NUL). Plain
Python: the scripts check storyboards with it too."""

import re

SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")

"""Loaded at interpreter start-up when this folder is on PYTHONPATH: a process whose clock, as
Django reads it (django.utils.timezone.now), is VIDEOGEN_TEST_CLOCK_OFFSET_SECONDS off."""

import datetime as dt
import os

_offset = float(os.environ.get("VIDEOGEN_TEST_CLOCK_OFFSET_SECONDS") or 0)
if _offset:
    from django.utils import timezone

    _real_now = timezone.now

    def _skewed_now():
        return _real_now() + dt.timedelta(seconds=_offset)

    timezone.now = _skewed_now

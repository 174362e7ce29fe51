"""How long a reviewer took: the review page carries a signed stamp of when it was opened (for
which task), the decision posts it back, and the seconds between are kept on the Review.
Signed, so a form cannot claim a time of its own; a missing or forged stamp records nothing.

The dashboard's table of minutes per published video is pipeline/review_time_stats.py."""

import time

from django.core import signing

SALT = "videogen.review-opened"
MAX_SECONDS = 8 * 3600  # a page left open overnight says nothing of the work it took


def opened_stamp(task, *, now=None):
    return signing.dumps({"task": str(task.pk), "at": now or time.time()}, salt=SALT)


def seconds_since_opened(stamp, task, *, now=None):
    """Whole seconds since the page for `task` was opened, or None (no stamp, forged, another
    task's, or implausibly long)."""
    if not stamp:
        return None
    try:
        data = signing.loads(stamp, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("task") != str(task.pk):
        return None
    seconds = (now or time.time()) - float(data.get("at", 0))
    if not 0 <= seconds <= MAX_SECONDS:
        return None
    return round(seconds)

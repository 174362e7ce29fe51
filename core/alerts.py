"""Discord alerts: CRITICAL, ERROR, WARNING. Deduplicated by key within a window, sent after
commit, and never able to break the pipeline (a failure to send is logged, not raised)."""

import datetime as dt
import json
import threading
import time
import urllib.error
import urllib.request

import structlog
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.models import Alert

log = structlog.get_logger(__name__)

COLORS = {"CRITICAL": 0x8B0000, "ERROR": 0xE74C3C, "WARNING": 0xF1C40F}
LEVELS = tuple(COLORS)


def alert_send(*, level, title, message, key=None, fields=None):
    """Record and (unless a duplicate within ALERT_DEDUP_SECONDS) post an alert to Discord."""
    if level not in COLORS:
        raise ValueError(f"alert level must be one of {LEVELS}, got {level!r}")
    key = (key or f"{level}:{title}")[:200]
    try:
        window_start = timezone.now() - dt.timedelta(seconds=settings.ALERT_DEDUP_SECONDS)
        with transaction.atomic():  # a savepoint: a failure here leaves the caller's work intact
            duplicate = Alert.objects.filter(
                key=key, created_at__gte=window_start, suppressed=False
            )
            suppressed = duplicate.exists()
            alert = Alert.objects.create(
                level=level, key=key, title=title[:256], message=message, suppressed=suppressed
            )
    except Exception:  # the alert store itself failing must not stop the caller
        log.exception("alert_store_failed", title=title)
        return None
    log.warning("alert", level=level, title=title, message=message[:500], suppressed=suppressed)
    if suppressed or not settings.DISCORD_WEBHOOK_URL:
        return alert
    transaction.on_commit(lambda: _deliver(alert.pk, level, title, message, fields or {}))
    return alert


def _payload(level, title, message, fields):
    embed = {
        "title": f"[{level}] {title}"[:256],
        "description": message[:4000],
        "color": COLORS[level],
        "timestamp": timezone.now().isoformat(),
        "fields": [
            {"name": str(name)[:256], "value": str(value)[:1024] or "-", "inline": True}
            for name, value in list(fields.items())[:25]
        ],
    }
    return {"username": "videogen", "embeds": [embed]}


# alert_send_direct's deduplication memory: {key: time sent}, per process (the database, which
# holds the usual memory, is what is unreachable when it is used).
_direct_sent = {}
_direct_lock = threading.Lock()


def alert_send_direct(*, level, title, message, key=None, fields=None):
    """Post an alert to Discord without storing it: for when the database itself is unreachable
    (then alert_send cannot record it). Deduplicated per process by key within
    ALERT_DEDUP_SECONDS. Returns True when posted; never raises."""
    if level not in COLORS:
        raise ValueError(f"alert level must be one of {LEVELS}, got {level!r}")
    key = key or f"{level}:{title}"
    now = time.monotonic()
    with _direct_lock:
        last = _direct_sent.get(key)
        if last is not None and now - last < settings.ALERT_DEDUP_SECONDS:
            return False
        _direct_sent[key] = now
    log.warning("alert", level=level, title=title, message=message[:500], stored=False)
    if not settings.DISCORD_WEBHOOK_URL:
        return False
    return _post(level, title, message, fields or {})


def _deliver(alert_id, level, title, message, fields):
    delivered = _post(level, title, message, fields)
    try:
        Alert.objects.filter(pk=alert_id).update(delivered=delivered)
    except Exception:
        log.exception("alert_store_failed", title=title)


def _post(level, title, message, fields):
    body = json.dumps(_payload(level, title, message, fields)).encode()
    request = urllib.request.Request(  # noqa: S310 - the operator's configured webhook URL
        settings.DISCORD_WEBHOOK_URL,
        data=body,
        headers={"Content-Type": "application/json", "User-Agent": "videogen"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            delivered = 200 <= response.status < 300
    except urllib.error.HTTPError as error:
        # Never retry a 4xx other than 429: Discord bans callers that keep sending bad requests.
        log.warning("alert_delivery_failed", status=error.code, title=title)
        delivered = False
    except (OSError, ValueError) as error:
        log.warning("alert_delivery_failed", error=str(error), title=title)
        delivered = False
    return delivered

"""One Notion request budget for the whole deployment, per integration token.

Notion allows an average of 3 requests/second per integration (settings.NOTION_REQUESTS_PER_SECOND).
Every process that talks to Notion (web, workers, beat, commands) calls `acquire()` before each
HTTP request, so the budget is shared, not multiplied by the number of processes.

Burst policy: a sliding window. Up to `limit` requests may go back to back (a burst of 3 at the
default rate), never more than `limit` in any window of `limit / rate` seconds plus a 100 ms margin
(1.1 s at the default). The margin absorbs the jitter between asking here and the request reaching
Notion, so no 1-second window at Notion ever sees more than 3 requests; the price is a sustained
rate of about 2.7 requests/second instead of 3.

A 429 answer with Retry-After calls `pause(seconds)`: every process waits that long before its
next request to that token.

Where the window lives:
- Redis (settings.REDIS_URL set; production): a sorted set of request times per token and a pause
  key with a TTL, both changed by one Lua script, timed by the Redis server's clock, so all
  machines agree.
- No Redis (the embedded default: SQLite and a filesystem broker on one machine): the same window
  in a small JSON file under DATA_DIR/notion-rate/, read and written under an exclusive flock. It
  holds across the processes of that machine (web, worker, beat), which is all the embedded
  default ever has; it does not span machines.

Keys and file names carry a SHA-256 prefix of the token, never the token itself.
"""

import fcntl
import hashlib
import json
import math
import os
import threading
import time
import uuid

from django.conf import settings

from pipeline.watchdog import notion_throttled

WINDOW_MARGIN_SECONDS = 0.1
ACQUIRE_TIMEOUT_SECONDS = 300.0

_ACQUIRE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local pause = redis.call('PTTL', KEYS[2])
if pause > 0 then return pause end
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + window - now)
"""

_PAUSE_SCRIPT = """
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 0
"""


class RateLimitTimeout(Exception):
    """The shared budget stayed exhausted longer than a caller may wait."""


def token_key(token):
    """A stable, non-reversible name for a token (for keys, files and logs)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def window_for(rate):
    """(requests per window, window in milliseconds) for a rate in requests/second."""
    limit = max(1, math.floor(rate))
    return limit, int(round(1000 * (limit / rate + WINDOW_MARGIN_SECONDS)))


class _RedisWindow:
    _clients = {}
    _lock = threading.Lock()

    def __init__(self, url):
        import redis

        with self._lock:
            if url not in self._clients:
                self._clients[url] = redis.Redis.from_url(url)
        self.client = self._clients[url]
        self.acquire_script = self.client.register_script(_ACQUIRE_SCRIPT)
        self.pause_script = self.client.register_script(_PAUSE_SCRIPT)

    def try_acquire(self, key, limit, window_ms):
        keys = [f"notion:rate:{key}", f"notion:pause:{key}"]
        return int(self.acquire_script(keys=keys, args=[limit, window_ms, uuid.uuid4().hex]))

    def pause(self, key, milliseconds):
        self.pause_script(keys=[f"notion:pause:{key}"], args=[int(milliseconds)])


class _FileWindow:
    def __init__(self, folder):
        self.folder = folder

    def _locked(self, key, change):
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{key}.json"
        with open(path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            try:
                state = json.loads(handle.read() or "{}")
            except ValueError:
                state = {}
            result = change(state, time.time() * 1000)
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(state))
            handle.flush()
            os.fsync(handle.fileno())
            return result

    def try_acquire(self, key, limit, window_ms):
        def change(state, now):
            pause_left = state.get("pause_until", 0) - now
            if pause_left > 0:
                return int(pause_left) + 1
            stamps = [stamp for stamp in state.get("stamps", []) if stamp > now - window_ms]
            state["stamps"] = stamps
            if len(stamps) < limit:
                stamps.append(now)
                return 0
            return max(1, int(min(stamps) + window_ms - now) + 1)

        return self._locked(key, change)

    def pause(self, key, milliseconds):
        def change(state, now):
            state["pause_until"] = max(state.get("pause_until", 0), now + milliseconds)

        self._locked(key, change)


def _backend():
    if settings.REDIS_URL:
        return _RedisWindow(settings.REDIS_URL)
    return _FileWindow(settings.DATA_DIR / "notion-rate")


class NotionRateLimiter:
    """The shared budget of one token. `acquire()` blocks until a request may go."""

    def __init__(self, token, *, rate=None):
        self.key = token_key(token)
        self.rate = rate or settings.NOTION_REQUESTS_PER_SECOND
        self.backend = _backend()

    def acquire(self, *, timeout=ACQUIRE_TIMEOUT_SECONDS):
        limit, window_ms = window_for(self.rate)
        started = time.monotonic()
        deadline = started + timeout
        alarmed = False
        while True:
            wait_ms = self.backend.try_acquire(self.key, limit, window_ms)
            waited = time.monotonic() - started
            if not alarmed and waited > settings.NOTION_THROTTLED_ALERT_SECONDS:
                notion_throttled(token_key=self.key, seconds=waited)
                alarmed = True
            if wait_ms <= 0:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RateLimitTimeout(
                    f"Notion token {self.key}: no request slot within {timeout:.0f} s (the shared "
                    "budget is exhausted or Notion asked us to pause); the work is retried later"
                )
            time.sleep(min(wait_ms / 1000, remaining))

    def pause(self, seconds):
        """Hold every process's requests with this token for `seconds` (a 429's Retry-After)."""
        if seconds > 0:
            self.backend.pause(self.key, seconds * 1000)

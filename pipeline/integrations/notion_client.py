"""Talking to Notion: notion-client 3.x (API version 2025-09-03) behind the shared rate limit.

Every HTTP request passes the deployment-wide limiter (pipeline.integrations.ratelimit) in an
httpx request hook, so the SDK's own calls, pagination and our retries are all counted. The SDK's
built-in retries are off; ours are here:
- 429 rate_limited: the response hook pauses the token for Retry-After seconds (for every
  process), then the call is retried;
- 5xx (500, 502, 503, 504, 529), timeouts and connection errors: retried with exponential backoff
  and jitter, but only for idempotent calls (a page create is not retried: the next push looks the
  page up by Task ID first, so a lost answer never makes a second card);
- 401/403/404 and other 4xx: raised at once as NotionError naming what we were doing, the page and
  the property Notion complained about, and what to do.

Tokens never appear in messages, logs or argv: errors and limiter keys use a hash of the token.
"""

import logging
import re
import threading

import httpx
import notion_client
from django.conf import settings
from notion_client.errors import HTTPResponseError, RequestTimeoutError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from channels_app.models import SecretName
from pipeline.integrations.ratelimit import NotionRateLimiter, token_key

RETRY_ATTEMPTS = 5
BACKOFF_INITIAL_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 8.0
TIMEOUT_MS = 30_000
# Notion's size limits, counted as JavaScript string length (UTF-16 code units: an emoji is 2).
RICH_TEXT_CHUNK = 2000  # per rich-text object's content (and per URL)
RICH_TEXT_MAX_CHUNKS = 100  # rich-text objects per property
TITLE_QUOTE_CHARS = 80  # a card title quoted in a message
TRASHED_MESSAGE = "can't edit block that is archived"
_NOTION_ID = re.compile(r"([0-9a-f]{32})(?![0-9a-f])")


class NotionError(Exception):
    """A Notion call failed in a way a person must read: the message says what, where and how to
    fix it."""

    def __init__(self, message, *, status=None, code=""):
        super().__init__(message)
        self.status, self.code = status, code


class NotionAuthError(NotionError):
    """401/403: the token is wrong or the database is not shared with the integration."""


class NotionUnavailable(NotionError):
    """5xx, timeouts or rate limiting outlasted our retries: try again later."""


class NotionConfigError(NotionError):
    """Our side is not set up (no token, no database id)."""


class NotionPageTrashed(NotionError):
    """400 validation_error "Can't edit block that is archived": a person trashed the page."""


def notion_id(value):
    """A Notion id in its canonical form (lowercase, dashed), however it was copied: with or
    without dashes, any case, or the whole URL of the database or page. The one place ids are
    normalized; raises NotionConfigError naming what was given."""
    text = str(value or "").strip().lower()
    path = text.split("?", 1)[0].split("#", 1)[0]
    found = _NOTION_ID.findall(path.replace("-", ""))
    if not found:
        raise NotionConfigError(
            f"{value!r} is not a Notion id: expected 32 hexadecimal characters (dashes allowed), "
            "or the URL of the database"
        )
    bare = found[-1]
    return f"{bare[:8]}-{bare[8:12]}-{bare[12:16]}-{bare[16:20]}-{bare[20:]}"


def notion_token_for_channel(channel):
    """The channel's own (encrypted) token, else the deployment's NOTION_TOKEN."""
    from channels_app.services import channel_secret_get

    token = channel_secret_get(channel=channel, name=SecretName.NOTION_TOKEN)
    if token or settings.NOTION_TOKEN:
        return token or settings.NOTION_TOKEN
    raise NotionConfigError(
        f"channel {channel.id}: no Notion token; set one with `manage.py set_channel_secret "
        f"{channel.id} notion_token` or set NOTION_TOKEN for all channels"
    )


def _retry_after_seconds(response):
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return 1.0


def _is_retriable(error):
    if isinstance(error, HTTPResponseError):
        return error.status >= 500
    return isinstance(error, RequestTimeoutError | httpx.TransportError)


class NotionApi:
    """A Notion client for one token. `call(what, method, ...)` runs one SDK method with the
    shared rate limit, our retry policy and readable errors."""

    def __init__(self, token, *, owner=""):
        self.token_id = token_key(token)
        self.owner = owner  # e.g. "channel pokechannel1", for messages
        self._token = token
        self.limiter = NotionRateLimiter(token)
        http = httpx.Client(
            event_hooks={"request": [self._before_request], "response": [self._after_response]}
        )
        self.client = notion_client.Client(
            auth=token,
            base_url=settings.NOTION_API_BASE,
            client=http,
            retry=False,
            timeout_ms=TIMEOUT_MS,
            logger=logging.getLogger("notion_client"),
        )

    _shared = {}
    _shared_lock = threading.Lock()

    @classmethod
    def for_channel(cls, channel):
        """One client per token, base URL and channel in this process: building an httpx client
        (its TLS context) costs about a second, and the client is safe to share across threads."""
        token = notion_token_for_channel(channel)
        key = (token_key(token), settings.NOTION_API_BASE, channel.id)
        with cls._shared_lock:
            api = cls._shared.get(key)
            if api is None or api._token != token:
                api = cls._shared[key] = cls(token, owner=f"channel {channel.id}")
        return api

    def _before_request(self, request):
        self.limiter.acquire()

    def _after_response(self, response):
        if response.status_code == 429:
            self.limiter.pause(_retry_after_seconds(response))

    def call(self, what, method, *args, idempotent=True, sent=(), **kwargs):
        """Run `method(*args, **kwargs)` (e.g. self.client.pages.update). `what` names the action
        and its object for messages ("updating page 1a2b... of task 3c4d..."); `sent` lists
        the property names sent (`sent`), to name the one Notion rejects."""

        def retriable(error):
            if isinstance(error, HTTPResponseError) and error.status == 429:
                return True
            return idempotent and _is_retriable(error)

        def wait(retry_state):
            error = retry_state.outcome.exception()
            if isinstance(error, HTTPResponseError) and error.status == 429:
                return 0  # the limiter holds the next request for Retry-After
            return backoff(retry_state)

        backoff = wait_exponential_jitter(
            multiplier=BACKOFF_INITIAL_SECONDS,
            max=BACKOFF_MAX_SECONDS,
            jitter=BACKOFF_INITIAL_SECONDS,
        )
        retrying = Retrying(
            stop=stop_after_attempt(RETRY_ATTEMPTS),
            wait=wait,
            retry=retry_if_exception(retriable),
            reraise=True,
        )
        try:
            return retrying(method, *args, **kwargs)
        except (HTTPResponseError, RequestTimeoutError, httpx.TransportError) as error:
            raise self._translate(error, what, sent) from None

    def _scrub(self, text):
        return text.replace(self._token, "<token>") if self._token else text

    def _translate(self, error, what, properties):
        owner = f" ({self.owner})" if self.owner else ""
        if not isinstance(error, HTTPResponseError):
            return NotionUnavailable(
                f"Notion did not answer while {what}{owner}: {type(error).__name__}; "
                "it is retried on the next push or poll"
            )
        status, code = error.status, getattr(error.code, "value", error.code)
        detail = self._scrub(str(error)).rstrip(".")
        if status == 401:
            return NotionAuthError(
                f"Notion rejected the token while {what}{owner} (401 {code}): {detail}. Set a "
                "valid integration token with `manage.py set_channel_secret <channel> "
                "notion_token` (or NOTION_TOKEN)",
                status=status,
                code=code,
            )
        if status in (403, 404):
            return NotionAuthError(
                f"Notion refused access while {what}{owner} ({status} {code}): {detail}. Share "
                "the database with the integration (database menu > Connections) and check the "
                "id in the channel's YAML",
                status=status,
                code=code,
            )
        if status == 429 or status >= 500:
            return NotionUnavailable(
                f"Notion is busy or failing while {what}{owner} ({status} {code}) after "
                f"{RETRY_ATTEMPTS} attempts: {detail}; it is retried later",
                status=status,
                code=code,
            )
        if status == 400 and TRASHED_MESSAGE in detail.lower():
            return NotionPageTrashed(
                f"Notion refused {what}{owner}: the page is in the trash (400 {code})",
                status=status,
                code=code,
            )
        named = [name for name in properties if name in detail]
        where = (
            f" property {', '.join(repr(n) for n in named)}"
            if named
            else (f" (properties sent: {', '.join(properties)})" if properties else "")
        )
        return NotionError(
            f"Notion rejected {what}{owner}{where} ({status} {code}): {detail}. Check the board "
            "with `manage.py setup_notion_board <channel>`",
            status=status,
            code=code,
        )

    def page_update(self, page_id, properties, *, what):
        """pages.update with these properties; an error names the property Notion rejects."""
        return self.call(
            what, self.client.pages.update, page_id, properties=properties, sent=tuple(properties)
        )

    def paginate(self, what, method, *args, **kwargs):
        """Yield every result of a paginated list endpoint."""
        cursor = None
        while True:
            extra = {"start_cursor": cursor} if cursor else {}
            page = self.call(what, method, *args, page_size=100, **kwargs, **extra)
            yield from page.get("results", [])
            if not page.get("has_more") or not page.get("next_cursor"):
                return
            cursor = page["next_cursor"]


# --- Property values -----------------------------------------------------------------------------


def utf16_length(text):
    """The length Notion checks its limits against: JavaScript's, in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _utf16_chunks(text, size):
    """Split text into pieces of at most `size` UTF-16 code units, never inside a character."""
    chunks, start, units = [], 0, 0
    for index, char in enumerate(text):
        width = 2 if ord(char) > 0xFFFF else 1
        if units + width > size:
            chunks.append(text[start:index])
            start, units = index, 0
        units += width
    if start < len(text):
        chunks.append(text[start:])
    return chunks


def rich_text(text):
    """A rich_text/title property value holding `text` whole: as many rich-text objects of at
    most 2,000 UTF-16 code units as it needs. Beyond Notion's 100 objects it is cut, and the last
    object says how much was left out."""
    chunks = _utf16_chunks(text or "", RICH_TEXT_CHUNK)
    if len(chunks) > RICH_TEXT_MAX_CHUNKS:
        kept = chunks[: RICH_TEXT_MAX_CHUNKS - 1]
        widest = f" … [cut: {len(text):,} more characters]"  # the marker is never longer
        head = _utf16_chunks(chunks[len(kept)], RICH_TEXT_CHUNK - utf16_length(widest))[0]
        left_out = len(text) - sum(len(chunk) for chunk in kept) - len(head)
        chunks = [*kept, f"{head} … [cut: {left_out:,} more characters]"]
    return [{"type": "text", "text": {"content": chunk}} for chunk in chunks]


def quoted_title(title, limit=TITLE_QUOTE_CHARS):
    """A card title to quote in a message: at most about `limit` characters."""
    title = " ".join((title or "").split())
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def plain_text(value):
    """The text of a title or rich_text property value (or a list of rich text items)."""
    if value is None:
        return ""
    items = value if isinstance(value, list) else value.get(value.get("type", ""), [])
    return "".join(
        item.get("plain_text") or item.get("text", {}).get("content", "") for item in items
    )


def status_name(value):
    if not value:
        return None
    selected = value.get("status") or value.get("select")
    return selected.get("name") if selected else None

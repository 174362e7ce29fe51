"""A fake YouTube Data API v3 on 127.0.0.1 that speaks the resumable upload protocol as
api-contracts.md describes it, with scriptable faults and counters.

    with FakeYouTube() as youtube:
        settings.YOUTUBE_API_BASE = youtube.url
        youtube.drop_after_chunk = 1          # the connection drops after chunk 1 arrived
        ... upload ...
        assert youtube.inserts == 1 and youtube.insert_bodies[0]["status"][...]

Routes: POST /upload/youtube/v3/videos?uploadType=resumable (200 + Location session URI);
PUT <session URI> with `Content-Range: bytes a-b/total` (308 + Range, or 200 + the video) or
`bytes */total` (a status query); POST /upload/youtube/v3/thumbnails/set; GET /youtube/v3/videos;
GET /youtube/v3/channels?mine=true; POST /token (the OAuth token endpoint).

The token endpoint: google.oauth2.credentials.Credentials.from_authorized_user_info always sets
token_uri to Google's (whatever the stored JSON says), so it cannot be pointed at the fake through
the stored credentials. Tests fake it at the transport instead: `youtube.transport()` is an
httplib2.Http that sends requests for https://oauth2.googleapis.com/ to this server's /token
(monkeypatch pipeline.integrations.youtube_client._transport with it). Requests to the API itself
go to YOUTUBE_API_BASE through client_options, as in production.

httplib2 silently sends a request again once when the connection drops before an answer, so a
drop that the client should notice drops two requests in a row (`drops`).

As strict as Google's documentation: the final chunk is answered 201 Created (`final_status`;
200 is what a status query or a re-sent complete upload gets); an expired session answers 404;
`upload_limit_exceeded` refuses videos.insert with 400 uploadLimitExceeded (the channel's own
daily limit, domain youtube.video); thumbnails.set refuses images over 2 MB (413
uploadTooLarge) and anything but a JPEG or PNG (400 invalidImage); channels.list
part=contentDetails names the uploads playlist, playlistItems.list lists it (newest first) and
videos.list returns snippet.tags, so a video can be found by its marker tag (`api_calls` counts
these calls). videos.insert refuses metadata as YouTube does (400, domain youtube.video): a title
empty, over 100 characters or with < or > (invalidTitle), a description over 5,000 UTF-8 bytes or
with < or > (invalidDescription), tags over 500 characters as YouTube counts them: each tag's
length, a comma between tags, 2 more for a tag with a space (invalidTags). Counted here on their
own, not with core.text.youtube_text_limits, so the fake checks the code instead of agreeing
with it.
"""

from __future__ import annotations

import collections
import json
import re
import socket
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field

import httplib2

from tests.fakes.base import FakeServer, Recorded, Reply

GOOGLE_TOKEN_HOST = "https://oauth2.googleapis.com/"
ACCESS_TOKEN = "fake-access-token-0"
REFRESH_TOKEN = "fake-refresh-token"
CHANNEL_ID = "UCfakefakefakefakefake00"
DROP = Reply(status=0)  # close the connection without an answer
THUMBNAIL_MAX_BYTES = 2 * 1024 * 1024
CONTENT_RANGE = re.compile(r"bytes (?:(\d+)-(\d+)|\*)/(\d+)")


def metadata_refusal(snippet):
    """(reason, message) for a snippet YouTube refuses at videos.insert, or None."""
    title = snippet.get("title") or ""
    if not title.strip() or len(title) > 100 or "<" in title or ">" in title:
        return "invalidTitle", "The request metadata specifies an invalid or empty video title."
    description = snippet.get("description") or ""
    if len(description.encode("utf-8")) > 5000 or "<" in description or ">" in description:
        return "invalidDescription", "The request metadata specifies an invalid video description."
    tags = snippet.get("tags") or []
    counted = sum(len(tag) + (2 if " " in tag else 0) for tag in tags) + max(len(tags) - 1, 0)
    if counted > 500:
        return "invalidTags", "The request metadata specifies invalid video keywords."
    return None


def error_body(status, reason, message, domain="youtube.api"):
    return {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }


@dataclass
class Session:
    id: str
    total: int
    body: dict
    received: bytearray = field(default_factory=bytearray)
    video_id: str = ""


class FakeYouTube(FakeServer):
    def __init__(self, *, chunk_delay=0.0, channel_id=CHANNEL_ID):
        super().__init__()
        self.chunk_delay = chunk_delay  # seconds before answering each chunk (a slow upload)
        self.channel_id = channel_id
        self.access_tokens = {ACCESS_TOKEN}
        self.sessions: dict[str, Session] = {}
        self.videos: dict[str, dict] = {}
        self.thumbnails: dict[str, bytes] = {}
        self.session_starts = 0
        self.status_queries = 0
        self.chunks = 0  # chunk PUTs received (status queries not counted)
        self.bytes_received = 0
        self.token_refreshes = 0
        # Faults, set by a test before the upload:
        self.drop_after_chunk = None  # chunk number whose bytes arrive but whose answer is lost
        self.drops = 2  # requests dropped from then on (httplib2 resends once by itself)
        self.fail_chunks: dict[int, int] = {}  # chunk number -> status answered (bytes lost)
        self.no_range_after_chunk = None  # chunk number after which the server lost everything
        self.quota_exceeded = False  # videos.insert answers 403 quotaExceeded
        self.revoked = False  # access tokens refused (401) and refresh answers invalid_grant
        self.hang_after_last_chunk = False  # the video is made, the answer never comes
        self.final_status = 201  # what the chunk that completes an upload is answered
        self.unanswerable_status_queries = False  # status queries dropped (no answer at all)
        self.upload_limit_exceeded = False  # videos.insert: 400 uploadLimitExceeded
        self.api_calls = collections.Counter()  # "channels.list" etc. -> calls
        self._drops_left = 0
        self._count_lock = threading.Lock()

    # ------------------------------------------------------------------ counters

    @property
    def inserts(self):
        """Videos created (uploads completed)."""
        return len(self.videos)

    def expire_sessions(self):
        """Every upload session expires (404 from then on); videos already made stay."""
        with self._count_lock:
            self.sessions.clear()

    @property
    def insert_bodies(self):
        return [session.body for session in self.sessions.values()]

    def transport(self, timeout=None):
        """An httplib2.Http whose OAuth token requests reach this fake (see the module doc)."""
        return _TokenRedirectHttp(f"{self.url}/token", timeout=timeout)

    # ------------------------------------------------------------------ routing

    def answer(self, request: Recorded) -> Reply:
        with self._count_lock:
            if self._drops_left > 0:
                self._drops_left -= 1
                return DROP
        path = request.path
        if path == "/token" and request.method == "POST":
            return self._token(request)
        if request.method == "PUT" and "upload_id" in request.query:
            return self._session_put(request)
        if not self._authorized(request):
            return Reply.json_body(
                401,
                error_body(401, "authError", "Request had invalid authentication credentials."),
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        if path == "/upload/youtube/v3/videos" and request.method == "POST":
            return self._session_start(request)
        if path == "/upload/youtube/v3/thumbnails/set" and request.method == "POST":
            return self._thumbnail(request)
        if path == "/youtube/v3/videos" and request.method == "GET":
            self.api_calls["videos.list"] += 1
            ids = ",".join(request.query.get("id", [""])).split(",")
            if len(ids) > 50:
                return Reply.json_body(400, error_body(400, "badRequest", "at most 50 ids"))
            items = [self.videos[video_id] for video_id in ids if video_id in self.videos]
            return Reply.json_body(200, {"kind": "youtube#videoListResponse", "items": items})
        if path == "/youtube/v3/channels" and request.method == "GET":
            self.api_calls["channels.list"] += 1
            items = []
            if request.query.get("mine") == ["true"]:
                items = [
                    {
                        "id": self.channel_id,
                        "snippet": {"title": "Fake Channel"},
                        "contentDetails": {
                            "relatedPlaylists": {"uploads": "UU" + self.channel_id[2:]}
                        },
                    }
                ]
            return Reply.json_body(200, {"kind": "youtube#channelListResponse", "items": items})
        if path == "/youtube/v3/playlistItems" and request.method == "GET":
            return self._playlist_items(request)
        return Reply.json_body(404, error_body(404, "notFound", f"no route {path}"))

    def _playlist_items(self, request):
        self.api_calls["playlistItems.list"] += 1
        if request.query.get("playlistId") != ["UU" + self.channel_id[2:]]:
            return Reply.json_body(404, error_body(404, "playlistNotFound", "no such playlist"))
        size = int(request.query.get("maxResults", ["5"])[0])
        if not 0 <= size <= 50:
            return Reply.json_body(400, error_body(400, "invalidValue", "maxResults 0-50"))
        newest_first = list(reversed(self.videos.values()))[:size]
        items = [
            {
                "kind": "youtube#playlistItem",
                "snippet": {"title": video["snippet"].get("title", "")},
                "contentDetails": {"videoId": video["id"]},
            }
            for video in newest_first
        ]
        return Reply.json_body(200, {"kind": "youtube#playlistItemListResponse", "items": items})

    def _send(self, handler, reply):
        if reply is DROP:
            handler.close_connection = True
            try:
                handler.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        super()._send(handler, reply)

    def _authorized(self, request):
        header = request.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip()
        return not self.revoked and token in self.access_tokens

    def _token(self, request):
        form = urllib.parse.parse_qs(request.body.decode())
        self.token_refreshes += 1
        if self.revoked or form.get("refresh_token") != [REFRESH_TOKEN]:
            return Reply.json_body(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        token = f"fake-access-token-{self.token_refreshes}"
        self.access_tokens.add(token)
        return Reply.json_body(
            200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        )

    # ------------------------------------------------------------------ resumable upload

    def _session_start(self, request):
        if self.quota_exceeded:
            return Reply.json_body(
                403,
                error_body(
                    403,
                    "quotaExceeded",
                    "The request cannot be completed because you have exceeded your quota.",
                    domain="youtube.quota",
                ),
            )
        if self.upload_limit_exceeded:
            return Reply.json_body(
                400,
                error_body(
                    400,
                    "uploadLimitExceeded",
                    "The user has exceeded the number of videos they may upload.",
                    domain="youtube.video",
                ),
            )
        if request.query.get("uploadType") != ["resumable"]:
            return Reply.json_body(400, error_body(400, "badRequest", "uploadType=resumable"))
        refused = metadata_refusal((request.json or {}).get("snippet") or {})
        if refused:
            return Reply.json_body(400, error_body(400, *refused, domain="youtube.video"))
        length = request.headers.get("x-upload-content-length")
        if not length or not request.headers.get("x-upload-content-type"):
            return Reply.json_body(400, error_body(400, "badRequest", "X-Upload-Content-*"))
        session = Session(uuid.uuid4().hex, int(length), request.json or {})
        with self._count_lock:
            self.sessions[session.id] = session
            self.session_starts += 1
        location = (
            f"{self.url}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status"
            f"&upload_id={session.id}"
        )
        return Reply(200, b"", {"Location": location})

    def _session_put(self, request):
        session = self.sessions.get(request.query["upload_id"][0])
        if session is None:
            return Reply.json_body(404, error_body(404, "notFound", "no such upload session"))
        match = CONTENT_RANGE.fullmatch(request.headers.get("content-range", ""))
        if not match or int(match.group(3)) != session.total:
            return Reply.json_body(400, error_body(400, "badContent", "bad Content-Range"))
        if match.group(1) is None:
            self.status_queries += 1
            if self.unanswerable_status_queries:
                return DROP
            return self._progress(session)
        return self._chunk(session, int(match.group(1)), request.body)

    def _progress(self, session):
        if session.video_id:
            return Reply.json_body(200, self.videos[session.video_id])
        if not session.received:
            return Reply(308, b"")  # no Range: nothing arrived
        return Reply(308, b"", {"Range": f"bytes=0-{len(session.received) - 1}"})

    def _chunk(self, session, start, data):
        with self._count_lock:
            self.chunks += 1
            number = self.chunks
        if number in self.fail_chunks:
            return Reply.json_body(
                self.fail_chunks[number], error_body(self.fail_chunks[number], "backendError", "x")
            )
        have = len(session.received)
        already_done = bool(session.video_id)
        if start <= have and not session.video_id:
            fresh = data[have - start :]
            session.received.extend(fresh)
            self.bytes_received += len(fresh)
        if len(session.received) == session.total and not session.video_id:
            session.video_id = uuid.uuid4().hex[:11]
            snippet, status = session.body.get("snippet", {}), session.body.get("status", {})
            self.videos[session.video_id] = {
                "kind": "youtube#video",
                "id": session.video_id,
                "snippet": {**snippet, "channelId": self.channel_id},
                "status": {"uploadStatus": "uploaded", **status},
            }
        completed = bool(session.video_id) and not already_done
        reply = self._progress(session)
        if completed:
            reply.status = self.final_status  # 201 Created for the chunk that made the video
        if self.chunk_delay:
            reply.delay = self.chunk_delay
        if number == self.no_range_after_chunk and not session.video_id:
            session.received.clear()
            return Reply(308, b"")
        if number == self.drop_after_chunk:
            with self._count_lock:
                self._drops_left = self.drops - 1
            return DROP
        if session.video_id and self.hang_after_last_chunk:
            return Reply(hang=True)
        return reply

    def _thumbnail(self, request):
        video_id = request.query.get("videoId", [""])[0]
        if video_id not in self.videos:
            return Reply.json_body(404, error_body(404, "videoNotFound", video_id))
        if len(request.body) > THUMBNAIL_MAX_BYTES:
            return Reply.json_body(
                413, error_body(413, "uploadTooLarge", "The thumbnail is larger than 2 MB.")
            )
        kind = request.headers.get("content-type", "")
        looks_like = (
            "image/jpeg" if request.body[:3] == b"\xff\xd8\xff"
            else "image/png" if request.body[:8] == b"\x89PNG\r\n\x1a\n"
            else ""
        )  # fmt: skip
        if kind not in ("image/jpeg", "image/png") or looks_like != kind:
            return Reply.json_body(
                400, error_body(400, "invalidImage", f"not a JPEG or PNG image ({kind})")
            )
        self.thumbnails[video_id] = request.body
        return Reply.json_body(200, {"items": [{"default": {"url": "https://i.ytimg.com/x"}}]})


class _TokenRedirectHttp(httplib2.Http):
    def __init__(self, token_url, timeout=None):
        super().__init__(timeout=timeout)
        self._token_url = token_url

    def request(self, uri, method="GET", body=None, headers=None, *args, **kwargs):
        if uri.startswith(GOOGLE_TOKEN_HOST):
            uri = self._token_url
        elif not uri.startswith("http://127.0.0.1"):
            raise AssertionError(f"a test tried to reach the network: {uri}")
        return super().request(uri, method, body, headers, *args, **kwargs)


def credentials_json(token=ACCESS_TOKEN, expiry="2099-01-01T00:00:00Z"):
    """Stored OAuth credentials the fake accepts (the shape Credentials.to_json() writes).
    from_authorized_user_info treats credentials without an expiry as expired (a refresh comes
    first); with a future expiry the stored token is used as is, so a worker process, whose token
    requests cannot be redirected, needs no token endpoint."""
    return json.dumps(
        {
            "token": token,
            "expiry": expiry,
            "refresh_token": REFRESH_TOKEN,
            "token_uri": "https://oauth2.googleapis.com/token",
            "client_id": "fake-client.apps.googleusercontent.com",
            "client_secret": "fake-client-secret",
            "scopes": [
                "https://www.googleapis.com/auth/youtube.upload",
                "https://www.googleapis.com/auth/youtube.readonly",
            ],
        }
    )

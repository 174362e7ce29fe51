"""A tiny scriptable HTTP server on 127.0.0.1 for faking external APIs in tests.

Each fake (FakeGemini, FakeKie, FakeCatbox, FakeElevenLabs) subclasses FakeServer: it records
every request (method, path, query, headers, body) and answers either with the behaviour of the
real service (as api-contracts.md describes it) or with replies queued by the test:

    with FakeGemini() as gemini:
        gemini.queue(Reply.json_body(429, {...}))   # the next call gets this
        ... run the script with GEMINI_API_BASE=gemini.url ...
        assert gemini.requests[0].headers["x-goog-api-key"] == "..."
"""

from __future__ import annotations

import collections
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def form(self) -> dict[str, tuple[str | None, bytes]]:
        """Parse a multipart/form-data body: name -> (filename, content)."""
        content_type = self.headers.get("content-type", "")
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + self.body
        )
        fields = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[name] = (part.get_filename(), part.get_payload(decode=True))
        return fields


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    hang: bool = False  # never answer (until the server closes): a timeout
    chunk_delay: float = 0.0  # stream the body slowly, one chunk at a time
    chunk_size: int = 1024
    cut_after: int | None = None  # promise the whole body, send this many bytes, then hang up

    @classmethod
    def json_body(cls, status: int, document, **kwargs) -> Reply:
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        return cls(status, json.dumps(document).encode(), headers, **kwargs)

    @classmethod
    def text(cls, status: int, text: str, **kwargs) -> Reply:
        headers = {"Content-Type": "text/plain; charset=utf-8", **kwargs.pop("headers", {})}
        return cls(status, text.encode(), headers, **kwargs)


class FakeServer:
    """Subclasses implement ``answer(request) -> Reply`` for the default behaviour."""

    def __init__(self):
        self.requests: list[Recorded] = []
        self._queued: collections.deque[Reply] = collections.deque()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parsed = urllib.parse.urlsplit(self.path)
                recorded = Recorded(
                    self.command,
                    parsed.path,
                    urllib.parse.parse_qs(parsed.query),
                    {name.lower(): value for name, value in self.headers.items()},
                    body,
                )
                with fake._lock:
                    fake.requests.append(recorded)
                    reply = fake._queued.popleft() if fake._queued else None
                if reply is None:
                    reply = fake.answer(recorded)
                fake._send(self, reply)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    # ------------------------------------------------------------------ scripting

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, before the default."""
        with self._lock:
            self._queued.extend(replies)

    def answer(self, request: Recorded) -> Reply:
        return Reply(404, b"not found")

    def requests_to(self, path_part: str) -> list[Recorded]:
        return [request for request in self.requests if path_part in request.path]

    def _send(self, handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.hang:
            self._closing.wait(60)
            return
        if reply.delay:
            self._closing.wait(reply.delay)
        try:
            handler.send_response(reply.status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(reply.body)))
            handler.end_headers()
            if reply.cut_after is not None:
                handler.wfile.write(reply.body[: reply.cut_after])
                handler.wfile.flush()
                handler.close_connection = True  # the server closes the socket: a cut body
                return
            if not reply.chunk_delay:
                handler.wfile.write(reply.body)
                return
            for start in range(0, len(reply.body), reply.chunk_size):
                if self._closing.is_set():
                    return
                handler.wfile.write(reply.body[start : start + reply.chunk_size])
                handler.wfile.flush()
                time.sleep(reply.chunk_delay)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (e.g. killed mid-download): fine for a fake


def unused_port_url() -> str:
    """A URL on which nothing listens: connection refused."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"

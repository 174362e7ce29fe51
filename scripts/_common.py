"""Shared plumbing for the stateless pipeline scripts in this directory.

Every script is run as ``python scripts/<name>.py`` and imports this module as ``_common``.
It holds what each script would otherwise repeat: the exit-code contract, the JSON result and
error lines, secrets from the environment (never argv), HTTP with timeouts and error
classification, atomic writes, FFmpeg lookup and media probing, loudness measurement, and the
``local`` provider that makes real media offline.

Exit codes (the script contract: the runner, pipeline/runner.py, classifies a run by them):

    0   ok; the last stdout line is {"ok": true, "outputs": [...], "provider": ..., "usage": {...}}
    2   usage error (argparse)
    65  bad input or a permanent rejection (HTTP 400/404/422, safety block, missing or unreadable
        file, empty text, out-of-range value, malformed manifest, result that is not media)
    70  unexpected internal error (a bug); the orchestrator retries it a bounded number of times
    75  temporary (network error, a connection closed mid-answer, timeout or request deadline,
        HTTP 408/429/5xx, provider busy, poll deadline); the error line's "retry_after" is the
        wait in seconds the service asked for, when it said one
    77  auth or credit (HTTP 401/402/403, KIE body code 401/402, ElevenLabs quota_exceeded)
    78  configuration (missing API key or voice id; FFmpeg not found, older than 5.1, or
        unable to run a filter or encoder we use: see core/ffmpeg.py)

On failure the last stderr line is {"ok": false, "error": ..., "retriable": ..., "status": ...}.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import errno
import hashlib
import http.client
import json
import math
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

EX_CONFIG = 78

# The code the scripts share with the Django apps (the FFmpeg lookup, YouTube's limits, the
# storyboard format) lives in the project's core package, plain Python. The runner puts the
# repository root on the child's PYTHONPATH (the image sets PYTHONPATH=/app); run by hand without
# it, a script says so in one line and exits as a configuration error.
try:
    from core.ffmpeg import (  # noqa: F401 (the encoder recipe is re-exported to the scripts)
        CLIP_GOP_FRAMES,
        FRAME_HEIGHT,
        FRAME_RATE,
        FRAME_WIDTH,
        LOUDNESS_MEASURE_FILTER,
        NO_SPACE_LEFT,
        VIDEO_ENCODE_ARGS,
        FFmpegUnusable,
        NoSpaceLeft,
        clip_encode_args,
        usable_ffmpeg,
    )
except ModuleNotFoundError as error:
    if error.name not in {"core", "core.ffmpeg"}:
        raise
    print(
        "error: the project's core package is not importable: put the repository root on "
        "PYTHONPATH (PYTHONPATH=/path/to/videogen python scripts/...)",
        file=sys.stderr,
    )
    sys.exit(EX_CONFIG)

EX_OK = 0
EX_USAGE = 2
EX_DATAERR = 65
EX_SOFTWARE = 70
EX_TEMPFAIL = 75
EX_NOPERM = 77

DEFAULT_HTTP_TIMEOUT = 60.0
DEFAULT_HTTP_DEADLINE = 600.0
# The longest wait a service may ask for that we pass on; past it, the request is refused for a
# day or more, and the pipeline's own retry cap decides.
RETRY_AFTER_MAX_SECONDS = 24 * 3600
USER_AGENT = "videogen-scripts/1.0"


class ScriptError(Exception):
    """A failure with a known exit code; ``run`` turns it into the JSON error line."""

    def __init__(
        self,
        message: str,
        exit_code: int = EX_DATAERR,
        status: int | None = None,
        extra: dict | None = None,
        usage: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.status = status
        self.extra = extra or {}  # more fields for the JSON error line (e.g. paid usage)
        if usage:  # what the run spent before it failed, for the orchestrator to book
            self.extra.update(paid_fields(usage))

    @property
    def retriable(self) -> bool:
        return self.exit_code == EX_TEMPFAIL


class Terminated(ScriptError):
    """SIGTERM (e.g. a task time limit): temporary, whatever step it interrupted."""


def input_error(message: str) -> ScriptError:
    return ScriptError(message, EX_DATAERR)


def no_space_error(path: str | os.PathLike, what: str = "") -> ScriptError:
    """A full disk: temporary (75), run again once space is freed."""
    where = f"{what}: " if what else ""
    return ScriptError(
        f"{where}no space left on {path} (the disk is full; free some space and run it again)",
        EX_TEMPFAIL,
    )


def is_no_space(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno == errno.ENOSPC


# --------------------------------------------------------------------------- secrets, output


_SECRETS: set[str] = set()


def secret(name: str, *, purpose: str = "") -> str:
    """Read a secret from the environment only; exit 78 naming the variable when it is missing."""
    value = os.environ.get(name, "").strip()
    if not value:
        hint = f" ({purpose})" if purpose else ""
        raise ScriptError(
            f"environment variable {name} is not set{hint}; secrets are read from the "
            "environment only, never from the command line",
            EX_CONFIG,
        )
    _SECRETS.add(value)
    return value


def redact(text: str) -> str:
    for value in _SECRETS:
        if value:
            text = text.replace(value, "***")
    return text


def progress(message: str) -> None:
    """A human-readable progress line on stderr (the last stderr line stays the JSON one)."""
    print(redact(message), file=sys.stderr, flush=True)


def emit_result(outputs: Sequence[str | os.PathLike], provider: str, usage: dict, **extra) -> None:
    line = {
        "ok": True,
        "outputs": [str(path) for path in outputs],
        "provider": provider,
        "usage": usage,
        **extra,
    }
    sys.stdout.flush()
    print(redact(json.dumps(line, sort_keys=False)), flush=True)


def emit_error(message: str, *, retriable: bool, status: int | None, **extra) -> None:
    line = {
        "ok": False, "error": redact(message), "retriable": retriable, "status": status, **extra,
    }  # fmt: skip
    sys.stderr.flush()
    print(json.dumps(line), file=sys.stderr, flush=True)


def _terminated(signal_number, frame):
    raise Terminated("terminated by SIGTERM (e.g. a task time limit)", EX_TEMPFAIL)


def run(main: Callable[[], None]) -> None:
    """Entry point wrapper: map every failure to its exit code and JSON error line.

    SIGTERM becomes an exception, so temporary files are removed on the way out (SIGKILL
    cannot be caught: then only a hidden temporary file may remain, never a partial output)."""
    signal.signal(signal.SIGTERM, _terminated)
    if CONTRACT_FLAG in sys.argv[1:]:
        argparse.ArgumentParser.parse_args = _answer_contract
    try:
        main()
    except ScriptError as error:
        emit_error(error.message, retriable=error.retriable, status=error.status, **error.extra)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        emit_error("interrupted", retriable=True, status=None)
        sys.exit(EX_TEMPFAIL)
    except Exception as error:  # a bug: keep the traceback, but never a secret
        if is_no_space(error):  # a write that no helper below wrapped: still a full disk
            emit_error(no_space_error(error.filename or "the disk").message, retriable=True,
                       status=None)  # fmt: skip
            sys.exit(EX_TEMPFAIL)
        print(redact(traceback.format_exc()), file=sys.stderr)
        emit_error(f"internal error: {type(error).__name__}: {error}", retriable=False, status=None)
        sys.exit(EX_SOFTWARE)
    sys.exit(EX_OK)


# --------------------------------------------------------------------------- arguments

# The orchestrator asks each script once which flags it accepts, so that our extensions
# (--provider, --aspect-ratio, ...) reach only scripts that declare them and an operator's own
# script gets its original command line. The script's own parser is the answer: parse_args is
# swapped (in this process only, for this one question) for a function that prints its flags.
CONTRACT_FLAG = "--videogen-contract"


def _answer_contract(parser, *args, **kwargs):
    flags = sorted(flag for flag in parser._option_string_actions if flag.startswith("--"))
    print(json.dumps({"videogen_contract": 1, "flags": [f for f in flags if f != "--help"]}))
    sys.exit(EX_OK)


def add_provider_argument(parser, *, real: str, choices: Sequence[str] | None = None) -> None:
    choices = list(choices or [real, "local"])
    parser.add_argument(
        "--provider",
        choices=choices,
        default=None,
        help=f"backend: {' or '.join(choices)} (default: $VIDEOGEN_PROVIDER, else {real})",
    )


def resolve_provider(args, *, real: str, choices: Sequence[str] | None = None) -> str:
    choices = list(choices or [real, "local"])
    if args.provider:
        return args.provider
    from_env = os.environ.get("VIDEOGEN_PROVIDER", "").strip()
    if not from_env:
        return real
    if from_env not in choices:
        raise ScriptError(
            f"VIDEOGEN_PROVIDER={from_env!r} is not a provider of this script "
            f"(choose from {', '.join(choices)})",
            EX_CONFIG,
        )
    return from_env


def require_text(value: str, flag: str) -> str:
    if value is None or not value.strip():
        raise input_error(f"{flag} is empty: give the text to generate from")
    return value.strip()


def require_range(value: float | None, flag: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    if not (low <= value <= high) or math.isnan(value):
        raise input_error(f"{flag} must be between {low:g} and {high:g}, got {value:g}")
    return value


def require_file(path: str | os.PathLike, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise input_error(f"{what}: {path}: file not found")
    if not path.is_file():
        raise input_error(f"{what}: {path}: not a regular file")
    if not os.access(path, os.R_OK):
        raise input_error(f"{what}: {path}: file is not readable")
    if path.stat().st_size == 0:
        raise input_error(f"{what}: {path}: file is empty")
    return path


def open_image(path: str | os.PathLike, what: str):
    """Open an image fully (so truncated files fail here, as exit 65, not later)."""
    from PIL import Image, UnidentifiedImageError

    path = require_file(path, what)
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise input_error(f"{what}: {path}: not a readable image ({error})") from error
    return image


# --------------------------------------------------------------------------- atomic writes


def temp_path_for(output: Path) -> Path:
    """`.<stem>.tmp-<pid><suffix>` beside the output: same filesystem, so os.replace is atomic,
    and the suffix kept so FFmpeg still infers the container from the name."""
    return output.with_name(f".{output.stem}.tmp-{os.getpid()}{output.suffix}")


@contextlib.contextmanager
def atomic_output(output: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``output`` in one rename.

    A crash or SIGKILL leaves at most the hidden temporary file, never a partial ``output``.
    """
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = temp_path_for(output)
    try:
        yield temporary
        if not temporary.exists():
            raise ScriptError(f"{output}: nothing was written", EX_SOFTWARE)
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, output)
    except OSError as error:
        if is_no_space(error):
            raise no_space_error(output.parent, f"writing {output.name}") from error
        raise
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


@contextlib.contextmanager
def work_directory(output: str | os.PathLike) -> Iterator[Path]:
    """A scratch directory beside the output (same filesystem), removed afterwards."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=f".{output.stem}.work-", dir=output.parent))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def write_bytes_atomically(output: str | os.PathLike, data: bytes) -> None:
    with atomic_output(output) as temporary:
        temporary.write_bytes(data)


# --------------------------------------------------------------------------- paid raw outputs
#
# A script that pays for a download and then works on it locally keeps the download, as it
# came, beside its --output (`<stem>.raw<suffix>`, with a `.json` record of the request and its
# usage) before the local work starts. A re-run for the same --output and the same request finds
# it valid and starts from it without calling the provider (its result then says usage 0 and
# "reused_raw": true, so the orchestrator books nothing twice). A local failure after this run
# paid exits 70 and its error line carries {"usage": ..., "paid": true}. On success the raw file
# and its record are removed: a later request for the same --output (an edited storyboard) must
# never inherit them.


def raw_path_for(output: str | os.PathLike) -> Path:
    output = Path(output)
    return output.with_name(f"{output.stem}.raw{output.suffix}")


def _raw_record_path(output: str | os.PathLike) -> Path:
    raw = raw_path_for(output)
    return raw.with_name(raw.name + ".json")


def request_fingerprint(request: dict) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()


def discard_raw(output: str | os.PathLike) -> None:
    for path in (raw_path_for(output), _raw_record_path(output)):
        path.unlink(missing_ok=True)


def reusable_raw(
    output: str | os.PathLike, request: dict, validate: Callable[[Path], None]
) -> dict | None:
    """The record of the raw output this same request paid for earlier, when the file is still
    there and ``validate`` accepts it; otherwise None, and a stale or broken raw is removed."""
    raw = raw_path_for(output)
    if not raw.exists():
        _raw_record_path(output).unlink(missing_ok=True)
        return None
    try:
        record = json.loads(_raw_record_path(output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if not isinstance(record, dict) or record.get("request") != request_fingerprint(request):
        progress(f"{raw}: kept raw output was made for another request; discarded")
        discard_raw(output)
        return None
    try:
        validate(raw)
    except ScriptError as error:
        progress(f"{raw}: kept raw output is not valid ({error.message}); discarded")
        discard_raw(output)
        return None
    progress(f"{raw}: reusing the raw output paid for earlier (no provider call)")
    return record


def keep_raw(
    output: str | os.PathLike, request: dict, download: Callable[[Path], dict]
) -> tuple[Path, dict]:
    """Run ``download`` (it writes the paid answer to the path it gets, checks it, and returns
    the usage) and keep the result as the raw output, atomically, with its record."""
    raw = raw_path_for(output)
    with atomic_output(raw) as temporary:
        usage = download(temporary)
        # The record first: a raw file without its record is never reused, so a crash between
        # the two renames costs at most a new download, never a wrong reuse.
        record = {"request": request_fingerprint(request), "usage": usage}
        write_bytes_atomically(_raw_record_path(output), json.dumps(record).encode())
    return raw, usage


def paid_fields(usage: dict) -> dict:
    return {"usage": usage, "paid": True}


@contextlib.contextmanager
def after_payment(usage: dict, *, paid: bool, raw: Path | None = None) -> Iterator[None]:
    """Local work on a paid answer. Its failure is ours, not the provider's: exit 70 (SIGTERM
    stays 75), and when this run paid, the error line carries the usage to book."""
    extra = paid_fields(usage) if paid else {}
    kept = f"; the paid answer is kept in {raw} for the next attempt" if raw else ""
    try:
        yield
    except Terminated as error:
        raise Terminated(error.message + kept, EX_TEMPFAIL, extra=extra) from error
    except ScriptError as error:
        raise ScriptError(error.message + kept, EX_SOFTWARE, error.status, extra) from error
    except Exception as error:  # a bug in the local step: still a paid attempt to book
        print(redact(traceback.format_exc()), file=sys.stderr)
        raise ScriptError(
            f"internal error: {type(error).__name__}: {error}{kept}", EX_SOFTWARE, extra=extra
        ) from error


# --------------------------------------------------------------------------- HTTP


def _positive_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ScriptError(f"{name} must be a number of seconds, got {raw!r}", EX_CONFIG) from None
    if not (value > 0 and math.isfinite(value)):
        raise ScriptError(f"{name} must be positive, got {raw!r}", EX_CONFIG)
    return value


def http_timeout() -> float:
    """Seconds to connect, and to wait for each piece of an answer (VIDEOGEN_HTTP_TIMEOUT)."""
    return _positive_seconds("VIDEOGEN_HTTP_TIMEOUT", DEFAULT_HTTP_TIMEOUT)


def http_deadline() -> float:
    """Seconds one request may take in all, connecting to the answer's last byte
    (VIDEOGEN_HTTP_DEADLINE): a server that trickles its answer never resets this one."""
    return _positive_seconds("VIDEOGEN_HTTP_DEADLINE", DEFAULT_HTTP_DEADLINE)


def env_url(name: str, default: str) -> str:
    return (os.environ.get(name, "").strip() or default).rstrip("/")


def exit_code_for_status(status: int) -> int:
    if status in (401, 402, 403):
        return EX_NOPERM
    if status in (408, 429) or status >= 500:
        return EX_TEMPFAIL
    if 400 <= status < 500:
        return EX_DATAERR
    return EX_TEMPFAIL  # an unexpected 1xx/3xx: treat as a glitch worth one more try


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes = b""
    streamed_bytes: int = 0
    url: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def text(self, limit: int = 300) -> str:
        text = self.body.decode("utf-8", "replace").strip()
        return text if len(text) <= limit else text[:limit] + "..."


@dataclass
class Multipart:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        boundary = "videogen-" + hashlib.sha256(os.urandom(16)).hexdigest()[:24]
        chunks: list[bytes] = []
        for name, value in self.fields.items():
            chunks.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, (filename, content, content_type) in self.files.items():
            chunks.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            )
            chunks.append(content + b"\r\n")
        chunks.append(f"--{boundary}--\r\n".encode())
        return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def _host(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    return f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else url


class _DeadlinePassed(Exception):
    """The request's overall deadline passed (raised by SIGALRM inside whatever was waiting)."""


@contextlib.contextmanager
def _overall_deadline(seconds: float) -> Iterator[None]:
    """Raise _DeadlinePassed once ``seconds`` have passed, wherever the request is waiting
    (name lookup, connect, TLS, headers, body). A socket timeout alone is per read, so a server
    sending a byte every few seconds would never trip it. Only the main thread gets signals:
    elsewhere (a library caller's thread) the per-read timeout is all there is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signal_number, frame):
        raise _DeadlinePassed

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def http_request(
    method: str,
    url: str,
    *,
    service: str,
    headers: dict[str, str] | None = None,
    json_body=None,
    data: bytes | None = None,
    multipart: Multipart | None = None,
    sink=None,
    timeout: float | None = None,
    deadline: float | None = None,
) -> Response:
    """One HTTP call. Network failures raise ScriptError(75); HTTP errors come back as Response.

    With ``sink`` (a binary file object) a 2xx body is streamed into it instead of memory.
    ``timeout`` (VIDEOGEN_HTTP_TIMEOUT) bounds connecting and each read, so a stalled stream
    ends; ``deadline`` (VIDEOGEN_HTTP_DEADLINE) bounds the whole request, so a trickling one
    ends too.
    """
    if not url.startswith(("http://", "https://")):
        raise ScriptError(f"{service}: not an http(s) URL: {url}", EX_CONFIG)
    request_headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}
    request_headers.update(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode("utf-8")
        request_headers["Content-Type"] = "application/json"
    elif multipart is not None:
        data, request_headers["Content-Type"] = multipart.encode()
    request = urllib.request.Request(url, data=data, method=method, headers=request_headers)
    timeout = timeout if timeout is not None else http_timeout()
    deadline = deadline if deadline is not None else http_deadline()
    where = f"{service} ({_host(url)})"
    try:
        with _overall_deadline(deadline):
            return _exchange(request, url, timeout, sink)
    except _DeadlinePassed as error:
        raise ScriptError(
            f"{where}: no complete answer within {deadline:g} s (VIDEOGEN_HTTP_DEADLINE); the "
            "request was abandoned",
            EX_TEMPFAIL,
        ) from error
    except Exception as error:
        raise network_error(error, where, url, timeout) from error


def _exchange(request, url: str, timeout: float, sink) -> Response:
    try:
        answer = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http/https only)
    except urllib.error.HTTPError as error:
        with error:
            body = error.read()
        return Response(error.code, error.headers, body, url=url)
    with answer:
        if sink is None:
            return Response(answer.status, answer.headers, answer.read(), url=url)
        written = 0
        while chunk := answer.read(256 * 1024):
            sink.write(chunk)
            written += len(chunk)
        # read(n) ends quietly at a closed connection; only a whole read() checks the length
        if answer.length:
            raise http.client.IncompleteRead(b"", answer.length)
        sink.flush()
        return Response(answer.status, answer.headers, b"", written, url=url)


def network_error(error: Exception, where: str, url: str, timeout: float) -> ScriptError:
    """The ScriptError for what a request raised before it had a whole answer (``error`` is
    raised again when it is no network failure at all: a bug, reported as one, exit 70).

    Anything the connection does mid-answer is temporary (75): closed early (IncompleteRead,
    RemoteDisconnected), a garbled status line or header (http.client.HTTPException), a TLS
    record broken off (ssl.SSLError), a reset, a timeout. A TLS certificate we refuse and a URL
    that cannot be an http(s) address are configuration (78): another try gives the same."""
    if isinstance(error, urllib.error.URLError) and not isinstance(error.reason, str):
        cause = error.reason
    else:
        cause = error
    if isinstance(cause, TimeoutError | socket.timeout):
        return ScriptError(f"{where}: timed out after {timeout:g} s", EX_TEMPFAIL)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return ScriptError(f"{where}: TLS certificate rejected: {cause}", EX_CONFIG)
    if isinstance(cause, http.client.IncompleteRead):
        missing = f" ({cause.expected} bytes missing)" if cause.expected else ""
        return ScriptError(
            f"{where}: the connection closed in the middle of the answer{missing}", EX_TEMPFAIL
        )
    if isinstance(cause, http.client.InvalidURL):
        return ScriptError(f"{where}: not a usable URL: {url} ({cause})", EX_CONFIG)
    if isinstance(cause, http.client.HTTPException | OSError | ValueError):
        detail = str(cause) or type(cause).__name__
        return ScriptError(f"{where}: network error: {detail}", EX_TEMPFAIL)
    raise error


def retry_after_seconds(response: Response) -> float | None:
    """How long the service asked us to wait before the next request, in seconds, or None.

    From the Retry-After header (seconds or an HTTP date), else from a Google error body's
    google.rpc.RetryInfo detail ("retryDelay": "53s", a protobuf duration)."""
    delays = []
    header = (response.headers.get("Retry-After") or "").strip() if response.headers else ""
    if header:
        delays.append(_retry_after_header(header))
    body = response.json()
    details = (body.get("error") or {}).get("details") if isinstance(body, dict) else None
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith(
            "google.rpc.RetryInfo"
        ):
            delays.append(_protobuf_duration(detail.get("retryDelay")))
    found = [delay for delay in delays if delay is not None]
    return min(max(found), RETRY_AFTER_MAX_SECONDS) if found else None


def _retry_after_header(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _protobuf_duration(value) -> float | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d+(\.\d{1,9})?s", value.strip()):
        return None
    return float(value.strip()[:-1])


def raise_for_status(
    response: Response, service: str, explain: Callable[[Response], tuple[str, int | None]]
) -> None:
    """Raise the classified ScriptError for a non-2xx response.

    ``explain`` turns the provider's error body into a message and may override the exit code
    (e.g. ElevenLabs' 400 quota_exceeded is a credit problem, 77, not bad input). A temporary
    failure carries the wait the service asked for (Retry-After, Google's RetryInfo) as
    "retry_after" seconds in the error line, so the pipeline's next attempt waits at least that.
    """
    if response.ok:
        return
    message, code = explain(response)
    code = code if code is not None else exit_code_for_status(response.status)
    extra = {}
    delay = retry_after_seconds(response) if code == EX_TEMPFAIL else None
    if delay is not None:
        extra["retry_after"] = round(delay, 3)
        message += f" (the service asked to wait {delay:g} s)"
    raise ScriptError(
        f"{service} answered HTTP {response.status}: {message}", code, response.status, extra
    )


# --------------------------------------------------------------------------- FFmpeg and media


def find_ffmpeg() -> str:
    """The FFmpeg to use (FFMPEG_BINARY, else the bundled imageio-ffmpeg, else PATH), checked
    by _ffmpeg.usable_ffmpeg: too old, or missing a filter we use, is exit 78 naming it."""
    try:
        return usable_ffmpeg().path
    except FFmpegUnusable as error:
        raise ScriptError(error.message, EX_CONFIG) from error
    except NoSpaceLeft as error:
        raise no_space_error(error.path, "checking FFmpeg") from error


def run_ffmpeg(arguments: Sequence[str], *, what: str, ffmpeg: str | None = None) -> str:
    """Run FFmpeg quietly; return its stderr (for filters that report there, e.g. loudnorm)."""
    command = [ffmpeg or find_ffmpeg(), "-hide_banner", "-nostdin", "-y", *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, errors="replace")
    if completed.returncode != 0:
        if NO_SPACE_LEFT in completed.stderr:
            raise no_space_error(arguments[-1], what)  # FFmpeg's output comes last
        tail = "\n".join(completed.stderr.strip().splitlines()[-6:])
        raise ScriptError(
            f"{what}: FFmpeg failed (exit {completed.returncode}): {tail}", EX_SOFTWARE
        )
    return completed.stderr


@dataclass
class MediaInfo:
    path: Path
    duration: float
    has_video: bool
    has_audio: bool
    width: int = 0
    height: int = 0
    frame_rate: float = 0.0
    frames: int = 0
    video_time_base: object = None
    video_codec: str = ""
    pix_fmt: str = ""
    extradata: bytes = b""
    audio_codec: str = ""
    audio_channels: int = 0


def probe_media(path: str | os.PathLike, what: str, *, decode: bool = True) -> MediaInfo:
    """Probe with PyAV (no ffprobe needed); unreadable media is input error 65.

    ``decode`` decodes the first video frame (a container that only looks like video fails);
    without it the first packet of each stream is read, which is ~10x cheaper."""
    import av

    path = require_file(path, what)
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            duration = 0.0
            if container.duration:
                duration = container.duration / 1_000_000
            for stream in (video, audio):
                if stream is not None and stream.duration and stream.time_base:
                    duration = max(duration, float(stream.duration * stream.time_base))
            info = MediaInfo(path, duration, video is not None, audio is not None)
            if video is not None:
                context = video.codec_context
                info.width, info.height = context.width, context.height
                rate = video.average_rate or video.guessed_rate
                info.frame_rate = float(rate) if rate else 0.0
                info.frames = video.frames or 0
                info.video_codec = context.name
                info.pix_fmt = context.format.name if context.format else ""
                info.extradata = bytes(context.extradata or b"")
                info.video_time_base = video.time_base
                if video.duration and video.time_base:
                    info.duration = float(video.duration * video.time_base)
                if decode:
                    context.thread_count = 1  # one frame: threads only cost start-up time
                    next(container.decode(video=0))
                else:
                    next(packet for packet in container.demux(video) if packet.size)
            if audio is not None:
                info.audio_codec = audio.codec_context.name
                info.audio_channels = audio.codec_context.channels
                if video is None:  # StopIteration (caught below) when there is no audio data
                    next(packet for packet in container.demux(audio) if packet.size)
    except (av.error.FFmpegError, StopIteration, OSError, ValueError, IndexError) as error:
        raise input_error(f"{what}: {path}: not readable media ({error})") from error
    if info.duration <= 0:
        raise input_error(f"{what}: {path}: media has no duration")
    return info


_INTEGRATED = re.compile(r"Integrated loudness:\s*I:\s*(\S+) LUFS")


def measure_loudness(input_arguments: Sequence[str], *, what: str, ffmpeg: str | None = None):
    """Integrated loudness (LUFS, EBU R128) of an FFmpeg input, or None when it is silent.

    The ebur128 filter is used rather than a loudnorm first pass: it is ~20x cheaper (no 192 kHz
    resampling), and gain plus a limiter (below) is all the second pass needs."""
    stderr = run_ffmpeg(
        ["-nostats", *input_arguments, "-vn", "-af", LOUDNESS_MEASURE_FILTER, "-f", "null", "-"],
        what=what,
        ffmpeg=ffmpeg,
    )
    found = _INTEGRATED.findall(stderr)
    if not found:
        raise ScriptError(f"{what}: FFmpeg printed no loudness measurement", EX_SOFTWARE)
    try:
        integrated = float(found[-1])
    except ValueError:
        return None
    return integrated if math.isfinite(integrated) and integrated > -70 else None


def loudness_filter(target_lufs: float, measured: float | None, true_peak: float = -1.5) -> str:
    """Linear gain to the target, with a lookahead limiter keeping peaks under ``true_peak``
    dBFS (the limiter only acts on the few peaks the gain pushes over, so the integrated
    loudness stays within a fraction of a LU of the target)."""
    if measured is None:
        return "anull"  # silence cannot be normalized
    limit = 10 ** (true_peak / 20)
    return (
        f"volume={target_lufs - measured:.2f}dB,"
        f"alimiter=limit={limit:.4f}:level=false:latency=true:attack=5:release=60"
    )


# --------------------------------------------------------------------------- the local provider


def stable_seed(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big")


_COLOUR_WORDS = {
    "red": (196, 48, 43), "orange": (230, 126, 34), "gold": (222, 177, 64),
    "golden": (222, 177, 64), "yellow": (241, 196, 15), "green": (46, 139, 87),
    "forest": (34, 102, 51), "moss": (92, 128, 56), "mossy": (92, 128, 56),
    "leaf": (76, 153, 60), "grass": (96, 168, 72), "blue": (41, 98, 180),
    "ocean": (24, 84, 150), "sea": (30, 100, 160), "lake": (52, 120, 170),
    "water": (60, 130, 190), "river": (60, 130, 190), "sky": (120, 170, 225),
    "purple": (125, 60, 152), "violet": (125, 60, 152), "pink": (231, 120, 170),
    "white": (236, 236, 236), "snow": (240, 244, 250), "ice": (200, 225, 240),
    "black": (25, 25, 28), "night": (20, 24, 60), "dark": (35, 35, 45),
    "grey": (128, 128, 128), "gray": (128, 128, 128), "misty": (170, 180, 185),
    "fog": (180, 185, 190), "brown": (120, 80, 45), "desert": (214, 170, 110),
    "sand": (220, 190, 130), "fire": (226, 88, 34), "lava": (207, 16, 32),
    "sunset": (250, 120, 70), "dawn": (250, 190, 140), "cave": (60, 50, 45),
    "electric": (250, 220, 40), "thunder": (90, 90, 120), "pikachu": (250, 220, 40),
    "bulbasaur": (80, 170, 130), "charmander": (235, 120, 50), "squirtle": (100, 170, 220),
}  # fmt: skip

GEMINI_IMAGE_SIZES = {
    "1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832), "3:4": (864, 1184),
    "4:3": (1184, 864), "9:16": (768, 1344), "16:9": (1344, 768), "21:9": (1536, 672),
}  # fmt: skip


def prompt_palette(prompt: str) -> list[tuple[int, int, int]]:
    words = re.findall(r"[a-z]+", prompt.lower())
    colours = [_COLOUR_WORDS[word] for word in words if word in _COLOUR_WORDS]
    seed = stable_seed("palette", prompt)
    while len(colours) < 3:
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        colours.append((60 + seed % 160, 60 + (seed >> 8) % 160, 60 + (seed >> 16) % 160))
    return colours


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType
        return ImageFont.load_default()


def local_image(prompt: str, size: tuple[int, int], references: Sequence = ()):
    """An offline stand-in for an image model: deterministic, and visibly about the prompt.

    Its colours come from the prompt's words (forest -> green, sunset -> orange...), its shapes
    from the prompt's hash, the prompt itself is printed on it, and reference images appear as
    thumbnails. "transparent background" in the prompt gives an RGBA cut-out like a character.
    """
    import random

    from PIL import Image, ImageDraw

    width, height = size
    rng = random.Random(stable_seed("image", prompt))
    palette = prompt_palette(prompt)
    transparent = "transparent background" in prompt.lower()

    top, bottom = palette[0], palette[1]
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), bottom), Image.new("RGB", (width, height), top), gradient
    ).convert("RGBA")
    if transparent:
        image = Image.new("RGBA", (width, height), (0, 0, 0, 0))

    draw = ImageDraw.Draw(image)
    shapes = 3 if transparent else 7
    for index in range(shapes):
        colour = palette[(index + 2) % len(palette)]
        radius = rng.randint(height // 8, height // 3)
        if transparent:
            centre_x = width // 2 + rng.randint(-width // 10, width // 10)
            centre_y = height // 2 + rng.randint(-height // 10, height // 6)
        else:
            centre_x, centre_y = rng.randint(0, width), rng.randint(0, height)
        box = (centre_x - radius, centre_y - radius, centre_x + radius, centre_y + radius)
        fill = (*colour, 255 if transparent else rng.randint(110, 200))
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        shape_draw = ImageDraw.Draw(overlay)
        if rng.random() < 0.6 or transparent:
            shape_draw.ellipse(box, fill=fill)
        else:
            shape_draw.polygon(
                [(centre_x, centre_y - radius), (box[0], box[3]), (box[2], box[3])], fill=fill
            )
        image = Image.alpha_composite(image, overlay)
    draw = ImageDraw.Draw(image)

    for index, reference in enumerate(references[:4]):
        thumb = reference.convert("RGBA")
        thumb.thumbnail((width // 5, height // 5))
        position = (width - thumb.width - 20, 20 + index * (height // 5 + 10))
        image.alpha_composite(thumb, position)

    font = _font(max(14, height // 22))
    caption = _wrap(prompt, font, width - 80, draw)[:4]
    line_height = int(font.size * 1.3) if hasattr(font, "size") else 14
    block = line_height * len(caption) + 30
    top = height - block - height // 20  # clear of the edge a 16:9 cover crop may cut
    if not transparent:
        shade = Image.new("RGBA", (width, block), (0, 0, 0, 140))
        image.alpha_composite(shade, (0, top))
    draw = ImageDraw.Draw(image)
    for line_number, line in enumerate(caption):
        position = (40, top + 15 + line_number * line_height)
        draw.text(position, line, font=font, fill=(255, 255, 255, 255))
    return image if transparent else image.convert("RGB")


def _wrap(text: str, font, max_width: int, draw) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if draw.textlength(candidate, font=font) <= max_width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def local_clip_filter(prompt: str, frames: int) -> str:
    """A slow zoom or pan (chosen from the motion words in the prompt) over a still image."""
    text = prompt.lower()
    # Upscale first: zoompan positions are whole pixels of its input, so a larger input
    # makes the motion smooth instead of jittery.
    upscale = f"scale={FRAME_WIDTH * 3 // 2}:{FRAME_HEIGHT * 3 // 2}:force_original_aspect_ratio=increase,crop={FRAME_WIDTH * 3 // 2}:{FRAME_HEIGHT * 3 // 2}"  # noqa: E501
    progress_expression = f"(on/{max(frames - 1, 1)})"
    if any(word in text for word in ("zoom out", "pull back", "dolly out", "reveal")):
        zoom = f"1.15-0.15*{progress_expression}"
        x, y = "iw/2-(iw/zoom/2)", "ih/2-(ih/zoom/2)"
    elif "pan left" in text or "left" in text.split():
        zoom = "1.12"
        x, y = f"(iw-iw/zoom)*(1-{progress_expression})", "ih/2-(ih/zoom/2)"
    elif "pan" in text or "right" in text.split() or "track" in text:
        zoom = "1.12"
        x, y = f"(iw-iw/zoom)*{progress_expression}", "ih/2-(ih/zoom/2)"
    else:
        zoom = f"1+0.15*{progress_expression}"
        x, y = "iw/2-(iw/zoom/2)", "ih/2-(ih/zoom/2)"
    return (
        f"{upscale},zoompan=z='{zoom}':x='{x}':y='{y}':d={frames}"
        f":s={FRAME_WIDTH}x{FRAME_HEIGHT}:fps={FRAME_RATE},setsar=1,format=yuv420p"
    )


def render_local_clip(image: Path, prompt: str, seconds: float, output: Path) -> int:
    frames = round(seconds * FRAME_RATE)
    run_ffmpeg(
        [
            "-i", str(image), "-vf", local_clip_filter(prompt, frames), "-frames:v", str(frames),
            *clip_encode_args(), "-an", "-movflags", "+faststart", str(output),
        ],
        what="local clip",
    )  # fmt: skip
    return frames


LOCAL_SPEECH_CHARACTERS_PER_SECOND = 14.5


def local_speech_seconds(text: str) -> float:
    return round(max(0.6, len(text) / LOCAL_SPEECH_CHARACTERS_PER_SECOND), 3)


def render_local_speech(text: str, output: Path) -> str:
    """Narration without a network: espeak-ng when installed, else a speech-like stand-in.

    The stand-in lasts len(text)/14.5 s (a typical narration pace), with a voiced buzz whose
    pitch drifts like intonation, chopped into syllables by an amplitude envelope whose rate
    and phase come from the text, so the same text always gives the same audio.
    """
    espeak = shutil.which("espeak-ng")
    if espeak:
        wav = output.with_name(output.stem + ".espeak.wav")
        completed = subprocess.run(
            [espeak, "-w", str(wav), "--", text], capture_output=True, text=True
        )
        if completed.returncode == 0 and wav.exists():
            try:
                run_ffmpeg(
                    ["-i", str(wav), "-ac", "1", "-ar", "44100", "-c:a", "libmp3lame",
                     "-b:a", "128k", str(output)],
                    what="local speech",
                )  # fmt: skip
            finally:
                wav.unlink(missing_ok=True)
            return "espeak-ng"
        wav.unlink(missing_ok=True)
    seconds = local_speech_seconds(text)
    seed = stable_seed("speech", text)
    pitch = 110 + seed % 60
    syllables = 3.6 + (seed >> 8) % 10 / 10
    phase = (seed >> 16) % 628 / 100
    voice = (
        f"(0.55*sin(2*PI*({pitch}+18*sin(2*PI*0.7*t))*t)"
        f"+0.25*sin(4*PI*({pitch}+18*sin(2*PI*0.7*t))*t)"
        f"+0.12*sin(6*PI*({pitch}+18*sin(2*PI*0.7*t))*t))"
        f"*pow(abs(sin(PI*{syllables}*t+{phase})),1.5)"
        f"*(0.6+0.4*sin(2*PI*0.23*t+{phase}))"
    )
    fade = min(0.15, seconds / 4)
    run_ffmpeg(
        [
            "-f", "lavfi", "-i", f"aevalsrc='{voice}':s=44100:d={seconds}",
            "-af", f"lowpass=f=3400,afade=t=in:d={fade},afade=t=out:st={seconds - fade}:d={fade}",
            "-ac", "1", "-c:a", "libmp3lame", "-b:a", "128k", str(output),
        ],
        what="local speech",
    )  # fmt: skip
    return "synthesized"


def local_sfx_filter(text: str, seconds: float) -> str:
    """Noise and tone sources picked from the description, seeded by it (deterministic)."""
    lowered = text.lower()
    seed = stable_seed("sfx", text)
    if any(word in lowered for word in ("rumble", "thunder", "earthquake", "engine", "explosion")):
        colour, shaping = "brown", "lowpass=f=300"
    elif any(word in lowered for word in ("rain", "water", "waterfall", "river", "static")):
        colour, shaping = "white", "highpass=f=800,lowpass=f=9000"
    else:  # wind, leaves, ambience
        colour, shaping = "pink", f"bandpass=f={400 + seed % 600}:width_type=o:w=2"
    sources = f"anoisesrc=d={seconds}:c={colour}:r=44100:a=0.5:seed={seed}"
    tones = ""
    if any(word in lowered for word in ("bird", "chirp", "birdsong", "beep", "chime", "bell")):
        frequency = 2200 + seed % 1200
        tones = (
            f";aevalsrc='0.25*sin(2*PI*{frequency}*t+300*sin(2*PI*6*t))"
            f"*gt(sin(2*PI*0.8*t+{seed % 7}),0.6)':s=44100:d={seconds}[tone];"
            "[noise][tone]amix=inputs=2:normalize=0"
        )
    fade = min(0.3, seconds / 4)
    graph = f"{sources},{shaping},volume=0.8"
    graph += "[noise]" + tones if tones else ""
    return (
        f"{graph},afade=t=in:d={fade},afade=t=out:st={seconds - fade:.3f}:d={fade},"
        f"atrim=0:{seconds},asetpts=N/SR/TB"
    )


# --------------------------------------------------------------------------- audio formats

_AUDIO_FORMAT = re.compile(r"^(mp3|pcm|opus|ulaw|alaw)_(\d{4,6})(?:_(\d{1,3}))?$")


@dataclass
class AudioFormat:
    name: str
    family: str
    sample_rate: int
    bitrate_kbps: int | None

    def decode_arguments(self) -> list[str]:
        raw = {"pcm": "s16le", "ulaw": "mulaw", "alaw": "alaw"}.get(self.family)
        if raw:
            return ["-f", raw, "-ar", str(self.sample_rate), "-ac", "1"]
        return []

    def encode_arguments(self) -> list[str]:
        rate = ["-ar", str(self.sample_rate)]
        bitrate = ["-b:a", f"{self.bitrate_kbps}k"] if self.bitrate_kbps else []
        return {
            "mp3": ["-c:a", "libmp3lame", *rate, *bitrate, "-f", "mp3"],
            "opus": ["-c:a", "libopus", "-ar", "48000", *bitrate, "-f", "ogg"],
            "pcm": ["-c:a", "pcm_s16le", *rate, "-ac", "1", "-f", "s16le"],
            "ulaw": ["-c:a", "pcm_mulaw", *rate, "-ac", "1", "-f", "mulaw"],
            "alaw": ["-c:a", "pcm_alaw", *rate, "-ac", "1", "-f", "alaw"],
        }[self.family]


def parse_audio_format(value: str) -> AudioFormat:
    match = _AUDIO_FORMAT.match(value or "")
    if not match:
        raise input_error(
            f"--format {value!r} is not an ElevenLabs output format "
            "(codec_samplerate[_bitrate], e.g. mp3_44100_128, pcm_44100, opus_48000_64)"
        )
    family, rate, bitrate = match.groups()
    return AudioFormat(value, family, int(rate), int(bitrate) if bitrate else None)

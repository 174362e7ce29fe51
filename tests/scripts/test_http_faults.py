"""http_request (scripts/_common.py) against servers that misbehave mid-answer: a body cut off,
a body trickled a byte at a time, a garbled status line, a 429 that says how long to wait.

Each fault is temporary (exit 75, a JSON error line, no traceback), never a bug report (70)."""

import json
import socket
import threading
import time

import _common
import pytest
from _common import ScriptError

from tests.fakes.base import FakeServer, Reply
from tests.fakes.gemini import FakeGemini

from .conftest import FAKE_KEYS

KEY = FAKE_KEYS["GEMINI_API_KEY"]
BODY = json.dumps({"answer": "x" * 4000}).encode()


@pytest.fixture
def server():
    with FakeServer() as fake:
        yield fake


def test_a_body_cut_off_mid_answer_is_a_temporary_network_error(server):
    server.queue(Reply(200, BODY, {"Content-Type": "application/json"}, cut_after=1000))
    with pytest.raises(ScriptError) as raised:
        _common.http_request("GET", server.url + "/x", service="Fake", timeout=3)
    assert raised.value.exit_code == 75
    assert f"closed in the middle of the answer ({len(BODY) - 1000} bytes missing)" in (
        raised.value.message
    )


def test_an_error_body_cut_off_is_temporary_too(server):
    server.queue(Reply(503, BODY, {"Content-Type": "application/json"}, cut_after=10))
    with pytest.raises(ScriptError) as raised:
        _common.http_request("GET", server.url + "/x", service="Fake", timeout=3)
    assert raised.value.exit_code == 75


def test_a_streamed_download_cut_off_is_temporary(server, tmp_path):
    server.queue(Reply(200, BODY, {"Content-Type": "video/mp4"}, cut_after=100))
    with open(tmp_path / "clip.mp4", "wb") as sink, pytest.raises(ScriptError) as raised:
        _common.http_request("GET", server.url + "/x", service="Fake", sink=sink, timeout=3)
    assert raised.value.exit_code == 75
    assert f"({len(BODY) - 100} bytes missing)" in raised.value.message


def _garbling_server(answer: bytes):
    """A socket server that reads a request and answers ``answer`` verbatim, then hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            connection.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}/x"


@pytest.mark.parametrize(
    "answer",
    [
        b"",  # closed before any status line: RemoteDisconnected
        b"HTTP/1.1 2OO OK\r\n\r\n",  # a status line that is not one: BadStatusLine
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # a bad chunk size
    ],
)
def test_a_garbled_answer_is_a_temporary_network_error(answer):
    listener, url = _garbling_server(answer)
    with listener, pytest.raises(ScriptError) as raised:
        _common.http_request("GET", url, service="Fake", timeout=3)
    assert raised.value.exit_code == 75
    assert raised.value.message.startswith("Fake (http://127.0.0.1:")


def test_a_url_that_is_not_http_is_a_configuration_error():
    with pytest.raises(ScriptError) as raised:
        _common.http_request("GET", "ftp://example.invalid/x", service="Fake")
    assert raised.value.exit_code == 78


def test_a_trickled_body_ends_at_the_overall_deadline_not_at_the_per_read_timeout(server):
    # a byte every 0.2 s: no read ever waits 3 s, and the whole body would take 40 s
    server.queue(Reply(200, b"y" * 200, chunk_size=1, chunk_delay=0.2))
    started = time.monotonic()
    with pytest.raises(ScriptError) as raised:
        _common.http_request("GET", server.url + "/x", service="Fake", timeout=3, deadline=1.5)
    took = time.monotonic() - started
    assert raised.value.exit_code == 75
    assert "no complete answer within 1.5 s" in raised.value.message
    assert 1.4 < took < 3.0


def test_the_deadline_is_a_setting_and_a_bad_value_names_it(monkeypatch):
    monkeypatch.setenv("VIDEOGEN_HTTP_DEADLINE", "45")
    assert _common.http_deadline() == 45
    monkeypatch.setenv("VIDEOGEN_HTTP_DEADLINE", "-1")
    with pytest.raises(ScriptError) as raised:
        _common.http_deadline()
    assert raised.value.exit_code == 78
    assert "VIDEOGEN_HTTP_DEADLINE" in raised.value.message


# --- the wait a service asks for -----------------------------------------------------------------


def _response(status, body=None, headers=None):
    from email.message import Message

    message = Message()
    for name, value in (headers or {}).items():
        message[name] = value
    return _common.Response(status, message, json.dumps(body).encode() if body else b"")


def _gemini_429(delay):
    reply = FakeGemini.error(429, "You exceeded your current quota.")
    document = json.loads(reply.body)
    document["error"]["details"].append(
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}
    )
    return document


@pytest.mark.parametrize(
    "response, seconds",
    [
        (_response(429, _gemini_429("53s")), 53.0),
        (_response(429, _gemini_429("45.837906927s")), 45.837906927),
        (_response(429, headers={"Retry-After": "120"}), 120.0),
        (_response(503, headers={"Retry-After": "Fri, 01 Jan 2100 00:00:00 GMT"}), 86400.0),
        (_response(429, headers={"Retry-After": "soon"}), None),
        (_response(429, _gemini_429("a minute")), None),
        (_response(429, {"error": {"code": 429}}), None),
    ],
)
def test_the_wait_asked_for_is_read_from_retry_info_or_retry_after(response, seconds):
    assert _common.retry_after_seconds(response) == (
        pytest.approx(seconds) if seconds is not None else None
    )


# --- as a script run: the exit code and the error line ------------------------------------------


@pytest.fixture
def gemini():
    with FakeGemini(api_key=KEY) as fake:
        yield fake


def _draft(run_script, tmp_path, gemini, **env):
    output = tmp_path / "storyboard.yaml"
    return run_script(
        "generate_storyboard.py", "--topic", "axolotls", "--output", output, "--scenes", "4",
        env={"GEMINI_API_KEY": KEY, "GEMINI_API_BASE": gemini.url, **env},
    ), output  # fmt: skip


def test_a_script_whose_answer_is_cut_off_exits_75_without_a_traceback(
    run_script, tmp_path, gemini
):
    gemini.answer_text(Reply(200, BODY, {"Content-Type": "application/json"}, cut_after=500))
    run, output = _draft(run_script, tmp_path, gemini)
    assert run.returncode == 75, run
    assert run.result["retriable"] is True
    assert "closed in the middle of the answer" in run.error
    assert "Traceback" not in run.stderr
    assert not output.exists()


def test_a_script_whose_answer_trickles_exits_75_at_the_deadline(run_script, tmp_path, gemini):
    gemini.answer_text(Reply(200, BODY, chunk_size=1, chunk_delay=0.2))
    started = time.monotonic()
    run, _ = _draft(run_script, tmp_path, gemini, VIDEOGEN_HTTP_DEADLINE="2")
    assert run.returncode == 75, run
    assert "no complete answer within 2 s" in run.error
    assert time.monotonic() - started < 15


def test_a_429_with_retry_info_puts_the_asked_wait_in_the_error_line(run_script, tmp_path, gemini):
    gemini.queue(Reply.json_body(429, _gemini_429("53s")))
    run, _ = _draft(run_script, tmp_path, gemini)
    assert run.returncode == 75, run
    assert run.result["retry_after"] == 53
    assert "asked to wait 53 s" in run.error


def test_a_permanent_error_carries_no_wait(run_script, tmp_path, gemini):
    gemini.queue(Reply.json_body(400, _gemini_429("53s") | {}, headers={"Retry-After": "9"}))
    run, _ = _draft(run_script, tmp_path, gemini)
    assert run.returncode == 65, run
    assert "retry_after" not in run.result

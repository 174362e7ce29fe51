"""The script runner: exit-code classification, the JSON line, old scripts without it, secrets in
the environment only, and no process left behind."""

import json
import textwrap
import time

import pytest

from pipeline.runner import Outcome, ScriptCancelled, run_script
from tests.pipeline.conftest import process_alive


@pytest.fixture
def script(tmp_path):
    def make(body):
        path = tmp_path / "script.py"
        path.write_text("import json, os, sys, time, subprocess\n" + textwrap.dedent(body))
        return path

    return make


def run(path, *args, **kwargs):
    return run_script("generate_asset", list(args), script=path, **kwargs)


def test_it_reads_the_json_result_line_of_a_successful_script(script):
    path = script("""
        print("progress: working")
        print(json.dumps({"ok": True, "outputs": ["a.png"], "provider": "gemini",
                          "usage": {"images": 1}}))
    """)

    result = run(path)

    assert result.ok and result.json_line
    assert result.outputs == ["a.png"]
    assert result.usage == {"images": 1}
    assert result.provider == "gemini"


def test_it_marks_a_result_made_from_a_kept_paid_output_as_reused(script):
    path = script("""
        print(json.dumps({"ok": True, "outputs": ["s.mp3"], "provider": "elevenlabs",
                          "usage": {"sfx": 0, "sfx_seconds": 0}, "reused_raw": True}))
    """)

    result = run(path)

    # The books then record outcome "reused" at $0 (costs.services.video_cost_record).
    assert result.ok
    assert result.usage == {"sfx": 0, "sfx_seconds": 0, "reused": True}


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (75, Outcome.TEMPORARY),
        (65, Outcome.PERMANENT),
        (77, Outcome.AUTH),
        (78, Outcome.CONFIG),
        (2, Outcome.USAGE),
        (1, Outcome.UNKNOWN),
    ],
)
def test_it_classifies_each_exit_code(script, code, outcome):
    path = script(f"""
        print(json.dumps({{"ok": False, "error": "HTTP 4xx: bad prompt", "retriable": False,
                           "status": 400}}), file=sys.stderr)
        sys.exit({code})
    """)

    result = run(path)

    assert result.exit_code == code
    assert result.outcome is outcome
    assert result.error == "HTTP 4xx: bad prompt"
    assert result.http_status == 400
    assert result.retriable is (outcome in {Outcome.TEMPORARY, Outcome.UNKNOWN})


def test_it_accepts_an_old_script_that_prints_no_json_line(script):
    path = script("""
        print("Saved image to out.png")
    """)

    result = run(path)

    assert result.ok
    assert result.json_line is False
    assert result.usage == {}


def test_it_reports_the_last_output_lines_of_an_old_script_that_fails(script):
    path = script("""
        print("Traceback ...", file=sys.stderr)
        print("RuntimeError: quota gone", file=sys.stderr)
        sys.exit(1)
    """)

    result = run(path)

    assert result.outcome is Outcome.UNKNOWN
    assert result.error == "stderr: Traceback ... | RuntimeError: quota gone"


def test_it_passes_secrets_through_the_environment_and_withholds_our_own(script, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://secret-db")
    monkeypatch.setenv("FIELD_ENCRYPTION_KEY", "our-key")
    path = script("""
        print(json.dumps({"ok": True, "outputs": [], "usage": {
            "key": os.environ.get("GEMINI_API_KEY"),
            "db": os.environ.get("DATABASE_URL"),
            "fek": os.environ.get("FIELD_ENCRYPTION_KEY"),
            "cid": os.environ.get("VIDEOGEN_CORRELATION_ID"),
            "argv": sys.argv[1:]}}))
    """)

    result = run(path, "--prompt", "x", env={"GEMINI_API_KEY": "sk-test-123"}, correlation_id="c-1")

    assert result.usage["key"] == "sk-test-123"
    assert result.usage["db"] is None and result.usage["fek"] is None
    assert result.usage["cid"] == "c-1"
    assert "sk-test-123" not in json.dumps(result.usage["argv"])


def test_it_kills_the_whole_process_group_on_timeout(script, tmp_path):
    pid_file = tmp_path / "child.pid"
    path = script(f"""
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(60)
    """)

    started = time.monotonic()
    result = run(path, timeout=1)

    assert time.monotonic() - started < 15
    assert result.outcome is Outcome.TEMPORARY
    assert "no answer within 1 s" in result.error
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while process_alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not process_alive(child)


def test_it_stops_the_script_when_the_heartbeat_says_the_lease_is_lost(script):
    path = script("""
        time.sleep(60)
    """)

    with pytest.raises(ScriptCancelled):
        run(path, heartbeat=lambda: False, heartbeat_every=0.2, timeout=30)

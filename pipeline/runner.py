"""Running one pipeline script: the only place that starts a subprocess.

A script runs in its own process group (so a timeout, a lost lease or a cancelled task kills it
and everything it started), gets its secrets and the correlation id through the environment only
(argv is visible to every user of the machine), and is classified by its exit code per the script
contract (EXIT_OUTCOMES below; scripts/_common.py is the scripts' side). Scripts that print no
JSON result line (an operator's old copy) are judged by their output file, and their usage is
estimated from the inputs by the caller.

The operator's own scripts (VIDEOGEN_SCRIPTS_DIR) know only their original command lines, and
argparse refuses any other flag. So a unit's call is its base flags (those command lines) plus
our extensions (--provider, --aspect-ratio, --duration, --model ...), and an extension is passed
only to a script that declares it: asked once per script file (path and modification time) with
`--videogen-contract`, a script of ours prints one JSON line {"videogen_contract": 1, "flags":
[...]} and exits 0; an operator's script exits 2 (argparse: unknown flag) and gets the base flags
only. The provider also travels in the environment (VIDEOGEN_PROVIDER).
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import structlog
from django.conf import settings

from pipeline.processes import (
    ExitWaiter,
    die_with_parent,
    kill_group,
    write_pidfile,
)

log = structlog.get_logger(__name__)

# Variables a script never needs and must never see (our own database and keys).
WITHHELD_ENV = {
    "DATABASE_URL",
    "DJANGO_SECRET_KEY",
    "DJANGO_SECRET_KEY_FALLBACKS",
    "FIELD_ENCRYPTION_KEY",
    "DISCORD_WEBHOOK_URL",
    "NOTION_TOKEN",
}
CONTRACT_FLAG = "--videogen-contract"
CONTRACT_TIMEOUT_SECONDS = 30
# Scripts the operator never had (their split screen had no command line of its own): when
# VIDEOGEN_SCRIPTS_DIR points at the operator's folder, ours stands in. The writer is new too.
BUNDLED_STAND_INS = {"create_split_screen", "generate_storyboard"}
# Lines of a failed script's own output quoted in its error when it printed no JSON error line.
ERROR_TAIL_LINES = 5
ERROR_TAIL_CHARS = 1500
# Environment variables whose values are never quoted from a script's output.
_SECRET_NAME_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")
_MIN_SECRET_LENGTH = 6


class Outcome(StrEnum):
    OK = "ok"
    TEMPORARY = "temporary"  # 75: retry with backoff
    PERMANENT = "permanent"  # 65: input or permanent rejection, stop at once
    AUTH = "auth"  # 77: auth or credit, stop at once
    CONFIG = "config"  # 78: configuration, stop at once
    USAGE = "usage"  # 2: we called it wrong, stop at once
    UNKNOWN = "unknown"  # any other code (old scripts know only 0/1): bounded retries


EXIT_OUTCOMES = {
    0: Outcome.OK,
    75: Outcome.TEMPORARY,
    65: Outcome.PERMANENT,
    77: Outcome.AUTH,
    78: Outcome.CONFIG,
    2: Outcome.USAGE,
}
RETRIABLE = {Outcome.TEMPORARY, Outcome.UNKNOWN}


@dataclass
class ScriptResult:
    script: str
    exit_code: int
    outcome: Outcome
    outputs: list = field(default_factory=list)
    usage: dict = field(default_factory=dict)
    provider: str = ""
    error: str = ""
    http_status: int | None = None
    json_line: bool = False
    stderr_tail: str = ""
    seconds: float = 0.0
    retry_after: float | None = None  # seconds the service asked us to wait (a 75's error line)

    @property
    def ok(self):
        return self.outcome is Outcome.OK

    @property
    def retriable(self):
        return self.outcome in RETRIABLE


class ScriptCancelled(Exception):
    """The run was stopped from outside (lease lost, task cancelled)."""


def script_path(name):
    path = Path(settings.SCRIPTS_DIR) / f"{name}.py"
    if name in BUNDLED_STAND_INS and not path.exists():
        return Path(settings.BASE_DIR) / "scripts" / f"{name}.py"
    return path


@dataclass(frozen=True)
class ScriptContract:
    flags: frozenset  # the flags it accepts, ours included
    declared: bool  # False: an operator's script, which gets its base flags only


OPERATOR_CONTRACT = ScriptContract(frozenset(), declared=False)
_contracts = {}
_contracts_lock = threading.Lock()


def script_contract(path, *, python=None):
    """What a script accepts, asked once per file version (path and modification time) and kept
    for the life of the process."""
    path = Path(path)
    try:
        key = (str(path.resolve()), path.stat().st_mtime_ns)
    except OSError:
        return OPERATOR_CONTRACT  # the run itself reports the missing script
    with _contracts_lock:
        known = _contracts.get(key)
    if known is None:
        known = _contract_ask(path, python)
        with _contracts_lock:
            _contracts[key] = known
    return known


def _contract_ask(path, python):
    process = subprocess.Popen(  # noqa: S603 - fixed interpreter and script, no shell
        [python or sys.executable, str(path), CONTRACT_FLAG],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_child_env({}, ""),
        cwd=str(settings.BASE_DIR),
        start_new_session=True,
        preexec_fn=die_with_parent,  # noqa: PLW1509 - only an async-signal-safe prctl call
    )
    try:
        stdout, _ = process.communicate(timeout=CONTRACT_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        kill_group(process)
        process.communicate()
        log.warning("script_contract_timeout", script=str(path))
        return OPERATOR_CONTRACT
    payload = _last_json_line(stdout.decode("utf-8", "replace"))
    flags = payload.get("flags") if payload and payload.get("videogen_contract") else None
    if process.returncode == 0 and isinstance(flags, list):
        contract = ScriptContract(frozenset(str(flag) for flag in flags), declared=True)
        log.info("script_contract", script=str(path), flags=sorted(contract.flags))
        return contract
    # argparse's exit 2 (unknown flag) is the expected answer of an operator's script
    level = log.info if process.returncode == 2 else log.warning
    level("script_contract_none", script=str(path), exit_code=process.returncode)
    return OPERATOR_CONTRACT


def script_command_line(name, args, extensions, *, script=None, python=None):
    """argv for one call: the base flags, then each extension the script declares. `args` is
    flag, value, flag, value...; see flag_arguments."""
    path = Path(script or script_path(name))
    pairs = list(zip(args[::2], args[1::2], strict=True))
    if extensions:
        accepted = script_contract(path, python=python).flags
        pairs += [
            (flag, value)
            for flag, value in extensions.items()
            if flag in accepted and value is not None
        ]
    return [python or sys.executable, str(path), *flag_arguments(pairs)]


def flag_arguments(pairs):
    """(flag, value) pairs as argv. A value that starts with '-' (a narration "-30", a prompt
    "--output=x") is joined to its flag, --text=-30: a script's parser would read it as a flag
    of its own otherwise."""
    argv = []
    for flag, value in pairs:
        value = str(value)
        argv += [f"{flag}={value}"] if value.startswith("-") else [str(flag), value]
    return argv


def _child_env(extra_env, correlation_id):
    env = {k: v for k, v in os.environ.items() if k not in WITHHELD_ENV}
    env.update({k: str(v) for k, v in (extra_env or {}).items() if v is not None})
    env["VIDEOGEN_CORRELATION_ID"] = str(correlation_id or "")
    env["PYTHONUNBUFFERED"] = "1"
    # The scripts share plain-Python code with the apps through the core package (core.text,
    # core.ffmpeg): the repository root goes first on the child's path, whatever else it carries.
    inherited = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(settings.BASE_DIR), inherited]))
    return env


def _last_json_line(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{") and line.endswith("}"):
            try:
                value = json.loads(line)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
        if line:
            return None
    return None


def _tail(text, limit=2000):
    return text[-limit:] if len(text) > limit else text


def _secret_values(env):
    return sorted(
        (
            value
            for name, value in env.items()
            if any(marker in name.upper() for marker in _SECRET_NAME_MARKERS)
            and len(value) >= _MIN_SECRET_LENGTH
        ),
        key=len,
        reverse=True,
    )


def _redact(text, secrets):
    for value in secrets:
        text = text.replace(value, "[redacted]")
    return text


def _last_lines(text, count=ERROR_TAIL_LINES):
    return [line.strip() for line in text.strip().splitlines() if line.strip()][-count:]


def _output_tail(stdout, stderr):
    """The last lines a script printed, for an error message: what an operator's script that
    knows only exit 1 says about its failure."""
    parts = []
    for stream, text in (("stderr", stderr), ("stdout", stdout)):
        lines = _last_lines(text)
        if lines:
            parts.append(f"{stream}: " + " | ".join(lines))
    tail = "; ".join(parts)
    return tail if len(tail) <= ERROR_TAIL_CHARS else "..." + tail[-ERROR_TAIL_CHARS:]


def run_script(
    name,
    args,
    *,
    extensions=None,
    env=None,
    timeout=None,
    correlation_id="",
    heartbeat=None,
    heartbeat_every=20.0,
    python=None,
    script=None,
    pidfile=None,
):
    """Run scripts/<name>.py with args; return a ScriptResult (never raises for a script failure).

    args: the base flags every version of the script accepts; extensions: {flag: value} passed
    only when the script declares the flag (see script_contract).

    heartbeat: called every heartbeat_every seconds while the script runs; returning False stops
    the script (ScriptCancelled). timeout: seconds before the process group is killed (default:
    settings.SCRIPT_TIMEOUTS[name]); a timeout is a temporary failure. pidfile: where the
    script's process group is written while it runs (see stop_stale_run).
    """
    timeout = timeout or settings.SCRIPT_TIMEOUTS[name]
    command = script_command_line(name, args, extensions, script=script, python=python)
    child_env = _child_env(env, correlation_id)
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(  # noqa: S603 - fixed interpreter and script, no shell
            command,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env=child_env,
            cwd=str(settings.BASE_DIR),
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - only an async-signal-safe prctl call
        )
        write_pidfile(pidfile, process.pid)
        log.info("script_started", script=name, pid=process.pid)
        timed_out = False
        exited = ExitWaiter(process)
        try:
            next_beat = started + heartbeat_every
            while True:
                if exited(0.2):
                    break
                now = time.monotonic()
                if now - started > timeout:
                    timed_out = True
                    kill_group(process)
                    break
                if heartbeat and now >= next_beat:
                    next_beat = now + heartbeat_every
                    if heartbeat() is False:
                        kill_group(process)
                        raise ScriptCancelled(f"{name}: stopped, its lease was lost or cancelled")
        except BaseException:
            # Soft time limits, worker shutdown, cancellation: never leave the script running.
            kill_group(process)
            raise
        finally:
            exited.close()
        # A script may have left children in its group (FFmpeg); they go with it.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if pidfile:
            Path(pidfile).unlink(missing_ok=True)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    seconds = time.monotonic() - started
    result = _classify(name, process.returncode, stdout, stderr, seconds, timed_out, timeout)
    # What a script printed may quote the keys it was given; its messages are kept and shown.
    secrets = _secret_values(child_env)
    result.error = _redact(result.error, secrets)
    result.stderr_tail = _redact(result.stderr_tail, secrets)
    return result


def _classify(name, code, stdout, stderr, seconds, timed_out, timeout):
    if timed_out:
        return ScriptResult(
            script=name,
            exit_code=code if code is not None else -9,
            outcome=Outcome.TEMPORARY,
            error=f"{name}: no answer within {timeout} s; the script was stopped",
            stderr_tail=_tail(stderr),
            seconds=seconds,
        )
    outcome = EXIT_OUTCOMES.get(code, Outcome.UNKNOWN)
    result = ScriptResult(
        script=name, exit_code=code, outcome=outcome, stderr_tail=_tail(stderr), seconds=seconds
    )
    if outcome is Outcome.OK:
        payload = _last_json_line(stdout)
        if payload and payload.get("ok") is True:
            result.json_line = True
            result.outputs = list(payload.get("outputs") or [])
            result.usage = dict(payload.get("usage") or {})
            if payload.get("reused_raw") is True:  # a paid output kept by an earlier attempt
                result.usage["reused"] = True
            result.provider = str(payload.get("provider") or "")
        return result
    payload = _last_json_line(stderr)
    if payload and payload.get("ok") is False:
        result.json_line = True
        result.error = str(payload.get("error") or "")
        result.http_status = payload.get("status")
        result.retry_after = _seconds_or_none(payload.get("retry_after"))
    else:
        how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        result.error = (
            _output_tail(stdout, stderr) or f"{name} failed with {how} and printed nothing"
        )
    return result


def _seconds_or_none(value):
    """A non-negative number of seconds from a script's error line, or None (an operator's
    script may print anything there)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value < float("inf") else None

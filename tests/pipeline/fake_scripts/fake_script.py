"""A stand-in for every pipeline script in integration tests: follows the script contract (JSON
line, exit codes, atomic output), records each run in $FAKE_CALLS_FILE, sleeps $FAKE_LATENCY, and
fails on demand: $FAKE_PLAN_<SCRIPT> is a comma list of exit codes for successive runs of one
output (e.g. "75,75,0"); the last code repeats. $FAKE_MARK_RUNS makes every run's MP4 unique.
$FAKE_KEEP_RAW_<SCRIPT> makes it keep its paid answer as the real scripts do (scripts/_common.py):
"paid" for it, keep `<stem>.raw<suffix>` and its `.json` record beside the output, then work on
it for the latency; a run that finds them reuses them ("reused", no payment)."""

import json
import os
import shutil
import sys
import time
from pathlib import Path

name = Path(sys.argv[0]).stem
args = sys.argv[1:]
if args == ["--videogen-contract"]:  # like our own scripts: every extension is welcome
    flags = ["--provider", "--aspect-ratio", "--duration", "--model", "--scale", "--speed",
             "--negative-prompt", "--cfg-scale"]  # fmt: skip
    print(json.dumps({"videogen_contract": 1, "flags": flags}))
    sys.exit(0)
output = Path(args[args.index("--output") + 1])
calls_file = Path(os.environ["FAKE_CALLS_FILE"])


def record(event, **extra):
    line = json.dumps(
        {
            "event": event,
            "script": name,
            "output": str(output),
            "t": time.time(),
            "pid": os.getpid(),
            "ppid": os.getppid(),
            **extra,
        }
    )
    with open(calls_file, "a") as handle:
        handle.write(line + "\n")


def runs_so_far():
    if not calls_file.exists():
        return 0
    count = 0
    for line in calls_file.read_text().splitlines():
        entry = json.loads(line)
        if entry["event"] == "start" and entry["output"] == str(output):
            count += 1
    return count


def process_age():
    """Seconds since this process was started: a latency L means the whole run, interpreter
    start-up included, lasts L (as an API call's latency would), not L plus our own start-up."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))


attempt = runs_so_far()
upper = name.upper()
if os.environ.get(f"FAKE_IGNORE_TERM_{upper}"):
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = None
if os.environ.get(f"FAKE_SPAWN_CHILD_{upper}"):
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
record("start", child=child.pid if child else None, exec_t=time.time() - process_age(), args=args)
if os.environ.get(f"FAKE_KILL_PARENT_{upper}"):
    import signal

    time.sleep(0.5)
    os.kill(os.getppid(), signal.SIGKILL)  # the worker process running us dies (OOM-like)
plan = [int(code) for code in os.environ.get(f"FAKE_PLAN_{name.upper()}", "0").split(",")]
code = plan[min(attempt, len(plan) - 1)]
latency = float(os.environ.get(f"FAKE_LATENCY_{upper}", os.environ.get("FAKE_LATENCY", "0")))
raw = output.with_name(f"{output.stem}.raw{output.suffix}")
raw_record = raw.with_name(raw.name + ".json")
keep_raw = bool(os.environ.get(f"FAKE_KEEP_RAW_{upper}")) and code == 0
reused = keep_raw and raw.exists() and raw_record.exists()
if reused:
    record("reused")
elif keep_raw:  # as scripts/_common.keep_raw: the record first, then the paid file renamed in
    record("paid")
    output.parent.mkdir(parents=True, exist_ok=True)
    raw_record.write_text(json.dumps({"request": args}))
    kept = raw.with_name(f".{raw.name}.tmp-{os.getpid()}")
    shutil.copyfile(Path(os.environ["FAKE_MEDIA_DIR"]) / f"template{output.suffix}", kept)
    os.replace(kept, raw)
if not reused:
    time.sleep(max(0.0, latency - process_age()))
USAGE = {
    "generate_asset": {"images": 1},
    "generate_video": {"clip_seconds": 5, "model": "kling/v2-1-standard"},
    "generate_audio": {"characters": 40},
    "generate_sound_effects": {"sfx": 1, "sfx_seconds": 5},
}
if code != 0:
    record(f"exit{code}")
    failure = {
        "ok": False,
        "error": f"fake {name} failed with {code}",
        "retriable": code in (70, 75),
        "status": 503 if code == 75 else None if code == 70 else 400,
    }
    if code == 70:  # a local step failed after the provider was paid: the paid usage is reported
        failure.update(usage=USAGE.get(name, {}), paid=True)
    print(json.dumps(failure), file=sys.stderr)
    sys.exit(code)
template = Path(os.environ["FAKE_MEDIA_DIR"]) / f"template{output.suffix}"
output.parent.mkdir(parents=True, exist_ok=True)
temporary = output.with_name(f".{output.name}.tmp-{os.getpid()}")
shutil.copyfile(template, temporary)
if os.environ.get("FAKE_MARK_RUNS") and output.suffix == ".mp4":
    # Each run's file differs (as a real remake would): an MP4 'free' box, which players skip.
    marker = json.dumps({"pid": os.getpid(), "t": time.time()}).encode()
    with open(temporary, "ab") as handle:
        handle.write((8 + len(marker)).to_bytes(4, "big") + b"free" + marker)
if keep_raw:  # the paid answer becomes the output; its record goes (as discard_raw does)
    os.replace(raw, temporary)
    raw_record.unlink()
os.replace(temporary, output)
record("done")
usage = USAGE
provider = args[args.index("--provider") + 1] if "--provider" in args else "fake"
result = {"ok": True, "outputs": [str(output)], "provider": provider, "usage": usage.get(name, {})}
if reused:
    result["reused_raw"] = True
print(json.dumps(result))

#!/usr/bin/env python3
"""Turn a still image into a 5 or 10 second video clip.

    generate_video.py --image PNG [--environment PNG] --prompt TEXT --output MP4
                      [--duration 5|10] [--model kling/v2-1-standard] [--image-url URL]
                      [--task-id ID] [--timeout-minutes 15] [--negative-prompt TEXT]
                      [--cfg-scale 0.5] [--provider kie|local]

kie:   Kling through KIE.ai (KIE_API_KEY; KIE_API_BASE). The image is made public by a catbox
       upload (CATBOX_API_URL) unless --image-url is given; then createTask, poll recordInfo with
       backoff (KIE_POLL_INTERVAL initial seconds, default 5) until success, fail or the
       deadline, download resultUrls[0] and check with PyAV that it really is a video.
       --task-id resumes polling a task created earlier (nothing is paid twice); without it, a task
       this --output created for the same request and whose clip was not downloaded yet
       (<output stem>.kie-task.json) is resumed the same way.
local: an FFmpeg clip of the image with a slow zoom or pan, 1920x1080 H.264, exact duration.
The paid clip is kept as <output stem>.raw.mp4 with its request record, and --output is that
clip brought to the project's format (scripts/_clip_format.py: 1080p30, our encoder settings, a
short GOP; one re-encode, none when it already is in the format) while the other clips are still
being made; a re-run for the same image and request starts from the raw clip without a new task
(usage 0, "reused_raw": true). A
failure after the task succeeded (download refused, not a video, a local error) carries
{"usage": ..., "paid": true} in its error line; a local one exits 70.
--environment is accepted for compatibility with operators' scripts and checked to exist; Kling
image-to-video takes one start image, so it is not sent.
Usage reported: {"clip_seconds": 5|10, "model": ...}. Exit codes: see _common.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
import urllib.parse
from pathlib import Path

from _clip_format import normalize_clip
from _common import (
    EX_CONFIG,
    EX_DATAERR,
    EX_TEMPFAIL,
    Multipart,
    ScriptError,
    add_provider_argument,
    after_payment,
    atomic_output,
    emit_result,
    env_url,
    exit_code_for_status,
    http_request,
    keep_raw,
    open_image,
    paid_fields,
    probe_media,
    progress,
    raise_for_status,
    raw_path_for,
    render_local_clip,
    request_fingerprint,
    require_file,
    require_range,
    require_text,
    resolve_provider,
    reusable_raw,
    secret,
    work_directory,
    write_bytes_atomically,
)

DEFAULT_MODEL = "kling/v2-1-standard"
DEFAULT_KIE_BASE = "https://api.kie.ai"
DEFAULT_CATBOX_URL = "https://catbox.moe/user/api.php"
WAITING_STATES = {"waiting", "queuing", "generating"}
MAX_POLL_INTERVAL = 30.0


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", required=True, type=Path)
    parser.add_argument("--environment", type=Path, default=None)
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--duration", type=int, choices=[5, 10], default=5)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--image-url", default=None, help="public URL of --image: skip upload")
    parser.add_argument("--task-id", default=None, help="resume polling an existing KIE task")
    parser.add_argument("--timeout-minutes", type=float, default=15.0)
    parser.add_argument("--negative-prompt", default=None)
    parser.add_argument("--cfg-scale", type=float, default=None, help="0-1")
    add_provider_argument(parser, real="kie")
    return parser.parse_args(argv)


def main() -> None:
    args = parse_arguments()
    provider = resolve_provider(args, real="kie")
    prompt = require_text(args.prompt, "--prompt")
    require_range(args.cfg_scale, "--cfg-scale", 0.0, 1.0)
    require_range(args.timeout_minutes, "--timeout-minutes", 0.001, 24 * 60)
    open_image(args.image, "--image")
    if args.environment is not None:
        require_file(args.environment, "--environment")

    if provider == "local":
        with atomic_output(args.output) as temporary:
            render_local_clip(args.image, prompt, float(args.duration), temporary)
        emit_result([args.output], "local", {"clip_seconds": args.duration, "model": "local"})
        return

    api_key = secret("KIE_API_KEY", purpose="KIE.ai video generation")
    base = env_url("KIE_API_BASE", DEFAULT_KIE_BASE)
    request = {
        "image_sha256": hashlib.sha256(args.image.read_bytes()).hexdigest(),
        "prompt": prompt, "duration": args.duration, "model": args.model,
        "negative_prompt": args.negative_prompt, "cfg_scale": args.cfg_scale,
    }  # fmt: skip
    usage = {"clip_seconds": args.duration, "model": args.model}
    record = reusable_raw(args.output, request, verify_clip)
    if record is not None:
        task_id = record["usage"].get("task_id")
        with after_payment(usage, paid=False, raw=raw_path_for(args.output)):
            land(raw_path_for(args.output), args.output)
        emit_result([args.output], "kie", {"clip_seconds": 0, "model": args.model},
                    task_id=task_id, reused_raw=True)  # fmt: skip
        return

    task_id = args.task_id or pending_task(args.output, request)
    if not task_id:
        image_url = args.image_url or upload_to_catbox(args.image)
        task_id = create_task(base, api_key, args, prompt, image_url)
        remember_task(args.output, request, task_id)
    progress(f"kie: task {task_id}, polling")
    try:
        result_url = wait_for_result(base, api_key, task_id, args.timeout_minutes * 60)
    except ScriptError as error:
        if not error.retriable:  # the task failed: a retry must create a new one
            forget_task(args.output)
        raise

    def download(destination: Path) -> dict:
        download_video(result_url, destination, task_id, usage)
        return {**usage, "task_id": task_id}

    try:
        raw, _ = keep_raw(args.output, request, download)
    except ScriptError as error:
        if not error.retriable:  # e.g. an expired result URL: resuming would only repeat it
            forget_task(args.output)
        raise
    forget_task(args.output)  # the clip is kept: a retry starts from it
    with after_payment(usage, paid=True, raw=raw):
        land(raw, args.output)
    emit_result([args.output], "kie", usage, task_id=task_id)


def land(raw: Path, output: Path) -> None:
    """The paid clip, brought to the project's format as --output (the assembly then copies
    it instead of re-encoding it after the last narration). The downloaded original stays as
    the raw output with its request record: a run for the same request never buys it again."""
    with atomic_output(output) as temporary, work_directory(output) as work:
        how = normalize_clip(raw, temporary, work=work, what=f"clip {output.name}")
    progress(f"kie: {output.name} {how}; the original is kept as {raw.name}")


# The task a run created, kept beside the output until its clip is downloaded: a retry after a
# poll deadline or a failed download resumes polling it instead of paying for a new one.


def _task_file(output: Path) -> Path:
    return output.with_name(f"{output.stem}.kie-task.json")


def remember_task(output: Path, request: dict, task_id: str) -> None:
    record = {"request": request_fingerprint(request), "task_id": task_id}
    write_bytes_atomically(_task_file(output), json.dumps(record).encode())


def pending_task(output: Path, request: dict) -> str | None:
    try:
        record = json.loads(_task_file(output).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("request") != request_fingerprint(request):
        forget_task(output)  # made for another request (an edited storyboard)
        return None
    progress(f"kie: resuming task {record.get('task_id')} created by an earlier attempt")
    return str(record.get("task_id") or "") or None


def forget_task(output: Path) -> None:
    _task_file(output).unlink(missing_ok=True)


def upload_to_catbox(image: Path) -> str:
    """catbox answers plain text: the URL on success, an error sentence otherwise.

    A non-URL answer with HTTP 2xx is treated as temporary (75): the file was checked locally
    and catbox's plain-text errors are mostly overload; a 4xx (e.g. 412/413) is permanent (65).
    """
    url = env_url("CATBOX_API_URL", DEFAULT_CATBOX_URL)
    form = Multipart(
        fields={"reqtype": "fileupload"},
        files={"fileToUpload": (image.name, image.read_bytes(), "image/png")},
    )
    userhash = os.environ.get("CATBOX_USERHASH", "").strip()
    if userhash:
        form.fields["userhash"] = userhash
    response = http_request("POST", url, service="catbox", multipart=form)
    text = response.text(200)
    if not response.ok:
        raise ScriptError(
            f"catbox upload of {image} failed: HTTP {response.status}: {text or '(empty body)'}",
            exit_code_for_status(response.status),
            response.status,
        )
    if not text.startswith(("http://", "https://")):
        raise ScriptError(
            f"catbox upload of {image} failed: {text or '(empty answer)'!r}",
            EX_TEMPFAIL,
            response.status,
        )
    progress(f"catbox: uploaded {image.name} -> {text}")
    return text.split()[0]


def kie_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def explain_kie(response) -> tuple[str, int | None]:
    body = response.json()
    if isinstance(body, dict) and body.get("msg"):
        return str(body["msg"]), None
    return response.text() or "(empty body)", None


def check_body_code(body, service: str, status: int) -> dict:
    """KIE answers some errors with HTTP 200 and the real status in the body's code."""
    if not isinstance(body, dict):
        raise ScriptError(f"{service} answered HTTP {status} with a body that is not JSON",
                          EX_TEMPFAIL, status)  # fmt: skip
    code = body.get("code")
    if code in (200, "200", None) and body.get("data") is not None:
        return body["data"]
    try:
        numeric = int(code)
    except (TypeError, ValueError):
        numeric = 500
    message = body.get("msg") or "(no message)"
    raise ScriptError(
        f"{service} refused: code {code}: {message}", exit_code_for_status(numeric), numeric
    )


def create_task(base: str, api_key: str, args, prompt: str, image_url: str) -> str:
    task_input: dict = {"prompt": prompt, "image_url": image_url, "duration": str(args.duration)}
    if args.negative_prompt:
        task_input["negative_prompt"] = args.negative_prompt
    if args.cfg_scale is not None:
        task_input["cfg_scale"] = args.cfg_scale
    response = http_request(
        "POST",
        f"{base}/api/v1/jobs/createTask",
        service="KIE.ai createTask",
        headers=kie_headers(api_key),
        json_body={"model": args.model, "input": task_input},
    )
    raise_for_status(response, "KIE.ai createTask", explain_kie)
    data = check_body_code(response.json(), "KIE.ai createTask", response.status)
    task_id = data.get("taskId") if isinstance(data, dict) else None
    if not task_id:
        raise ScriptError("KIE.ai createTask answered without a taskId", EX_TEMPFAIL)
    return str(task_id)


def poll_interval() -> float:
    raw = os.environ.get("KIE_POLL_INTERVAL", "").strip() or "5"
    try:
        value = float(raw)
    except ValueError:
        raise ScriptError(f"KIE_POLL_INTERVAL must be seconds, got {raw!r}", EX_CONFIG) from None
    if value <= 0:
        raise ScriptError(f"KIE_POLL_INTERVAL must be positive, got {raw!r}", EX_CONFIG)
    return value


def wait_for_result(base: str, api_key: str, task_id: str, deadline_seconds: float) -> str:
    """Poll with backoff. Temporary poll errors are retried until the deadline: the task is
    already paid for, so one glitch must not throw it away."""
    interval = poll_interval()
    started = time.monotonic()
    query = urllib.parse.urlencode({"taskId": task_id})
    last_state, last_problem = None, ""
    while True:
        try:
            response = http_request(
                "GET",
                f"{base}/api/v1/jobs/recordInfo?{query}",
                service="KIE.ai recordInfo",
                headers=kie_headers(api_key),
            )
            raise_for_status(response, "KIE.ai recordInfo", explain_kie)
            data = check_body_code(response.json(), "KIE.ai recordInfo", response.status)
            state = str(data.get("state") or "").lower()
            if state != last_state:
                progress(f"kie: task {task_id} {state or 'unknown state'}")
                last_state = state
            if state == "success":
                return result_url_from(data, task_id)
            if state == "fail":
                raise ScriptError(
                    f"KIE.ai task {task_id} failed: failCode {data.get('failCode')}: "
                    f"{data.get('failMsg') or '(no message)'}",
                    EX_DATAERR,
                )
        except ScriptError as error:
            if not error.retriable:
                raise
            last_problem = f"; last poll error: {error.message}"
            progress(f"kie: poll error, will retry: {error.message}")
        elapsed = time.monotonic() - started
        if elapsed + interval > deadline_seconds:
            raise ScriptError(
                f"KIE.ai task {task_id} not finished after {deadline_seconds / 60:g} min "
                f"(state {last_state or 'unknown'}){last_problem}; resume with --task-id {task_id}",
                EX_TEMPFAIL,
            )
        time.sleep(interval)
        interval = min(interval * 1.5, max(MAX_POLL_INTERVAL, poll_interval()))


def result_url_from(data: dict, task_id: str) -> str:
    raw = data.get("resultJson")
    try:
        result = json.loads(raw) if isinstance(raw, str) else (raw or {})
        urls = result.get("resultUrls") or []
    except (ValueError, AttributeError):
        urls = []
    if not urls or not isinstance(urls[0], str):
        raise ScriptError(
            f"KIE.ai task {task_id} succeeded without a result URL (resultJson {raw!r:.200})",
            EX_DATAERR,
        )
    return urls[0]


def download_video(url: str, destination: Path, task_id: str, usage: dict) -> None:
    """Stream the paid clip into ``destination`` and check that it really is a video.

    No Authorization header: the result lives on a CDN that must never see our key. The clip is
    paid for once the task succeeded, so a failure here carries the usage to book."""
    with open(destination, "wb") as sink:
        response = http_request("GET", url, service="KIE.ai result download", sink=sink)
    if not response.ok:
        code = (
            EX_TEMPFAIL
            if response.status in (408, 429) or response.status >= 500
            else (EX_DATAERR)
        )  # an expired or forbidden result URL is not our credentials' fault
        raise ScriptError(
            f"result of KIE.ai task {task_id} ({url}) answered HTTP {response.status}",
            code,
            response.status,
            paid_fields(usage),
        )
    content_type = response.headers.get("Content-Type", "unknown")
    try:
        info = verify_clip(destination, f"result of KIE.ai task {task_id}")
    except ScriptError as error:
        raise ScriptError(
            f"result URL of KIE.ai task {task_id} ({url}) served a non-video "
            f"(Content-Type {content_type}, {response.streamed_bytes} bytes): {error.message}",
            EX_DATAERR,
            extra=paid_fields(usage),
        ) from error
    progress(f"kie: downloaded {info.duration:.2f} s {info.width}x{info.height} clip")


def verify_clip(path: Path, what: str = "kept KIE.ai clip"):
    info = probe_media(path, what)
    if not info.has_video:
        raise ScriptError(f"{what}: {path}: no video stream", EX_DATAERR)
    return info


if __name__ == "__main__":
    from _common import run

    run(main)

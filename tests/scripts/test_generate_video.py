import os
import signal
import subprocess
import sys
import time

import pytest

from tests.fakes.base import Reply, unused_port_url
from tests.fakes.kie import FakeCatbox, FakeKie
from tests.fakes.media import mp4_bytes

from .conftest import FAKE_KEYS, SCRIPTS, frames_as_arrays, mean_difference, probe

KEY = FAKE_KEYS["KIE_API_KEY"]


@pytest.fixture
def catbox():
    with FakeCatbox() as fake:
        yield fake


@pytest.fixture
def kie():
    with FakeKie(api_key=KEY) as fake:
        yield fake


@pytest.fixture
def kie_env(kie, catbox):
    return {"KIE_API_KEY": KEY, "KIE_API_BASE": kie.url, "CATBOX_API_URL": catbox.api_url}


@pytest.fixture
def image(write_png):
    return write_png("composites/s01.png")


def assert_landed(output, kie):
    """--output is the paid clip in the project's format; the original is kept as the raw
    output with its request record (a run for the same request never buys it again)."""
    from _common import probe_media

    info = probe_media(output, "clip")
    assert (info.video_codec, info.pix_fmt, info.width, info.height) == (
        "h264", "yuv420p", 1920, 1080)  # fmt: skip
    assert abs(info.frame_rate - 30) < 0.01
    assert output.with_name(f"{output.stem}.raw.mp4").read_bytes() == kie.video
    assert output.with_name(f"{output.stem}.raw.mp4.json").exists()


def generate(run_script, image, output, *extra, env=None):
    return run_script("generate_video.py", "--image", image, "--prompt", "slow dolly in",
                      "--output", output, *extra, env=env)  # fmt: skip


def test_it_uploads_creates_polls_and_downloads_the_clip(
    run_script, kie, catbox, kie_env, image, tmp_path
):
    output = tmp_path / "videos" / "s01.mp4"
    run = generate(run_script, image, output, "--duration", "10", env=kie_env)
    assert run.returncode == 0, run
    assert run.result["ok"] is True
    assert run.result["outputs"] == [str(output)]
    assert run.result["provider"] == "kie"
    assert run.result["usage"] == {"clip_seconds": 10, "model": "kling/v2-1-standard"}
    assert_landed(output, kie)
    assert [state for state in ("waiting", "generating", "success") if state in run.stderr] == [
        "waiting", "generating", "success"]  # fmt: skip
    polls = kie.requests_to("recordInfo")
    assert len(polls) == 3


def test_it_sends_the_request_shapes_catbox_and_kie_expect(
    run_script, kie, catbox, kie_env, image, tmp_path
):
    run = generate(run_script, image, tmp_path / "a.mp4", "--negative-prompt", "blur",
                   "--cfg-scale", "0.5", "--model", "kling/v2-1-pro", env=kie_env)  # fmt: skip
    assert run.returncode == 0, run
    (upload,) = catbox.requests
    form = upload.form()
    assert form["reqtype"] == (None, b"fileupload")
    assert form["fileToUpload"] == ("s01.png", image.read_bytes())
    assert "authorization" not in upload.headers  # catbox never sees the KIE key

    (uploaded_name,) = catbox.uploads
    create = kie.requests_to("createTask")[0]
    assert create.method == "POST"
    assert create.headers["authorization"] == f"Bearer {KEY}"
    assert create.json == {
        "model": "kling/v2-1-pro",
        "input": {
            "prompt": "slow dolly in",
            "image_url": f"{catbox.url}/files/{uploaded_name}",
            "duration": "5",
            "negative_prompt": "blur",
            "cfg_scale": 0.5,
        },
    }
    task_id = next(iter(kie.tasks))
    for poll in kie.requests_to("recordInfo"):
        assert poll.method == "GET"
        assert poll.query == {"taskId": [task_id]}
        assert poll.headers["authorization"] == f"Bearer {KEY}"
    (download,) = kie.requests_to("/results/")
    assert "authorization" not in download.headers  # the CDN never sees the key


def test_it_skips_the_upload_when_given_an_image_url(
    run_script, kie, catbox, kie_env, image, tmp_path
):
    url = "https://files.example.test/s01.png"
    run = generate(run_script, image, tmp_path / "a.mp4", "--image-url", url, env=kie_env)
    assert run.returncode == 0, run
    assert catbox.requests == []
    assert kie.requests_to("createTask")[0].json["input"]["image_url"] == url


def test_it_resumes_an_existing_task_without_creating_a_new_one(
    run_script, kie, kie_env, image, tmp_path
):
    kie.tasks["known-task"] = {"polls": 0, "body": {"model": "kling/v2-1-standard"}}
    run = generate(run_script, image, tmp_path / "a.mp4", "--task-id", "known-task", env=kie_env)
    assert run.returncode == 0, run
    assert run.result["task_id"] == "known-task"
    assert kie.requests_to("createTask") == []


def test_it_exits_65_with_the_fail_code_when_the_task_fails(
    run_script, kie, kie_env, image, tmp_path
):
    kie.states = ["waiting", "generating", "fail"]
    output = tmp_path / "a.mp4"
    run = generate(run_script, image, output, env=kie_env)
    assert run.returncode == 65, run
    assert "failCode 500" in run.error and "content moderation" in run.error
    assert not output.exists()


def test_it_exits_75_naming_the_task_when_the_poll_deadline_passes(
    run_script, kie, kie_env, image, tmp_path
):
    kie.states = ["queuing"]
    run = generate(run_script, image, tmp_path / "a.mp4", "--timeout-minutes", "0.01",
                   env=kie_env)  # fmt: skip
    assert run.returncode == 75, run
    task_id = next(iter(kie.tasks))
    assert f"--task-id {task_id}" in run.error
    assert "state queuing" in run.error


def test_it_keeps_polling_through_a_temporary_poll_error(run_script, kie, kie_env, image, tmp_path):
    kie.states = ["generating", "success"]
    run = generate(run_script, image, tmp_path / "a.mp4", "--image-url", "https://x.test/a.png",
                   env=kie_env)  # fmt: skip
    assert run.returncode == 0, run
    kie.requests.clear()
    kie.queue(
        Reply.json_body(200, {"code": 200, "msg": "success", "data": {"taskId": "t-503"}}),
        Reply.json_body(503, {"code": 503, "msg": "Service Unavailable"}),
    )
    kie.tasks["t-503"] = {"polls": 0, "body": {"model": "kling/v2-1-standard"}}
    run = generate(run_script, image, tmp_path / "b.mp4", "--image-url", "https://x.test/a.png",
                   env=kie_env)  # fmt: skip
    assert run.returncode == 0, run
    assert "poll error, will retry" in run.stderr


@pytest.mark.parametrize("status", [429, 500, 503])
def test_it_exits_75_when_create_task_answers_a_temporary_http_error(
    run_script, kie, kie_env, image, tmp_path, status
):
    kie.queue(Reply.json_body(status, {"code": status, "msg": "busy"}))
    run = generate(run_script, image, tmp_path / "a.mp4", env=kie_env)
    assert run.returncode == 75, run
    assert run.result["status"] == status
    assert run.result["retriable"] is True


@pytest.mark.parametrize(("code", "exit_code"), [(429, 75), (500, 75), (401, 77), (402, 77),
                                                 (422, 65), (400, 65)])  # fmt: skip
def test_it_reads_the_error_code_in_a_200_body(
    run_script, kie, kie_env, image, tmp_path, code, exit_code
):
    kie.queue(FakeKie.body_code(code, f"problem {code}"))
    run = generate(run_script, image, tmp_path / "a.mp4", "--image-url", "https://x.test/a.png",
                   env=kie_env)  # fmt: skip
    assert run.returncode == exit_code, run
    assert f"code {code}: problem {code}" in run.error
    assert run.result["status"] == code


@pytest.mark.parametrize(("status", "exit_code"), [(400, 65), (422, 65), (401, 77), (402, 77),
                                                   (403, 77)])  # fmt: skip
def test_it_classifies_http_errors_from_create_task(
    run_script, kie, kie_env, image, tmp_path, status, exit_code
):
    kie.queue(Reply.json_body(status, {"code": status, "msg": f"http {status}"}))
    run = generate(run_script, image, tmp_path / "a.mp4", "--image-url", "https://x.test/a.png",
                   env=kie_env)  # fmt: skip
    assert run.returncode == exit_code, run
    assert run.result["status"] == status


def test_it_exits_77_when_the_key_is_wrong(run_script, kie, kie_env, image, tmp_path):
    env = {**kie_env, "KIE_API_KEY": "sk-FAKE-other"}
    run = generate(run_script, image, tmp_path / "a.mp4", env=env)
    assert run.returncode == 77, run
    assert "sk-FAKE-other" not in run.stderr


@pytest.mark.parametrize("answer", ["Internal error: storage full", ""])
def test_it_exits_75_when_catbox_answers_plain_text_instead_of_a_url(
    run_script, kie, catbox, kie_env, image, tmp_path, answer
):
    catbox.queue(Reply.text(200, answer))
    run = generate(run_script, image, tmp_path / "a.mp4", env=kie_env)
    assert run.returncode == 75, run
    assert "catbox upload" in run.error and str(image) in run.error
    assert kie.requests == []


def test_it_exits_65_when_catbox_refuses_the_file(
    run_script, kie, catbox, kie_env, image, tmp_path
):
    catbox.queue(Reply.text(413, "File too large."))
    run = generate(run_script, image, tmp_path / "a.mp4", env=kie_env)
    assert run.returncode == 65, run
    assert "File too large." in run.error


def test_it_exits_65_when_the_result_url_serves_a_non_video(
    run_script, kie, kie_env, image, tmp_path
):
    kie.video_reply = Reply.text(200, "<html>Access denied</html>",
                                 headers={"Content-Type": "text/html"})  # fmt: skip
    output = tmp_path / "a.mp4"
    run = generate(run_script, image, output, env=kie_env)
    assert run.returncode == 65, run
    assert "non-video" in run.error and "text/html" in run.error
    assert run.result["paid"] is True  # the task succeeded: Kling charged for the clip
    assert run.result["usage"] == {"clip_seconds": 5, "model": "kling/v2-1-standard"}
    assert not output.exists()
    assert list(tmp_path.glob(".a.*tmp-*")) == [] and not (tmp_path / "a.raw.mp4").exists()


def test_it_exits_65_when_the_result_url_has_expired(run_script, kie, kie_env, image, tmp_path):
    kie.video_reply = Reply.text(403, "AccessDenied: Request has expired")
    run = generate(run_script, image, tmp_path / "a.mp4", env=kie_env)
    assert run.returncode == 65, run
    assert "answered HTTP 403" in run.error


def test_it_exits_75_when_kie_refuses_connections(run_script, catbox, image, tmp_path):
    env = {"KIE_API_KEY": KEY, "KIE_API_BASE": unused_port_url(), "CATBOX_API_URL": catbox.api_url}
    run = generate(run_script, image, tmp_path / "a.mp4", env=env)
    assert run.returncode == 75, run
    assert "network error" in run.error


def test_it_exits_75_when_catbox_does_not_answer_in_time(
    run_script, catbox, kie_env, image, tmp_path
):
    catbox.queue(Reply(hang=True))
    env = {**kie_env, "VIDEOGEN_HTTP_TIMEOUT": "0.5"}
    run = generate(run_script, image, tmp_path / "a.mp4", env=env)
    assert run.returncode == 75, run
    assert "timed out" in run.error


def test_it_exits_78_when_the_key_is_missing(run_script, image, tmp_path):
    run = generate(run_script, image, tmp_path / "a.mp4")
    assert run.returncode == 78, run
    assert "KIE_API_KEY" in run.error


def test_it_exits_2_for_a_duration_kling_does_not_offer(run_script, image, tmp_path):
    run = generate(run_script, image, tmp_path / "a.mp4", "--duration", "7")
    assert run.returncode == 2


def test_it_exits_65_naming_a_missing_image(run_script, kie_env, tmp_path):
    missing = tmp_path / "missing.png"
    run = generate(run_script, missing, tmp_path / "a.mp4", env=kie_env)
    assert run.returncode == 65, run
    assert str(missing) in run.error


def test_it_exits_65_for_an_unreadable_image(run_script, kie_env, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_text("not a png")
    run = generate(run_script, broken, tmp_path / "a.mp4", env=kie_env)
    assert run.returncode == 65, run
    assert "not a readable image" in run.error


def test_it_exits_65_naming_a_missing_environment_image(run_script, kie_env, image, tmp_path):
    run = generate(run_script, image, tmp_path / "a.mp4", "--environment", tmp_path / "env.png",
                   env=kie_env)  # fmt: skip
    assert run.returncode == 65, run
    assert "--environment" in run.error


def test_a_sigkill_during_the_download_leaves_nothing_at_the_output(
    script_env, kie, kie_env, image, tmp_path
):
    kie.video = mp4_bytes(1.0) + b"\0" * 200_000
    kie.video_reply = Reply(200, kie.video, {"Content-Type": "video/mp4"}, chunk_delay=0.02,
                            chunk_size=2048)  # fmt: skip
    output = tmp_path / "out" / "s01.mp4"
    process = subprocess.Popen(
        [sys.executable, str(SCRIPTS / "generate_video.py"), "--image", str(image), "--prompt",
         "x", "--output", str(output), "--image-url", "https://x.test/a.png"],
        env={**script_env, **kie_env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            partial = list(output.parent.glob(".s01.*tmp-*")) if output.parent.exists() else []
            if partial and partial[0].stat().st_size > 4096:
                break
            time.sleep(0.02)
        else:
            pytest.fail("the download never started")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    finally:
        process.kill()
        process.communicate()
    assert not output.exists()
    assert partial[0].name.startswith(".s01.raw.tmp-")


def test_the_local_provider_renders_a_1080p_clip_with_motion_of_the_exact_length(
    run_script, write_png, tmp_path
):
    image = write_png("still.png", size=(960, 540))
    output = tmp_path / "clip.mp4"
    run = generate(run_script, image, output, "--provider", "local")
    assert run.returncode == 0, run
    assert run.result["usage"] == {"clip_seconds": 5, "model": "local"}
    info = probe(output)
    assert (info.width, info.height, info.video_codec, info.pix_fmt) == (
        1920, 1080, "h264", "yuv420p")  # fmt: skip
    assert abs(info.duration - 5.0) <= 0.1
    assert info.frame_rate == 30
    frames, count = frames_as_arrays(output, 3)
    assert count == 150
    assert mean_difference(frames[0], frames[-1]) > 1.0, "the clip should move"


def test_the_local_provider_is_deterministic(run_script, write_png, tmp_path):
    image = write_png("still.png", size=(320, 180))
    for name in ("a.mp4", "b.mp4"):
        run = generate(run_script, image, tmp_path / name, "--provider", "local")
        assert run.returncode == 0, run
    assert (tmp_path / "a.mp4").read_bytes() == (tmp_path / "b.mp4").read_bytes()


def test_a_local_failure_after_the_download_keeps_the_clip_and_the_retry_makes_no_new_task(
    run_script, kie, catbox, kie_env, image, tmp_path
):
    output = tmp_path / "videos" / "s01.mp4"
    output.mkdir(parents=True)  # the clip cannot be put in place: a local failure

    first = generate(run_script, image, output, env=kie_env)
    assert first.returncode == 70, first
    assert first.result["paid"] is True
    assert first.result["usage"] == {"clip_seconds": 5, "model": "kling/v2-1-standard"}
    assert (tmp_path / "videos" / "s01.raw.mp4").read_bytes() == kie.video

    output.rmdir()
    second = generate(run_script, image, output, env=kie_env)
    assert second.returncode == 0, second
    assert second.result["usage"] == {"clip_seconds": 0, "model": "kling/v2-1-standard"}
    assert second.result["reused_raw"] is True
    assert len(kie.tasks) == 1 and len(catbox.uploads) == 1
    assert second.result["task_id"] == next(iter(kie.tasks))
    assert_landed(output, kie)
    assert sorted(path.name for path in output.parent.iterdir()) == [
        "s01.mp4", "s01.raw.mp4", "s01.raw.mp4.json"]  # fmt: skip


def test_a_kept_clip_is_not_reused_when_the_image_changed(
    run_script, kie, kie_env, image, write_png, tmp_path
):
    output = tmp_path / "s01.mp4"
    output.mkdir()
    assert generate(run_script, image, output, env=kie_env).returncode == 70
    output.rmdir()
    changed = write_png("composites/s01.png", colour=(200, 30, 30))

    run = generate(run_script, changed, output, env=kie_env)

    assert run.returncode == 0, run
    assert "reused_raw" not in run.result
    assert len(kie.tasks) == 2
    assert "made for another request; discarded" in run.stderr


def test_a_retry_after_the_poll_deadline_resumes_the_paid_task_instead_of_creating_one(
    run_script, kie, catbox, kie_env, image, tmp_path
):
    output = tmp_path / "s01.mp4"
    kie.states = ["queuing"]
    first = generate(run_script, image, output, "--timeout-minutes", "0.01", env=kie_env)
    assert first.returncode == 75, first
    assert (tmp_path / "s01.kie-task.json").exists()

    kie.states = ["success"]
    second = generate(run_script, image, output, env=kie_env)

    assert second.returncode == 0, second
    assert len(kie.tasks) == 1 and len(catbox.uploads) == 1
    assert second.result["task_id"] == next(iter(kie.tasks))
    assert "resuming task" in second.stderr
    assert_landed(output, kie)
    assert sorted(path.name for path in tmp_path.iterdir() if path.is_file()) == [
        "s01.mp4", "s01.raw.mp4", "s01.raw.mp4.json"]  # fmt: skip


def test_a_failed_task_is_forgotten_so_the_retry_creates_a_new_one(
    run_script, kie, kie_env, image, tmp_path
):
    output = tmp_path / "s01.mp4"
    kie.states = ["fail"]
    assert generate(run_script, image, output, env=kie_env).returncode == 65
    assert not (tmp_path / "s01.kie-task.json").exists()
    kie.states = ["success"]

    run = generate(run_script, image, output, env=kie_env)

    assert run.returncode == 0, run
    assert len(kie.tasks) == 2

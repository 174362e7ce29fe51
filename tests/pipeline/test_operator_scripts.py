"""The operator's own scripts run unchanged (VIDEOGEN_SCRIPTS_DIR): they get exactly their
command lines, our extensions reach only scripts that declare them (--videogen-contract, asked
once per script file), free text with a valid output is success, and exit 1 is an unknown
failure retried a bounded number of times with the script's last lines in the error."""

import json
import os
import textwrap
from pathlib import Path

import av
import pytest
from django.conf import settings

from pipeline import runner
from pipeline.media import output_valid
from pipeline.models import VideoTask, WorkItem, WorkState
from pipeline.runner import Outcome, run_script, script_command_line, script_contract
from pipeline.services import video_task_create
from pipeline.status import Status
from tests.factories import SAMPLE_STORYBOARD
from tests.pipeline.conftest import wait_for

OPERATOR_SCRIPTS = Path(__file__).parent / "operator_scripts"
OUR_SCRIPTS = Path(settings.BASE_DIR) / "scripts"
EXTENSIONS = ("--provider", "--aspect-ratio", "--duration", "--model")
OPERATOR_FLAGS = {
    "generate_asset": {"--prompt", "--output", "--reference-image"},
    "create_composite": {"--character", "--environment", "--output", "--scale"},
    "generate_video": {"--image", "--environment", "--prompt", "--output"},
    "generate_audio": {"--text", "--output", "--model", "--stability", "--similarity", "--style"},
    "generate_sound_effects": {
        "--text", "--output", "--duration", "--prompt-influence", "--format", "--normalize",
        "--no-normalize", "--target-volume",
    },
    "assemble_video": {"--manifest", "--output"},
}  # fmt: skip


@pytest.fixture(autouse=True)
def fresh_contracts(monkeypatch):
    monkeypatch.setattr(runner, "_contracts", {})


def write_script(folder, name, body):
    path = Path(folder) / f"{name}.py"
    path.write_text("import json, os, sys\n" + textwrap.dedent(body))
    return path


# --- Contract discovery --------------------------------------------------------------------------


def test_our_scripts_declare_their_flags_and_the_operators_declare_none():
    ours = script_contract(OUR_SCRIPTS / "generate_asset.py")
    theirs = script_contract(OPERATOR_SCRIPTS / "generate_asset.py")
    assert ours.declared and {"--provider", "--aspect-ratio", "--prompt"} <= ours.flags
    assert not theirs.declared and theirs.flags == frozenset()


def test_every_one_of_our_scripts_answers_the_contract_question():
    for path in sorted(OUR_SCRIPTS.glob("[a-z]*.py")):
        contract = script_contract(path)
        assert contract.declared and "--output" in contract.flags, path.name


def test_the_contract_is_asked_once_per_script_file_version(tmp_path):
    asked = tmp_path / "asked.log"
    path = write_script(
        tmp_path,
        "generate_asset",
        f"""
        open({str(asked)!r}, "a").write("asked\\n")
        print("some banner")
        print(json.dumps({{"videogen_contract": 1, "flags": ["--provider"]}}))
        """,
    )

    first, second = script_contract(path), script_contract(path)
    assert first == second and first.flags == {"--provider"}
    assert asked.read_text().count("asked") == 1

    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # the operator edits it
    assert script_contract(path).declared
    assert asked.read_text().count("asked") == 2


def test_a_script_that_fails_the_question_otherwise_is_treated_as_the_operators(tmp_path):
    crashing = write_script(tmp_path, "crashing", "raise SystemExit(1)")
    babbling = write_script(tmp_path, "babbling", "print('hello'); sys.exit(0)")
    assert not script_contract(crashing).declared
    assert not script_contract(babbling).declared


def test_an_operator_script_gets_only_its_command_line_and_ours_only_the_flags_it_declares():
    extensions = {"--provider": "local", "--aspect-ratio": "1:1", "--made-up": "x"}
    base = ["--prompt", "a fox", "--output", "/tmp/fox.png"]

    theirs = script_command_line(
        "generate_asset", base, extensions, script=OPERATOR_SCRIPTS / "generate_asset.py"
    )
    ours = script_command_line(
        "generate_asset", base, extensions, script=OUR_SCRIPTS / "generate_asset.py"
    )

    assert theirs[2:] == base
    assert ours[2:] == [*base, "--provider", "local", "--aspect-ratio", "1:1"]


def test_the_split_screen_the_operator_never_had_is_ours(settings):
    settings.SCRIPTS_DIR = OPERATOR_SCRIPTS
    assert runner.script_path("create_split_screen") == OUR_SCRIPTS / "create_split_screen.py"
    assert runner.script_path("generate_asset") == OPERATOR_SCRIPTS / "generate_asset.py"


# --- Free text and exit 1 ------------------------------------------------------------------------


def test_free_text_and_exit_0_is_success_when_the_output_is_real_media(tmp_path):
    output = tmp_path / "fox.png"

    result = run_script(
        "generate_asset",
        ["--prompt", "a fox", "--output", output],
        extensions={"--provider": "local", "--aspect-ratio": "1:1"},
        script=OPERATOR_SCRIPTS / "generate_asset.py",
    )

    assert result.ok and not result.json_line
    assert output_valid(output)


def test_exit_0_without_real_media_does_not_pass_the_output_check(tmp_path):
    path = write_script(
        tmp_path,
        "generate_asset",
        """
        output = sys.argv[sys.argv.index("--output") + 1]
        open(output, "w").write("not an image")
        print("Saved!")
        """,
    )
    output = tmp_path / "fox.png"
    result = run_script("generate_asset", ["--output", output], script=path)
    assert result.ok  # the runner reports what the script said; the unit checks the file
    assert not output_valid(output)


def test_media_is_checked_by_what_it_is(tmp_path):
    import imageio_ffmpeg
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "jpeg_inside.png", "JPEG")
    (tmp_path / "empty.png").write_bytes(b"")
    ffmpeg = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y"]
    os.system(  # noqa: S605 - fixed arguments
        " ".join([*ffmpeg, "-f lavfi -i sine=duration=1", str(tmp_path / "sound.mp3")])
    )
    os.system(  # noqa: S605
        " ".join([*ffmpeg, "-f lavfi -i sine=duration=1 -c:a aac", str(tmp_path / "sound.mp4")])
    )
    assert output_valid(tmp_path / "jpeg_inside.png")
    assert not output_valid(tmp_path / "empty.png")
    assert output_valid(tmp_path / "sound.mp3")
    assert not output_valid(tmp_path / "sound.mp4")  # an MP4 clip needs a video stream


def test_exit_1_is_an_unknown_retriable_failure_quoting_the_last_lines_without_secrets(tmp_path):
    path = write_script(
        tmp_path,
        "generate_video",
        """
        print("Uploading image to catbox ...")
        print("calling Kling with key " + os.environ["KIE_API_KEY"])
        print("Traceback (most recent call last):", file=sys.stderr)
        print("requests.exceptions.HTTPError: 500 Server Error", file=sys.stderr)
        sys.exit(1)
        """,
    )

    result = run_script(
        "generate_video", ["--output", "x.mp4"], script=path, env={"KIE_API_KEY": "kie-secret-42"}
    )

    assert result.outcome is Outcome.UNKNOWN and result.retriable
    assert result.error == (
        "stderr: Traceback (most recent call last): | requests.exceptions.HTTPError: 500 Server "
        "Error; stdout: Uploading image to catbox ... | calling Kling with key [redacted]"
    )
    assert "kie-secret-42" not in result.stderr_tail


# --- The whole pipeline on the operator's scripts, on a real worker ------------------------------


def storyboard():
    board = {**SAMPLE_STORYBOARD, "scenes": []}
    board["scenes"] = [
        {
            "id": "s01",
            "composite": {"environment": "forest", "character": "bulbasaur", "scale": 0.8},
            "motion": "slow dolly in",
            "narration": "In the heart of the forest, something stirs.",
            "sfx": "wind through leaves",
            "duration": 5,
        },
        {
            "id": "s02",
            "split": ["forest", "bulbasaur"],
            "motion": "static",
            "narration": "Two worlds, side by side.",
            "duration": 5,
        },
    ]
    return board


@pytest.fixture
def operator_env(pipeline_env, tmp_path, settings):
    settings.SCRIPTS_DIR = OPERATOR_SCRIPTS
    pipeline_env["VIDEOGEN_SCRIPTS_DIR"] = str(OPERATOR_SCRIPTS)
    pipeline_env["OPERATOR_CALLS_FILE"] = str(tmp_path / "operator-calls.jsonl")
    return pipeline_env


def describe(task, worker):
    task = VideoTask.objects.get(pk=task.pk)
    items = list(WorkItem.objects.filter(task=task).values_list("step", "unit", "state", "error"))
    return f"status={task.status} log={task.error_log!r} items={items}\n{worker.log()[-4000:]}"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_video_reaches_final_review_on_the_operators_own_scripts(
    operator_env, worker, local_channel
):
    operator_env["OPERATOR_FAIL_FIRST_GENERATE_VIDEO"] = "1"  # exit 1 once per clip, then fine
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard())

    wait_for(
        lambda: VideoTask.objects.get(pk=task.pk).status == Status.FINAL_REVIEW,
        timeout=180,
        interval=0.5,
        describe=lambda: describe(task, worker),
    )

    task.refresh_from_db()
    with av.open(task.video.final_path) as container:
        assert container.streams.video and container.streams.audio
    assert task.video.duration_seconds > 1
    calls = [json.loads(line) for line in Path(operator_env["OPERATOR_CALLS_FILE"]).open()]
    by_script = {}
    for call in calls:
        by_script.setdefault(call["script"], []).append(call["argv"])
    # 2 assets, 1 composite (the split screen is ours), 2 clips twice, 2 narrations, 1 sfx, 1 film
    assert {script: len(runs) for script, runs in by_script.items()} == {
        "generate_asset": 2,
        "create_composite": 1,
        "generate_video": 4,
        "generate_audio": 2,
        "generate_sound_effects": 1,
        "assemble_video": 1,
    }
    for script, runs in by_script.items():
        for argv in runs:
            flags = {arg for arg in argv if arg.startswith("--")}
            assert flags <= OPERATOR_FLAGS[script], (script, argv)
            assert not flags & set(EXTENSIONS) - OPERATOR_FLAGS[script], (script, argv)
    clips = WorkItem.objects.filter(task=task, step="videos")
    assert {item.state for item in clips} == {WorkState.DONE}
    assert {item.attempts for item in clips} == {2}  # the exit 1 was retried
    split = WorkItem.objects.get(task=task, step="composites", unit="s02")
    assert split.state == WorkState.DONE
    costs = task.costs.filter(work_item__step="assets")
    assert costs.count() == 2
    assert all(cost.metadata["estimated"] for cost in costs)  # free text: usage estimated


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_an_operator_script_that_keeps_exiting_1_stops_the_task_after_bounded_retries(
    operator_env, worker, local_channel
):
    operator_env["OPERATOR_FAIL_ALWAYS_GENERATE_ASSET"] = "1"
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard())

    wait_for(
        lambda: VideoTask.objects.get(pk=task.pk).status == Status.ASSET_ERROR,
        timeout=90,
        interval=0.5,
        describe=lambda: describe(task, worker),
    )

    task.refresh_from_db()
    assert "generate_asset exited 1 (unknown)" in task.error_log
    assert "ConnectionResetError: [Errno 104] Connection reset by peer" in task.error_log
    assert "stdout: Working on" in task.error_log
    items = WorkItem.objects.filter(task=task, step="assets")
    assert max(item.attempts for item in items) == settings.PIPELINE_MAX_ATTEMPTS

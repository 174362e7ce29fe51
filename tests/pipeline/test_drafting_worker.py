"""Drafting (step 0, the writers' room) on the real stack: a Celery worker process, Redis,
PostgreSQL. The writer is the shipped scripts/generate_storyboard.py (--provider local), standing
in for the fake scripts' folder, which has none; the production steps run the fake scripts."""

import shutil
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from channels_app.models import SecretName
from channels_app.services import channel_secret_set
from core.models import Alert
from core.text.storyboard import storyboard_validate
from costs.models import Component, VideoCost
from pipeline import paths
from pipeline.models import ProviderSlot, VideoTask, WorkItem, WorkState
from pipeline.status import Status
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory
from tests.fakes.gemini import FakeGemini
from tests.pipeline.conftest import FAKE_SCRIPTS, wait_for
from tests.scripts.test_generate_storyboard import ANSWER

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LOCAL = {"image": "local", "video": "local", "voice": "local", "upload": "local", "text": "local"}


@pytest.fixture
def writer_channel(transactional_db):
    return ChannelFactory(
        id="pokechannel1",
        review_gates=[],
        max_concurrent=5,
        providers=LOCAL,
        brief={"premise": "wildlife documentaries", "scene_count": 4, "clip_seconds": 5},
        tags=["nature"],
    )


def describe(task, worker):
    task = VideoTask.objects.get(pk=task.pk)
    items = list(WorkItem.objects.filter(task=task).values_list("step", "unit", "state", "error"))
    return f"status={task.status} log={task.error_log!r} items={items}\n{worker.log()[-4000:]}"


def only_task():
    return VideoTask.objects.get()


def test_draft_task_with_queue_drafts_a_valid_storyboard_and_reaches_final_review(
    pipeline_env, worker, calls, writer_channel
):
    worker.start()
    call_command(
        "draft_task", "--channel", "pokechannel1", "--topic", "the secret life of axolotls",
        "--queue",
    )  # fmt: skip
    task = only_task()
    assert task.status == Status.DRAFT and task.storyboard == {} and task.queue_when_drafted

    wait_for(
        lambda: VideoTask.objects.get(pk=task.pk).status == Status.FINAL_REVIEW,
        timeout=150,
        interval=0.5,
        describe=lambda: describe(task, worker),
    )
    task.refresh_from_db()
    checked = storyboard_validate(task.storyboard, source="drafted")
    assert checked["channel"] == "pokechannel1"
    assert "axolotl" in yaml.safe_dump(task.storyboard).lower()
    assert len(checked["scenes"]) == 4  # the channel brief's scene_count
    assert task.title == checked["title"]
    draft = WorkItem.objects.get(task=task, step="draft")
    assert (draft.state, draft.attempts, draft.calls) == (WorkState.DONE, 1, 1)
    cost = VideoCost.objects.get(task=task, component=Component.STORYBOARD)
    assert (cost.provider, cost.usd) == ("local", 0)
    # The brief the writer was given lies in the task's workspace folder.
    brief = yaml.safe_load(paths.draft_brief(task.channel_id, str(task.pk)).read_text())
    assert brief["premise"] == "wildlife documentaries" and brief["default_tags"] == ["nature"]
    events = [(e.from_status, e.to_status) for e in task.events.all()]
    assert events[0] == (Status.DRAFT, Status.QUEUED)  # queued only once the draft was written
    # the production steps made one clip per drafted scene
    assert calls.count("done", "generate_video") == 4


@pytest.fixture
def fake_writer(pipeline_env, tmp_path, fake_media):
    """The fake scripts plus a fake writer (fake_script.py: exit codes on demand) that hands out
    a valid storyboard as its output."""
    scripts = tmp_path / "scripts"
    shutil.copytree(FAKE_SCRIPTS, scripts)
    shutil.copyfile(scripts / "generate_audio.py", scripts / "generate_storyboard.py")
    media = tmp_path / "media"
    shutil.copytree(fake_media, media)
    (media / "template.yaml").write_text(yaml.safe_dump(SAMPLE_STORYBOARD))
    pipeline_env["VIDEOGEN_SCRIPTS_DIR"] = str(scripts)
    pipeline_env["FAKE_MEDIA_DIR"] = str(media)
    return scripts


def test_a_draft_failing_with_exit_65_stays_in_draft_with_the_error_in_its_log(
    pipeline_env, worker, calls, writer_channel, fake_writer
):
    pipeline_env["FAKE_PLAN_GENERATE_STORYBOARD"] = "65,0"  # the second run (a retry) succeeds
    worker.start()
    call_command("draft_task", "--channel", "pokechannel1", "--topic", "axolotls", "--queue")
    task = only_task()

    wait_for(
        lambda: WorkItem.objects.get(task=task, step="draft").state == WorkState.FAILED,
        timeout=60,
        describe=lambda: describe(task, worker),
    )
    task.refresh_from_db()
    assert task.status == Status.DRAFT and task.storyboard == {}
    assert "step draft, unit storyboard: generate_storyboard exited 65 (permanent)" in (
        task.error_log
    )
    assert Alert.objects.filter(title__contains="the draft of", level="ERROR").exists()
    assert calls.count("start", "generate_storyboard") == 1  # a permanent error is not retried
    assert not VideoCost.objects.filter(task=task).exists()
    assert not task.events.exists()  # never queued

    # The cause fixed, the operator drafts it again; asked to queue it, it is then queued.
    call_command("draft_task", "--retry", str(task.pk))
    wait_for(
        lambda: VideoTask.objects.get(pk=task.pk).status != Status.DRAFT,
        timeout=60,
        describe=lambda: describe(task, worker),
    )
    task.refresh_from_db()
    assert task.storyboard["title"] == SAMPLE_STORYBOARD["title"]
    item = WorkItem.objects.get(task=task, step="draft")
    assert (item.state, item.attempts, item.retry_base) == (WorkState.DONE, 2, 1)
    assert calls.count("start", "generate_storyboard") == 2


def test_a_temporary_failure_is_retried_and_the_draft_is_written_once(
    pipeline_env, worker, calls, writer_channel, fake_writer
):
    pipeline_env["FAKE_PLAN_GENERATE_STORYBOARD"] = "75,0"
    worker.start()
    call_command("draft_task", "--channel", "pokechannel1", "--topic", "axolotls")
    task = only_task()

    wait_for(
        lambda: VideoTask.objects.get(pk=task.pk).storyboard != {},
        timeout=60,
        describe=lambda: describe(task, worker),
    )
    task.refresh_from_db()
    assert task.status == Status.DRAFT  # waits for a person to queue it
    assert task.storyboard["title"] == SAMPLE_STORYBOARD["title"]
    assert calls.count("start", "generate_storyboard") == 2
    item = WorkItem.objects.get(task=task, step="draft")
    assert (item.state, item.attempts) == (WorkState.DONE, 2)
    assert VideoCost.objects.filter(task=task).count() == 1
    assert Path(item.output_path) == paths.draft_storyboard(task.channel_id, str(task.pk))


def test_a_gemini_draft_uses_the_channel_key_the_gemini_cap_and_books_its_tokens(
    pipeline_env, worker, writer_channel
):
    key = "channel-gemini-key-123"
    writer_channel.providers = {**LOCAL, "text": "gemini"}
    writer_channel.save()
    channel_secret_set(
        channel=writer_channel, name=SecretName.GEMINI_API_KEY, value=key, actor="test"
    )
    with FakeGemini(api_key=key) as gemini:
        gemini.answer_text(FakeGemini.json_reply(ANSWER, prompt_tokens=3000, output_tokens=5000))
        pipeline_env["GEMINI_API_BASE"] = gemini.url
        pipeline_env.pop("GEMINI_API_KEY", None)  # the channel's own key, from the database
        worker.start()
        call_command("draft_task", "--channel", "pokechannel1", "--topic", "axolotls")
        task = only_task()
        wait_for(
            lambda: VideoTask.objects.get(pk=task.pk).storyboard != {},
            timeout=60,
            describe=lambda: describe(task, worker),
        )
        requests = [r for r in gemini.requests if ":generateContent" in r.path]

    task.refresh_from_db()
    assert task.status == Status.DRAFT
    assert task.storyboard["title"] == "The Secret Life of Axolotls"
    assert len(requests) == 1
    item = WorkItem.objects.get(task=task, step="draft")
    assert (item.provider, item.calls) == ("gemini", 1)
    cost = VideoCost.objects.get(task=task)
    assert (cost.provider, cost.component, cost.unit_name) == ("gemini", "storyboard", "tokens")
    # 3,000 input tokens at $0.75 and 5,000 output tokens at $3.75 per million
    assert cost.units == 8000 and str(cost.usd) == "0.0210"
    assert cost.metadata["estimated"] is False
    # The call ran under a Gemini slot (PROVIDER_CAP_GEMINI), like the image calls.
    assert ProviderSlot.objects.filter(provider="gemini").exists()

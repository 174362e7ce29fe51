"""`manage.py media_prune` (pipeline/retention.py): a published or cancelled video's intermediates
go after its channel's retention, its final and rejected cuts after the second period; the task,
the audit log and the cost ledger stay; --dry-run only prints. Both store backends."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.audit import audit_log_record
from core.media_store import media_key, media_store
from core.models import AuditLog
from costs.models import Component, VideoCost
from costs.services import video_cost_record
from pipeline import paths
from pipeline.models import Video, WorkItem
from pipeline.status import Status
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db

INTERMEDIATES = ["assets/forest.png", "composites/s1.png", "videos/s1.mp4", "videos/s1.raw.mp4",
                 "audio/s1.mp3", "sfx/s1.mp3", "manifest.json"]  # fmt: skip
FINALS = ["final.mp4", "rejected/final-1.mp4"]


@pytest.fixture(params=["local", "bucket"])
def store(request, workspace, settings):
    settings.MEDIA_BUCKET_NAME = ""
    if request.param == "bucket":
        request.getfixturevalue("media_bucket")
    return media_store()


def _published_task(store, *, days_ago, channel=None):
    channel = channel or ChannelFactory(id="prunechannel")
    task = VideoTaskFactory(channel=channel, status=Status.PUBLISHED)
    Video.objects.create(
        task=task, final_path="final.mp4", published_at=timezone.now() - dt.timedelta(days=days_ago)
    )
    project = media_key(paths.project_dir(channel.id, str(task.pk)))
    for name in INTERMEDIATES + FINALS + ["youtube.json"]:
        store.put_bytes(f"{project}/{name}", b"x" * 100)
    store.put_bytes(media_key(paths.published_video(channel.id, str(task.pk))), b"p" * 100)
    item = WorkItem.objects.create(
        task=task, step="videos", unit="s1", script="generate_video", provider="kie"
    )
    video_cost_record(
        work_item=item, attempt=1, component=Component.VIDEO, provider="kie",
        usage={"clip_seconds": 5, "model": "kling/v2-1-standard"},
    )  # fmt: skip
    audit_log_record(actor="alice", action="review_approved", task=task)
    return task, project


def _left(store, project):
    return sorted(key.removeprefix(project + "/") for key, _ in store.keys(project))


def test_it_frees_the_intermediates_after_the_channel_retention_and_keeps_the_rest(store):
    task, project = _published_task(store, days_ago=31)

    call_command("media_prune", stdout=StringIO())

    assert _left(store, project) == sorted(FINALS + ["youtube.json"])
    assert store.exists(media_key(paths.published_video(task.channel_id, str(task.pk))))
    assert VideoCost.objects.filter(task=task).count() == 1
    assert AuditLog.objects.filter(task=task, action="review_approved").count() == 1
    pruned = AuditLog.objects.get(task=task, action="media_pruned")
    assert pruned.metadata["files"] == len(INTERMEDIATES) and pruned.metadata["bytes"] == 700


def test_it_frees_the_final_and_rejected_cuts_after_the_second_period(store):
    task, project = _published_task(store, days_ago=30 + 90 + 1)

    call_command("media_prune", stdout=StringIO())

    assert _left(store, project) == ["youtube.json"]
    assert not store.exists(media_key(paths.published_video(task.channel_id, str(task.pk))))
    assert VideoCost.objects.filter(task=task).count() == 1


def test_it_keeps_everything_within_the_channel_retention(store):
    channel = ChannelFactory(id="keeplonger", keep_intermediates_days=60)
    _, project = _published_task(store, days_ago=31, channel=channel)

    call_command("media_prune", stdout=StringIO())

    assert len(_left(store, project)) == len(INTERMEDIATES + FINALS) + 1


def test_a_dry_run_prints_what_it_would_free_and_changes_nothing(store):
    task, project = _published_task(store, days_ago=31)
    out = StringIO()

    call_command("media_prune", "--dry-run", stdout=out)

    assert f"task {task.pk} (prunechannel): intermediates: 7 files, 700 bytes would free" in (
        out.getvalue()
    )
    assert len(_left(store, project)) == len(INTERMEDIATES + FINALS) + 1
    assert not AuditLog.objects.filter(action="media_pruned").exists()


def test_a_cancelled_video_is_pruned_from_its_cancellation_and_one_in_production_never(store):
    channel = ChannelFactory(id="prunechannel")
    cancelled = VideoTaskFactory(
        channel=channel, status=Status.VIDEO_ERROR,
        cancelled_at=timezone.now() - dt.timedelta(days=40),
    )  # fmt: skip
    running = VideoTaskFactory(channel=channel, status=Status.GENERATING_VIDEO)
    clips = {
        task: media_key(paths.unit_output(channel.id, str(task.pk), "videos", "s1"))
        for task in (cancelled, running)
    }
    for key in clips.values():
        store.put_bytes(key, b"v")

    call_command("media_prune", stdout=StringIO())

    assert not store.exists(clips[cancelled])
    assert store.exists(clips[running])

"""Web and workers on separate machines (issue 19): three processes that share nothing but
PostgreSQL, Redis and the media store, each with a VIDEOGEN_DATA_DIR (and, with the bucket, a
WORKSPACE_ROOT) of its own. The same suite runs with the local folder as the store (one machine's
deployment: the folder is the one thing the processes share besides PostgreSQL and Redis).

One video: worker 1 makes its assets and composites and pays for its clips (each clip's paid raw
output is kept in the store while the clip is finished), and is killed with SIGKILL in the middle
of them; worker 2 finishes the video reusing what worker 1 paid for; the web serves the final cut
with a 206 to a Range request; approval publishes it once, read from the store; media_prune then
frees the intermediates and keeps the final, the audit log and the cost rows."""

import datetime as dt
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.test import Client

from core.media_store import media_key, media_store
from core.models import AuditLog
from costs.models import VideoCost
from pipeline import paths
from pipeline.cut_check import cut_report_load
from pipeline.models import Upload, Video, WorkItem, WorkState
from pipeline.processes import die_with_parent
from pipeline.reconcile import pipeline_reconcile
from pipeline.retention import media_prune
from pipeline.services import video_task_create
from pipeline.status import Status
from reviews.decisions import review_approve
from tests.factories import UserFactory, reviewer_user
from tests.faults.servers import free_port
from tests.pipeline.test_pipeline_worker import status_of, storyboard
from tests.stack import ROOT, Worker, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCENES = 3


@pytest.fixture(params=["bucket", "local"])
def backend(request, settings):
    settings.MEDIA_BUCKET_NAME = ""
    if request.param == "bucket":
        return request.param, request.getfixturevalue("media_bucket")
    return request.param, {}


def _own_environment(base, backend_env, folder, *, shares_workspace):
    """A process's environment: the shared services, and folders of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**base, **backend_env, "VIDEOGEN_DATA_DIR": str(folder)}
    if not shares_workspace:
        env["WORKSPACE_ROOT"] = str(folder / "workspace")
    return env


class WebProcess:
    """The Procfile's web process (gunicorn), one worker, on a free port."""

    def __init__(self, env, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "gunicorn", "videogen.wsgi",
                 "-c", "python:videogen.gunicorn_conf",
                 "--bind", f"127.0.0.1:{self.port}", "--workers", "1"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=die_with_parent,  # an aborted test run leaves no server behind
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        raise RuntimeError(f"web did not start: {log_path.read_text(errors='replace')[-3000:]}")

    def get(self, path, *, session, headers=None):
        request = urllib.request.Request(
            self.url + path, headers={"Cookie": f"sessionid={session}", **(headers or {})}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our server
            return response.status, dict(response.headers), response.read()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            self.process.wait(timeout=20)


def _describe(task, *workers):
    items = list(
        WorkItem.objects.filter(task=task).values_list("step", "unit", "state", "attempts", "error")
    )
    logs = "\n".join(w.log()[-2500:] for w in workers if getattr(w, "log_path", None))
    return f"status={status_of(task)} items={items}\n{logs}"


def _until(task, status, workers, timeout=150):
    def reached():
        pipeline_reconcile()  # what beat does every minute, on demand
        return status_of(task) == status

    wait_for(reached, timeout=timeout, interval=0.5, describe=lambda: _describe(task, *workers))


def _raw_key(task, scene):
    output = paths.unit_output(task.channel_id, str(task.pk), "videos", scene)
    return media_key(output.with_name(f"{output.stem}.raw{output.suffix}"))


def test_it_makes_reviews_and_publishes_a_video_across_processes_that_share_nothing(
    backend, pipeline_env, calls, local_channel, tmp_path, settings
):
    kind, backend_env = backend
    settings.PIPELINE_RECONCILE_GRACE_SECONDS = 2
    shares_workspace = kind == "local"
    base = {
        **pipeline_env,
        "FAKE_KEEP_RAW_GENERATE_VIDEO": "1",
        "FAKE_LATENCY_GENERATE_VIDEO": "8",
        "PROVIDER_CAP_LOCAL": "5",  # every clip at once: each is paid for and in flight
    }
    store = media_store()

    web = WebProcess(
        _own_environment(base, backend_env, tmp_path / "web", shares_workspace=shares_workspace),
        tmp_path / "web.log",
    )
    first = Worker(
        _own_environment(base, backend_env, tmp_path / "w1", shares_workspace=shares_workspace),
        tmp_path / "w1",
    )
    second = Worker(
        _own_environment(base, backend_env, tmp_path / "w2", shares_workspace=shares_workspace),
        tmp_path / "w2",
    )
    try:
        first.start(queues="")  # a plain worker: every queue the pipeline uses
        task = video_task_create(channel=local_channel, storyboard=storyboard(SCENES))
        scenes = [scene["id"] for scene in task.storyboard["scenes"]]

        # Worker 1 has paid for every clip and its paid answers are in the store (its heartbeat
        # stored them): it dies mid-clip, and worker 2 comes up.
        kept = [_raw_key(task, scene) for scene in scenes]
        kept += [f"{key}.json" for key in kept]  # each paid file with its request record
        wait_for(
            lambda: all(store.exists(key) for key in kept),
            timeout=150,
            interval=0.1,
            describe=lambda: _describe(task, first),
        )
        first.kill()
        assert not any(entry["event"] == "done" for entry in calls.entries()
                       if entry["script"] == "generate_video")  # fmt: skip
        second.start(queues="")

        _until(task, Status.FINAL_REVIEW, [second])

        # Units ran on both workers, as the cost ledger says.
        workers = set(
            VideoCost.objects.filter(task=task).values_list("metadata__worker", flat=True)
        )
        assert len(workers - {None, ""}) == 2, workers
        # Every clip was paid for once (by worker 1) and finished once (by worker 2).
        paid = [entry["output"] for entry in calls.entries() if entry["event"] == "paid"]
        reused = [entry for entry in calls.entries() if entry["event"] == "reused"]
        assert len(paid) == len(set(paid)) == SCENES
        assert len(reused) == SCENES
        assert set(calls.completions_per_output().values()) == {1}
        assert not any(store.exists(key) for key in kept)  # used up

        # The web serves the final cut from the store, a Range request with 206.
        final_key = media_key(paths.final_video(task.channel_id, str(task.pk)))
        final = store.read_bytes(final_key)
        staff = UserFactory(username="staff", is_staff=True, is_superuser=True)
        client = Client()
        client.force_login(staff)
        session = client.cookies["sessionid"].value
        status, headers, body = web.get(
            f"/admin/media/{final_key}", session=session, headers={"Range": "bytes=10-109"}
        )
        assert status == 206
        assert headers["Content-Range"] == f"bytes 10-109/{len(final)}"
        assert body == final[10:110]

        # The cut's check report and captions were made on a worker and kept in the store, where
        # the web (no worker's disk) reads them for the review page and the player's track.
        report = cut_report_load(task)
        assert report is not None
        assert not [f for f in report["whole"] if f["kind"] == "unchecked"], report["whole"]
        captions_key = media_key(paths.captions(task.channel_id, str(task.pk), "vtt"))
        status, headers, body = web.get(f"/admin/media/{captions_key}", session=session)
        assert status == 200 and body.startswith(b"WEBVTT")

        review_approve(task_id=task.pk, reviewer=reviewer_user("alice"), notes="good")
        _until(task, Status.PUBLISHED, [second])

        published = media_key(paths.published_video(task.channel_id, str(task.pk)))
        assert store.read_bytes(published) == final
        assert Upload.objects.filter(task=task).count() == 1
        assert (
            WorkItem.objects.get(task=task, step="upload").calls == 1
            and WorkItem.objects.get(task=task, step="upload").state == WorkState.DONE
        )
        if not shares_workspace:
            # No process kept media on its own disk: the units ran in scratch folders.
            for folder in ("web", "w1", "w2"):
                assert not list((tmp_path / folder).glob("workspace/**/*.mp4")), folder
    finally:
        second.stop()
        first.stop()
        web.stop()

    # Retention: 31 days after publishing, the intermediates go; the final, the audit log and the
    # cost rows stay.
    audit_before = AuditLog.objects.filter(task=task).count()
    costs_before = VideoCost.objects.filter(task=task).count()
    Video.objects.filter(task=task).update(
        published_at=Video.objects.get(task=task).published_at - dt.timedelta(days=31)
    )
    project = media_key(paths.project_dir(task.channel_id, str(task.pk)))

    media_prune()

    left = {key.removeprefix(project + "/") for key, _ in store.keys(project)}
    assert "final.mp4" in left
    assert not any(key.startswith(("assets/", "composites/", "videos/", "audio/")) for key in left)
    assert store.exists(published)
    assert AuditLog.objects.filter(task=task).count() == audit_before + 1
    assert VideoCost.objects.filter(task=task).count() == costs_before

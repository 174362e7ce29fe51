"""Fixtures for the control room: users with and without the review permission, tasks at each
gate with real media in the workspace, and many rows for query-count tests."""

import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connections
from django.utils import timezone

from costs.models import VideoCost
from pipeline.models import WorkItem, WorkState
from pipeline.status import Status
from pipeline.steps import STEP_BY_NAME
from tests.factories import ChannelFactory, UserFactory, VideoTaskFactory, ensure_reviewers_group

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def sample_media(tmp_path_factory):
    """A real 2-second H.264 video with sound, a PNG and an MP3, made once per run."""
    import imageio_ffmpeg
    from PIL import Image

    folder = tmp_path_factory.mktemp("admin-media")
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    quiet = ["-hide_banner", "-loglevel", "error", "-y"]
    subprocess.run(
        [ffmpeg, *quiet, "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=2",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-shortest",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-profile:v", "baseline",
         "-c:a", "aac", "-movflags", "+faststart", str(folder / "final.mp4")],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [ffmpeg, *quiet, "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
         str(folder / "audio.mp3")],
        check=True,
    )  # fmt: skip
    Image.new("RGB", (160, 90), (40, 120, 60)).save(folder / "image.png")
    return folder


def _user(username, *, perms=(), groups=(), **extra):
    if "Reviewers" in groups:
        ensure_reviewers_group()
    user = UserFactory(username=username, **extra)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    for group in groups:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def superuser(db):
    return _user("root", is_superuser=True)


@pytest.fixture
def reviewer(db):
    return _user("rita", groups=["Reviewers"])


@pytest.fixture
def viewer(db):
    """Staff who may look at tasks but not decide."""
    return _user("vic", perms=["pipeline.view_videotask", "core.view_auditlog"])


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def reviewer_client(client, reviewer):
    client.force_login(reviewer)
    return client


ALL_STEPS = ("assets", "composites", "videos", "audio", "sfx", "assembly")


def make_outputs(task, sample_media, steps=ALL_STEPS):
    """Every unit of the given steps done, with real media at its output path."""
    source = {".png": "image.png", ".mp4": "final.mp4", ".mp3": "audio.mp3"}
    for step in steps:
        for spec in STEP_BY_NAME[step].units(task):
            spec.output.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sample_media / source[spec.output.suffix], spec.output)
            WorkItem.objects.create(
                task=task, step=step, unit=spec.unit, script=spec.script,
                provider=spec.provider, output_path=str(spec.output), state=WorkState.DONE,
            )  # fmt: skip
    return task


def add_costs(task, rows=((("video", "local", "10", "1.25"),))):
    for component, provider, units, usd in rows:
        VideoCost.objects.create(
            task=task, channel_id=task.channel_id, component=component, provider=provider,
            units=Decimal(units), unit_name="clip_seconds", usd=Decimal(usd),
        )  # fmt: skip


@pytest.fixture
def final_task(db, workspace, sample_media):
    """A task at final review with a real final.mp4 and every unit done."""
    channel = ChannelFactory(id="pokechannel1", name="Poke Channel", review_gates=[])
    task = VideoTaskFactory(
        channel=channel, title="The Secret Life of Bulbasaur", status=Status.FINAL_REVIEW,
        status_changed_at=timezone.now(),
    )  # fmt: skip
    make_outputs(task, sample_media)
    add_costs(task, [("image", "local", "2", "0.08"), ("video", "local", "5", "1.40")])
    return task


# The browser tests drive Debian's Chromium through Playwright (its own browser download cannot
# work here). Locally they skip when /usr/bin/chromium is missing; in CI (CI=true) they fail.
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TIMEOUT_MS = 15_000


@pytest.fixture
def browser(monkeypatch):
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: the browser test must run, but {reason}")
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # ordinary blocking calls between browser steps, which Django would otherwise refuse.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
            # ORM calls made while Playwright's loop runs get connections of their own (Django's
            # connection store is context-local); close them, or the test database cannot be
            # dropped at the end of the run.
            connections.close_all()

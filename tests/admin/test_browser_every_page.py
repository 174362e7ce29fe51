"""Every admin page, with every kind of task the product can make, in a real browser (Debian's
Chromium driven by Playwright) at 1366 and 1920 px wide.

The tasks are made first, through the services where that is how they come to be: a draft to
queue, a draft still being written, a draft whose writer failed, one at each gate, one rejected
with notes only, one redone, one stopped by a failure, one held by YouTube's quota, one
published, one cancelled, with a storyboard edit in the audit log. Then every page is opened
(the control room, every changelist, every task's review page and record, each audit row): any
4xx or 5xx, failed request or unstyled page fails the test; no table may be wider than the
window (a hidden column) and no title may take more than two lines. One screenshot per page and
width goes to artifacts/every-page/.

Locally the test skips when /usr/bin/chromium is missing; in CI (CI=true) it fails instead."""

import json

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from core.models import AuditLog
from pipeline.models import Video, VideoTask, WorkItem, WorkState
from pipeline.publish_local import publish_locally
from pipeline.status import Status
from pipeline.storyboard_edits import storyboard_yaml, task_storyboard_edit
from pipeline.task_actions import task_cancel
from reviews.decisions import review_reject
from tests.admin.conftest import ARTIFACTS, PASSWORD, TIMEOUT_MS, _user, add_costs, make_outputs
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory, VideoTaskFactory, reviewer_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1366, 1920)
UNSTYLED = {"rgba(0, 0, 0, 0)", "transparent"}
HEADER_COLOUR = "getComputedStyle(document.querySelector('#header')).backgroundColor"
# As long as a YouTube title may be (100 characters).
LONG_TITLE = (
    "The Secret Life of Bulbasaur: how the bulb on its back grows through four seasons in the "
    "old forest"
)


def _task(channel, sample_media, title, status, *, steps=(), **fields):
    fields.setdefault("storyboard", {**SAMPLE_STORYBOARD, "title": title[:100]})
    task = VideoTaskFactory(channel=channel, title=title, status=status, **fields)
    make_outputs(task, sample_media, steps)
    VideoTask.objects.filter(pk=task.pk).update(status_changed_at=timezone.now())
    return VideoTask.objects.get(pk=task.pk)


def _draft_unit(task, state, error=""):
    WorkItem.objects.create(
        task=task, step="draft", unit="storyboard", script="generate_storyboard",
        provider="local", output_path="/dev/null", state=state, error=error,
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip


@pytest.fixture
def every_kind_of_task(final_task, sample_media):
    """{name: task}: one of each kind of task the product makes, on two channels."""
    every = ("assets", "composites", "videos", "audio", "sfx", "assembly")
    channel = final_task.channel
    channel.name = "Poké Nature Documentaries"
    channel.review_gates = ["assets", "video", "audio"]
    channel.category_id = "15"
    channel.save()
    other = ChannelFactory(id="otherchannel", name="Ocean Stories", timezone="Europe/Berlin")
    VideoTask.objects.filter(pk=final_task.pk).update(title=LONG_TITLE)
    tasks = {"final": VideoTask.objects.get(pk=final_task.pk)}

    tasks["drafted"] = _task(channel, sample_media, "Squirtle at the shore", Status.DRAFT)
    _draft_unit(tasks["drafted"], WorkState.DONE)
    tasks["drafting"] = _task(other, sample_media, "Whales sing", Status.DRAFT, storyboard={})
    _draft_unit(tasks["drafting"], WorkState.PENDING)
    tasks["draft_failed"] = _task(
        other, sample_media, "Coral at night", Status.DRAFT, storyboard={},
        error_log="step draft: the writer exited 65: the answer was not valid JSON",
    )  # fmt: skip
    _draft_unit(tasks["draft_failed"], WorkState.FAILED, "exit 65")
    tasks["assets_gate"] = _task(channel, sample_media, "Pikachu in the rain", Status.ASSETS_READY,
                                 steps=("assets",))  # fmt: skip
    tasks["video_gate"] = _task(channel, sample_media, "Eevee's first snow", Status.VIDEO_READY,
                                steps=("assets", "composites", "videos"))  # fmt: skip
    tasks["audio_gate"] = _task(channel, sample_media, LONG_TITLE[:92] + " (audio)",
                                Status.AUDIO_READY, steps=every[:4])  # fmt: skip

    tasks["rejected"] = _task(channel, sample_media, "Charmander by the fire",
                              Status.FINAL_REVIEW, steps=every)  # fmt: skip
    rita = reviewer_user("rita")
    review_reject(task_id=tasks["rejected"].pk, reviewer=rita, notes="too dark at s01")
    edited = {**tasks["rejected"].storyboard, "atmosphere": "a bright morning"}
    task_storyboard_edit(task_id=tasks["rejected"].pk, actor="rita", text=storyboard_yaml(edited))

    tasks["redone"] = _task(channel, sample_media, "Jigglypuff sings", Status.FINAL_REVIEW,
                            steps=every)  # fmt: skip
    review_reject(task_id=tasks["redone"].pk, reviewer=rita, notes="s01 is blurred",
                  redo_step="videos", redo_scenes=["s01"])  # fmt: skip

    tasks["failed"] = _task(
        channel, sample_media, "Snorlax sleeps", Status.AUDIO_ERROR, steps=every[:3],
        failed_step="audio", error_log="step audio: s01: generate_audio exited 3 (rate limited)",
    )  # fmt: skip
    WorkItem.objects.create(
        task=tasks["failed"], step="audio", unit="s01", script="generate_audio",
        provider="local", output_path="/dev/null", state=WorkState.FAILED, attempts=3,
        error="exit 3",
    )  # fmt: skip
    tasks["held"] = _task(channel, sample_media, "Mew over the sea", Status.UPLOADING,
                          steps=every, waiting_reason="quota")  # fmt: skip
    VideoTask.objects.filter(pk=tasks["held"].pk).update(next_attempt_at=timezone.now())

    tasks["published"] = _task(channel, sample_media, "Psyduck's headache", Status.PUBLISHED,
                               steps=every)  # fmt: skip
    publish_locally(tasks["published"])
    Video.objects.create(task=tasks["published"], final_path="final.mp4",
                         published_at=timezone.now(), duration_seconds=20.0)  # fmt: skip
    tasks["cancelled"] = _task(other, sample_media, "Dolphins play", Status.VIDEO_READY,
                               steps=every[:3])  # fmt: skip
    task_cancel(task_id=tasks["cancelled"].pk, actor="rita", reason="off topic")
    for task in tasks.values():
        add_costs(task, [("image", "local", "2", "0.08"), ("video", "local", "5", "1.40")])
    return {name: VideoTask.objects.get(pk=task.pk) for name, task in tasks.items()}


def _pages(tasks):
    pages = {
        "index": reverse("admin:index"),
        "queue": reverse("reviews:queue"),
        "dashboard": reverse("dashboard"),
        "spend": reverse("spend"),
        "quota": reverse("quota"),
        "new-video": reverse("admin:pipeline_videotask_new"),
        "compliance": reverse("reviews:compliance"),
    }
    for model in admin.site._registry:
        meta = model._meta
        pages[f"list-{meta.app_label}-{meta.model_name}"] = reverse(
            f"admin:{meta.app_label}_{meta.model_name}_changelist"
        )
    for name, task in tasks.items():
        pages[f"task-{name}"] = reverse("reviews:task", args=[task.pk])
        pages[f"record-{name}"] = reverse("admin:pipeline_videotask_change", args=[task.pk])
    pages["history-rejected"] = reverse("admin:pipeline_videotask_history",
                                        args=[tasks["rejected"].pk])  # fmt: skip
    for entry in AuditLog.objects.order_by("id"):
        pages[f"audit-{entry.pk}-{entry.action}"] = reverse(
            "admin:core_auditlog_change", args=[entry.pk]
        )
    pages["channel"] = reverse("admin:channels_app_channel_change", args=["pokechannel1"])
    return pages


class Problems:
    """Every response of 400 or more, and every request that failed, of the pages opened."""

    def __init__(self, page):
        self.found = []
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def _response(self, response):
        if response.status >= 400:
            self.found.append(f"{response.status} {response.request.resource_type} {response.url}")

    def _failed(self, request):
        # A <video> or <audio> the page does not play may be cut off when the next page opens.
        if request.resource_type != "media":
            self.found.append(f"failed ({request.failure}) {request.resource_type} {request.url}")

    def take(self):
        found, self.found = self.found, []
        return found


# Tables wider than their page (a column pushed out of sight), and title links over two lines.
LAYOUT = """() => {
  const box = t => {
    for (let e = t.parentElement; e; e = e.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(e).overflowX)) return e;
    }
    return document.documentElement;
  };
  const wide = [...document.querySelectorAll('#content table')]
    .filter(t => t.offsetParent)
    .filter(t => {
      const right = Math.min(box(t).getBoundingClientRect().right, window.innerWidth);
      return t.getBoundingClientRect().right > right + 1;
    })
    .map(t => (t.id || t.className || 'table') + ' ends at ' +
         Math.round(t.getBoundingClientRect().right));
  const selector = '.vg-title a, th.field-title a, td.field-title a, .field-title_link a';
  const tall = [...document.querySelectorAll(selector)].filter(a => {
    const lines = a.getClientRects().length;
    return lines > 2;
  }).map(a => a.textContent.slice(0, 40));
  return {wide, tall};
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_every_admin_page_renders_with_every_kind_of_task(
    live_server, browser, every_kind_of_task, width
):
    superuser = _user("root", is_superuser=True)
    folder = ARTIFACTS / "every-page"
    folder.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    problems = Problems(page)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", superuser.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    # Let the page the log-in lands on finish: leaving it mid-load aborts its last icons.
    page.wait_for_load_state("networkidle")

    found, unstyled, layout = {}, [], {}
    if problems.found:
        found["after log-in"] = problems.take()
    for name, path in _pages(every_kind_of_task).items():
        response = page.goto(f"{live_server.url}{path}", wait_until="load")
        assert response.status == 200, f"{name} {path}: {response.status}"
        if page.evaluate(HEADER_COLOUR) in UNSTYLED:
            unstyled.append(name)
        checked = page.evaluate(LAYOUT)
        if checked["wide"] or checked["tall"]:
            layout[name] = checked
        page.screenshot(path=str(folder / f"{width}-{name}.png"), full_page=True)
        if problems.found:
            found[name] = problems.take()

    assert found == {}
    assert unstyled == []
    assert layout == {}, json.dumps(layout, indent=1)

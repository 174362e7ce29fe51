"""The review loop through the admin in a real browser (Debian's Chromium driven by Playwright),
with a real Celery worker on Redis and PostgreSQL behind it: a video reaches final review, the
reviewer rejects it with a redo (one scene ticked, or none), and it comes back to final review by
itself as the second cut, the asked clips made again, the rejected cut linked from the page.

Locally the test skips when /usr/bin/chromium is missing; in CI (CI=true) it fails instead."""

import hashlib
from pathlib import Path

import pytest

from costs.models import VideoCost
from pipeline import paths
from pipeline.models import WorkItem
from pipeline.services import video_task_create
from pipeline.status import ERROR_STATUSES, Status
from tests.admin.conftest import ARTIFACTS, PASSWORD, TIMEOUT_MS, _user
from tests.pipeline.conftest import wait_for
from tests.pipeline.test_pipeline_worker import describe, status_of, storyboard

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def at_final_review(pipeline_env, worker, local_channel):
    """A video made by the real worker, waiting at final review; each run's MP4 is unique."""
    pipeline_env["FAKE_MARK_RUNS"] = "1"
    worker.start()
    task = video_task_create(channel=local_channel, storyboard=storyboard(3))
    wait_for(lambda: status_of(task) == Status.FINAL_REVIEW, timeout=120,
             describe=lambda: describe(task, worker))  # fmt: skip
    return task


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def clip_runs(calls):
    counts = {}
    for entry in calls.entries():
        if entry["event"] == "done" and entry["script"] == "generate_video":
            counts[Path(entry["output"]).stem] = counts.get(Path(entry["output"]).stem, 0) + 1
    return counts


def clip_cost_attempts(task, scene):
    item = WorkItem.objects.get(task=task, step="videos", unit=scene)
    return sorted(VideoCost.objects.filter(work_item=item).values_list("attempt", flat=True))


def open_review_page(browser, live_server, task):
    reviewer = _user("rita", groups=["Reviewers"])
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/review/")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/review/")
    page.click(f"#review-queue >> text={task.title}")
    page.wait_for_url(f"**/admin/review/{task.pk}/")
    return page


def reject_and_wait(page, live_server, task, worker, *, scenes):
    page.fill("#id_notes", "the motion looks wrong")
    page.select_option("#id_redo_step", "videos")
    for scene in scenes:
        page.check(f"#vg-decision input[name=redo_units][value={scene}]")
    page.click("#reject")
    page.wait_for_url("**/admin/review/")
    assert "rejected; it is now Generating Video" in page.inner_text(".messagelist")
    wait_for(lambda: status_of(task) == Status.FINAL_REVIEW, timeout=120,
             describe=lambda: describe(task, worker))  # fmt: skip
    page.goto(f"{live_server.url}/admin/review/")
    row = page.locator("#review-queue tr", has_text=task.title)
    assert "second cut" in row.inner_text()
    assert str(task.pk)[:8] in row.inner_text()
    row.locator("a", has_text=task.title).click()
    page.wait_for_url(f"**/admin/review/{task.pk}/")
    page.wait_for_function(
        "() => { const v = document.querySelector('#final-video');"
        " return v && v.readyState >= 1 && v.duration > 0; }"
    )
    assert page.inner_text("#vg-cut") == "second cut"
    cut = page.locator("#vg-decisions a.vg-rejected-cut")
    assert cut.count() == 1
    response = page.request.get(f"{live_server.url}{cut.get_attribute('href')}")
    assert response.status == 200
    return response.body()


def test_a_reviewer_rejects_one_scene_in_the_browser_and_gets_the_second_cut_back(
    live_server, browser, at_final_review, worker, calls
):
    task = at_final_review
    final = paths.final_video(task.channel_id, str(task.pk))
    first = digest(final)
    page = open_review_page(browser, live_server, task)

    rejected_body = reject_and_wait(page, live_server, task, worker, scenes=["s02"])

    assert clip_runs(calls) == {"s01": 1, "s02": 2, "s03": 1}
    assert clip_cost_attempts(task, "s02") == [1, 2]
    assert clip_cost_attempts(task, "s01") == [1]
    assert digest(final) != first
    assert hashlib.sha256(rejected_body).hexdigest() == first
    assert not task.events.filter(to_status__in=ERROR_STATUSES).exists()
    repeated = page.inner_text("#vg-repeated")
    assert "videos\ts02\t2" in repeated and "assembly\tvideo\t2" in repeated
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-second-cut.png"), full_page=True)


def test_a_reviewer_rejects_with_no_scene_ticked_and_every_clip_is_made_again(
    live_server, browser, at_final_review, worker, calls
):
    task = at_final_review
    first = digest(paths.final_video(task.channel_id, str(task.pk)))
    page = open_review_page(browser, live_server, task)

    reject_and_wait(page, live_server, task, worker, scenes=[])

    assert clip_runs(calls) == {"s01": 2, "s02": 2, "s03": 2}
    for scene in ("s01", "s02", "s03"):
        assert clip_cost_attempts(task, scene) == [1, 2]
    assert digest(paths.final_video(task.channel_id, str(task.pk))) != first

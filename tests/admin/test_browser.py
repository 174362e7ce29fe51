"""The review flow in a real browser (Debian's Chromium driven by Playwright) against a live
server: log in, open the queue, open a task at final review, the <video> loads a real H.264 file
through the media view and can seek, approve with a note, the task moves on, the audit log shows
it. Screenshots of the review page and the cost dashboard go to artifacts/.

Locally the test skips when /usr/bin/chromium is missing; in CI (CI=true) it fails instead."""

import os
from pathlib import Path

import pytest
from django.db import connections

from pipeline.models import VideoTask
from pipeline.status import Status
from reviews.models import AuditLog
from tests.admin.conftest import PASSWORD, _user, add_costs

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

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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


def test_it_reviews_and_approves_a_final_video_in_a_real_browser(live_server, browser, final_task):
    reviewer = _user("rita", groups=["Reviewers"])
    add_costs(final_task, [("narration", "local", "120", "0.03"), ("sfx", "local", "5", "0.02")])
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/review/")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/review/")
    page.click(f"#review-queue >> text={final_task.title}")
    page.wait_for_url(f"**/admin/review/{final_task.pk}/")

    page.wait_for_function(
        "() => { const v = document.querySelector('#final-video');"
        " return v && v.readyState >= 1 && v.duration > 0; }"
    )
    duration = page.evaluate("document.querySelector('#final-video').duration")
    assert 1.5 < duration < 2.5
    seeked_to = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const video = document.querySelector('#final-video');
            video.addEventListener('seeked', () => resolve(video.currentTime), {once: true});
            video.addEventListener('error', () => reject(video.error), {once: true});
            video.currentTime = 1.5;
        })"""
    )
    assert seeked_to == pytest.approx(1.5, abs=0.1)
    page.screenshot(path=str(ARTIFACTS / "review-page.png"), full_page=True)

    page.fill("#id_notes", "Looks great: ship it")
    page.click("#approve")
    page.wait_for_url("**/admin/review/")
    assert "approved" in page.inner_text(".messagelist")

    assert VideoTask.objects.get(pk=final_task.pk).status in {
        Status.APPROVED,
        Status.UPLOADING,
        Status.PUBLISHED,
    }
    entry = AuditLog.objects.get(task=final_task)
    assert (entry.actor, entry.action) == ("rita", "review_approved")

    page.goto(f"{live_server.url}/admin/reviews/auditlog/")
    row = page.inner_text("#result_list tbody tr:first-child")
    assert "rita" in row and "review_approved" in row and "Looks great: ship it" in row

    page.goto(f"{live_server.url}/admin/pipeline/videotask/")
    page.screenshot(path=str(ARTIFACTS / "task-changelist.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/spend/")
    page.wait_for_selector("svg.vg-chart")
    page.screenshot(path=str(ARTIFACTS / "cost-dashboard.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/dashboard/")
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

"""The admin in a real browser (Debian's Chromium driven by Playwright).

- The review flow against a live server: log in, open the queue, open a task at final review,
  the <video> loads a real H.264 file through the media view and can seek, approve with a note,
  the task moves on, the audit log shows it.
- The admin looks like the admin wherever it is served: Django's test server, the Procfile's web
  process (its release step, then gunicorn) and runserver as `make demo` runs it. Every page
  loads every stylesheet, script, image and media file without an error, and the header has the
  admin's colours. One screenshot per page and server goes to artifacts/.

Locally the test skips when /usr/bin/chromium is missing; in CI (CI=true) it fails instead."""

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.urls import reverse

from core.models import AuditLog
from pipeline.models import VideoTask
from pipeline.status import Status
from tests.admin.conftest import ARTIFACTS, PASSWORD, TIMEOUT_MS, _user, add_costs
from tests.faults.servers import free_port
from tests.foundation.test_procfile import _processes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


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

    page.goto(f"{live_server.url}/admin/core/auditlog/")
    row = page.inner_text("#result_list tbody tr:first-child")
    assert "rita" in row and "approved at a gate" in row and "Looks great: ship it" in row

    page.goto(f"{live_server.url}/admin/pipeline/videotask/")
    page.screenshot(path=str(ARTIFACTS / "task-changelist.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/spend/")
    page.wait_for_selector("svg.vg-chart")
    page.screenshot(path=str(ARTIFACTS / "cost-dashboard.png"), full_page=True)
    page.goto(f"{live_server.url}/admin/dashboard/")
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)


# --- Static files, wherever the admin is served -----------------------------------------------

# What makes a page look like the admin; a failed one leaves it unstyled or with black squares.
STATIC_TYPES = {"stylesheet", "script", "image", "media", "font"}
UNSTYLED = {"rgba(0, 0, 0, 0)", "transparent"}
SERVER_START_SECONDS = 60


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class ServerProcess:
    """A server started from a command line, as an operator starts it, on the test database."""

    def __init__(self, name, command, *, port, environment, log_path):
        self.name, self.url, self.log_path = name, f"http://127.0.0.1:{port}", log_path
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                ["/bin/sh", "-c", command],
                cwd=settings.BASE_DIR,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _answers(f"{self.url}/admin/login/"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"{name} did not start: {log_path.read_text(errors='replace')}")
            time.sleep(0.2)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _server_environment(tmp_path, port, workspace):
    db = connection.settings_dict
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_STATIC_ROOT": str(tmp_path / "staticfiles"),
        "PORT": str(port),
        "WORKSPACE_ROOT": str(workspace),  # where the test's media files are
    }


def _release(environment, tmp_path):
    """The static files collected, as the image's build and `make run` do, then the Procfile's
    release step (migrate), as a platform runs it before web."""
    for command in ("python manage.py collectstatic --noinput", _processes()["release"]):
        result = subprocess.run(  # noqa: S603
            ["/bin/sh", "-c", command],
            cwd=settings.BASE_DIR,
            env=environment,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "staticfiles" / "admin" / "css" / "base.css").exists()


@pytest.fixture(params=["test-server", "procfile-web", "demo-runserver"])
def admin_server(request, tmp_path, workspace):
    """(name, base URL) of a server of the admin."""
    if request.param == "test-server":
        yield request.param, request.getfixturevalue("live_server").url
        return
    port = free_port()
    environment = _server_environment(tmp_path, port, workspace)
    _release(environment, tmp_path)
    if request.param == "procfile-web":
        command = _processes()["web"]  # gunicorn, as the Procfile starts it (PORT set above)
    else:
        command = f"python manage.py runserver 127.0.0.1:{port} --noreload"  # as pipeline/demo.py
    server = ServerProcess(
        request.param, command, port=port, environment=environment, log_path=tmp_path / "server.log"
    )
    try:
        yield request.param, server.url
    finally:
        server.stop()


def _admin_pages(final_task):
    pages = {
        "index": reverse("admin:index"),
        "review-queue": reverse("reviews:queue"),
        "review-page": reverse("reviews:task", args=[final_task.pk]),
        "spend": reverse("spend"),
        "dashboard": reverse("dashboard"),
        "quota": reverse("quota"),
        "task-change": reverse("admin:pipeline_videotask_change", args=[final_task.pk]),
        "new-video": reverse("admin:pipeline_videotask_new"),
    }
    for model in admin.site._registry:
        meta = model._meta
        pages[f"{meta.app_label}-{meta.model_name}"] = reverse(
            f"admin:{meta.app_label}_{meta.model_name}_changelist"
        )
    return pages


MEDIA_PAGES = {"review-page", "task-change"}


class StaticProblems:
    """Every static request of a page that answered an error or failed outright."""

    def __init__(self, page):
        self.found = []
        page.on("response", self._response)
        page.on("requestfailed", self._failed)

    def _response(self, response):
        if response.request.resource_type in STATIC_TYPES and response.status >= 400:
            self.found.append(f"{response.status} {response.request.resource_type} {response.url}")

    def _failed(self, request):
        if request.resource_type in STATIC_TYPES:
            self.found.append(f"failed ({request.failure}) {request.resource_type} {request.url}")

    def take(self):
        found, self.found = self.found, []
        return found


def _header_background(page):
    return page.evaluate("getComputedStyle(document.querySelector('#header')).backgroundColor")


def test_it_serves_every_admin_page_with_all_its_static_files(admin_server, browser, final_task):
    name, url = admin_server
    superuser = _user("root", is_superuser=True)
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    problems = StaticProblems(page)

    page.goto(f"{url}/admin/login/", wait_until="networkidle")
    assert _header_background(page) not in UNSTYLED
    page.screenshot(path=str(ARTIFACTS / f"{name}-login.png"), full_page=True)
    found = {"login": problems.take()}
    page.fill("#id_username", superuser.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    # Let the page the log-in lands on finish: leaving it mid-load aborts its last icons, which
    # would be counted against the next page.
    page.wait_for_load_state("networkidle")
    found["after log-in"] = problems.take()

    backgrounds = {}
    for page_name, path in _admin_pages(final_task).items():
        # Pages with media wait for the network to go quiet (a <video> fetches after "load");
        # on the others every stylesheet, script and image has answered by "load".
        wait = "networkidle" if page_name in MEDIA_PAGES else "load"
        response = page.goto(f"{url}{path}", wait_until=wait)
        assert response.status == 200, f"{name} {path}: {response.status}"
        backgrounds[page_name] = _header_background(page)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{page_name}.png"), full_page=True)
        found[page_name] = problems.take()

    assert {page: errors for page, errors in found.items() if errors} == {}
    assert {page: colour for page, colour in backgrounds.items() if colour in UNSTYLED} == {}
    # One colour for every page: the admin's header, not the browser's default.
    assert len(set(backgrounds.values())) == 1, backgrounds

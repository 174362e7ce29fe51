"""The "New video" form in a real browser (Debian's Chromium via Playwright, as in
test_browser.py): from the task list to a draft the writer drafts."""

import pytest

from pipeline.models import VideoTask
from pipeline.status import Status
from tests.admin.conftest import ARTIFACTS, PASSWORD, TIMEOUT_MS, _user
from tests.factories import ChannelFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_operator_starts_a_video_from_a_topic_in_the_browser(
    live_server,
    browser,
    workspace,
):
    ChannelFactory(id="pokechannel1")
    operator = _user("olga", is_superuser=True)
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)

    page.goto(f"{live_server.url}/admin/login/?next=/admin/pipeline/videotask/")
    page.fill("#id_username", operator.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/pipeline/videotask/")
    page.click("#vg-new-video")
    page.wait_for_url("**/admin/pipeline/videotask/new/")

    page.click("#vg-new-video-form input[type=submit]")  # nothing filled in
    assert "This field is required." in page.inner_text("#vg-new-video-form")
    page.select_option("#id_channel", "pokechannel1")
    page.fill("#id_topic", "the secret life of axolotls")
    page.fill("#id_direction", "end on a regrown limb")
    page.select_option("#id_priority", "high")
    page.fill("#id_scenes", "6")
    page.screenshot(path=str(ARTIFACTS / "new-video-form.png"), full_page=True)
    page.click("#vg-new-video-form input[type=submit]")
    page.wait_for_url("**/admin/review/*/")  # the draft's page, where it is read and queued

    assert "the writer is drafting its storyboard" in page.inner_text(".messagelist")
    assert page.is_visible("#vg-drafting")
    task = VideoTask.objects.get()
    assert (task.status, task.topic, task.priority, task.draft_scenes) == (
        Status.DRAFT, "the secret life of axolotls", "high", 6,
    )  # fmt: skip
    assert str(task.pk) in page.url

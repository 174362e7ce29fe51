"""The compliance report in a real browser (Debian's Chromium): the admin's form, then the
printable report of a channel with a published, a redone-then-published and a cancelled video, at
1366 and 1920 px, with no failed request; screenshots saved in artifacts/."""

import pytest
from django.utils import timezone

from tests.admin.conftest import ARTIFACTS, PASSWORD, TIMEOUT_MS, _user
from tests.admin.test_compliance_report import channel_history  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1366, 1920])
def test_an_auditor_makes_the_report_of_a_channel_in_the_browser(
    live_server,
    browser,
    channel_history,  # noqa: F811
    width,
):
    auditor = _user("audrey", is_superuser=True)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/review/compliance/")
    page.fill("#id_username", auditor.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/review/compliance/")
    today = timezone.now().date().isoformat()
    page.select_option("#id_channel", "poke")
    page.fill("#id_start", today)
    page.fill("#id_end", today)
    page.select_option("#id_format", "html")
    page.screenshot(path=str(ARTIFACTS / f"compliance-form-{width}.png"), full_page=True)
    page.click("input[type=submit]")
    page.wait_for_selector("section.video")

    text = page.inner_text("body")
    assert "Compliance report: Poké Nature Documentaries" in text
    assert page.locator("section.video").count() == 3
    assert "differs from the approved cut" not in text
    page.screenshot(path=str(ARTIFACTS / f"compliance-report-{width}.png"), full_page=True)
    assert failed == []

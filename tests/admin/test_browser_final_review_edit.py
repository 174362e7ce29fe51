"""Final review in a real browser (Debian's Chromium via Playwright) on a video the real worker
made: what goes to YouTube is shown, an over-limit description is refused in the form with the
field named, title/description/tags and the thumbnail are edited, the storyboard editor refuses
bad YAML inline, and "redo what changed" after a motion edit makes that clip and the cut again.
Every stylesheet, script, image and media request of these pages must succeed.

Locally the test skips when /usr/bin/chromium is missing; in CI (CI=true) it fails instead."""

import pytest

from core.models import AuditLog
from pipeline.models import VideoTask
from pipeline.status import Status
from tests.admin.conftest import ARTIFACTS
from tests.admin.test_browser import StaticProblems
from tests.admin.test_browser_review_loop import (  # noqa: F401 - fixtures
    at_final_review,
    clip_runs,
    open_review_page,
)
from tests.pipeline.conftest import wait_for
from tests.pipeline.test_pipeline_worker import describe, status_of

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def reload(page):
    page.reload(wait_until="networkidle")


def test_final_review_shows_and_edits_what_goes_to_youtube_and_redoes_what_changed(
    live_server,
    browser,  # noqa: F811 - the fixture imported above
    at_final_review,  # noqa: F811
    worker,
    calls,
):
    task = at_final_review
    page = open_review_page(browser, live_server, task)
    problems = StaticProblems(page)
    reload(page)

    publication = page.inner_text("#vg-publication")
    assert "The Secret Life of Bulbasaur" in page.inner_text("#vg-pub-title")
    assert "(28 / 100 characters)" in publication
    assert page.inner_text("#vg-pub-synthetic") == "yes (disclosed to viewers)"
    assert "a frame a third into the final video" in page.inner_text("#vg-pub-thumbnail")
    assert "motion: slow dolly in" in page.input_value("#id_storyboard")
    shot(page, "final-review-metadata")

    page.fill("#id_description", "é" * 2600)
    page.click("#save-metadata")
    page.wait_for_load_state("networkidle")
    assert "storyboard: description: 5,200 bytes, YouTube allows 5,000 (UTF-8)" in page.inner_text(
        "#vg-metadata-errors"
    )
    assert page.input_value("#id_description") == "é" * 2600  # what was typed stays
    shot(page, "final-review-metadata-refused")

    page.fill("#id_title", "Bulbasaur at dawn")
    page.fill("#id_description", "A morning in the forest.")
    page.fill("#id_tags", "bulbasaur\nnature documentary")
    page.click("#save-metadata")
    page.wait_for_load_state("networkidle")
    page.wait_for_url(f"**/admin/review/{task.pk}/")
    assert "saved" in page.inner_text(".messagelist")
    assert page.inner_text("#vg-pub-tags-counted").startswith("30 / 458 characters")
    assert "Bulbasaur at dawn" in page.inner_text("#vg-pub-title")

    page.select_option("#id_thumbnail", "s02")
    page.click("#save-thumbnail")
    page.wait_for_url(f"**/admin/review/{task.pk}/")
    page.wait_for_load_state("networkidle")
    thumbnail = page.locator("#vg-pub-thumbnail img")
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "scene s02's composite" in page.inner_text("#vg-pub-thumbnail")

    page.fill("#id_storyboard", "title: [unclosed\n")
    page.click("#save-storyboard")
    page.wait_for_load_state("networkidle")
    assert "storyboard: line 2, column 1: invalid YAML" in page.inner_text("#vg-storyboard-errors")
    shot(page, "storyboard-editor-refused")

    page.goto(f"{live_server.url}/admin/review/{task.pk}/", wait_until="networkidle")
    text = page.input_value("#id_storyboard")
    page.fill("#id_storyboard", text.replace("motion: slow dolly in", "motion: slow pan", 1))
    page.click("#save-storyboard")
    page.wait_for_url(f"**/admin/review/{task.pk}/")
    page.wait_for_load_state("networkidle")
    units = page.inner_text("#vg-redo-changed-units")
    assert "videos: s01" in units and "assembly: the final video" in units
    assert "composites" not in units and "audio" not in units
    shot(page, "final-review-redo-what-changed")

    page.click("#redo-changed")
    page.wait_for_url("**/admin/review/")
    wait_for(lambda: status_of(task) == Status.FINAL_REVIEW, timeout=120,
             describe=lambda: describe(task, worker))  # fmt: skip

    assert clip_runs(calls) == {"s01": 2, "s02": 1, "s03": 1}
    assert problems.take() == []
    edits = AuditLog.objects.filter(task=task, action="storyboard_edit").count()
    assert edits == 3  # metadata, thumbnail, motion; the refused ones saved nothing
    assert VideoTask.objects.get(pk=task.pk).storyboard["thumbnail"] == "s02"

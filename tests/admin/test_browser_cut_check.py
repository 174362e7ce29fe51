"""The final review page of a flawed cut in a real browser (Debian's Chromium), at 1366 and
1920 px: the automatic check's report on top, the flagged moments on the player's timeline
(a click seeks there), the flagged scenes pre-ticked for a redo, and the captions as a track
the player loads. Screenshots go to artifacts/."""

import shutil

import pytest
from django.utils import timezone

from pipeline import paths
from pipeline.final_cut import cut_prepare
from pipeline.models import Video
from pipeline.status import Status
from tests.admin.conftest import ARTIFACTS, PASSWORD, TIMEOUT_MS, _user
from tests.admin.test_browser import StaticProblems
from tests.factories import SAMPLE_STORYBOARD, ChannelFactory, VideoTaskFactory
from tests.viewer.conftest import make_flawed_cut

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NARRATIONS = {
    "s01": "In the heart of the forest, something stirs.",
    "s02": "Bulbasaur sets out at first light.",
    "s03": "It is not alone.",
}


@pytest.fixture
def flawed_task(workspace, tmp_path):
    channel = ChannelFactory(id="viewerchannel", name="Viewer Channel", review_gates=[])
    scene = SAMPLE_STORYBOARD["scenes"][0]
    storyboard = {
        **SAMPLE_STORYBOARD,
        "scenes": [{**scene, "id": key, "narration": text} for key, text in NARRATIONS.items()],
    }
    task = VideoTaskFactory(
        channel=channel, title="The Secret Life of Bulbasaur", storyboard=storyboard,
        status=Status.FINAL_REVIEW, status_changed_at=timezone.now(),
    )  # fmt: skip
    final, _ = make_flawed_cut(tmp_path)
    target = paths.final_video(channel.pk, str(task.pk))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(final, target)
    shutil.copyfile(tmp_path / "final.cut.json", paths.cut_record(channel.pk, str(task.pk)))
    Video.objects.create(task=task, final_path=str(target), size_bytes=target.stat().st_size)
    report, stop = cut_prepare(task)  # what the pipeline runs when the cut is ready
    assert report["flagged_scenes"] == ["s02", "s03"] and stop == ""
    return task


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_the_review_page_shows_the_check_on_the_timeline_and_the_captions(
    live_server, browser, flawed_task, width, height
):
    task = flawed_task
    reviewer = _user("rita", groups=["Reviewers"])
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(TIMEOUT_MS)
    problems = StaticProblems(page)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/review/{task.pk}/")
    page.fill("#id_username", reviewer.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**/admin/review/{task.pk}/")
    page.wait_for_load_state("networkidle")

    check = page.locator("#vg-cut-check")
    assert "flagged 2 scenes and the whole cut" in check.inner_text()
    findings = page.inner_text("#vg-check-findings")
    assert "s02 at 5.0 s: black picture (2.0 s of black)" in findings
    assert "s03 at 9.0 s: clip slowed and its last frame held" in findings
    assert "integrated loudness off target" in findings
    # On top: above the player.
    assert check.bounding_box()["y"] < page.locator("#final-video").bounding_box()["y"]

    marks = page.locator("#vg-cut-marks button")
    assert marks.count() >= 3
    black = page.locator("#vg-cut-marks button[title^='s02: black']")
    box, bar = black.bounding_box(), page.locator("#vg-cut-marks").bounding_box()
    assert box["y"] > page.locator("#final-video").bounding_box()["y"]
    assert abs((box["x"] - bar["x"]) / bar["width"] - 5 / 12) < 0.02
    black.click()
    assert abs(page.evaluate("document.getElementById('final-video').currentTime") - 5.0) < 0.1

    ticked = page.eval_on_selector_all(
        "#vg-decision input[name=redo_units]:checked", "boxes => boxes.map(box => box.value)"
    )
    assert ticked == ["s02", "s03"]

    cues = page.evaluate(
        """() => new Promise((resolve) => {
            const track = document.getElementById('final-video').textTracks[0];
            track.mode = 'showing';
            const read = () => track.cues && track.cues.length
                ? resolve(Array.from(track.cues).map(cue => [cue.startTime, cue.text]))
                : setTimeout(read, 50);
            read();
        })"""
    )
    # Wrapped at about 42 characters a line.
    assert cues[0] == [0.0, "In the heart of the forest, something\nstirs."]
    assert [start for start, _ in cues] == [0.0, 4.0, 8.0]
    # A frame with its caption, for the screenshots: the marks sit under the player's own bar.
    page.evaluate(
        """() => new Promise((resolve) => {
            const video = document.getElementById('final-video');
            video.addEventListener('seeked', () => resolve(), {once: true});
            video.currentTime = 4.5;
        })"""
    )
    assert bar["width"] == pytest.approx(page.locator("#final-video").bounding_box()["width"], 1)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / f"cut-check-{width}.png"), full_page=False)
    page.locator("#vg-final").screenshot(path=str(ARTIFACTS / f"cut-check-player-{width}.png"))
    # A seek cancels the player's request in flight (ERR_ABORTED); nothing may answer an error.
    assert [p for p in problems.take() if not p.startswith("failed (net::ERR_ABORTED) media")] == []

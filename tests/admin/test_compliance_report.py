"""The compliance report of a channel for a period, with a published, a redone-then-published
and a cancelled video, in CSV, JSON and HTML, each field checked against the database; the HTML
page opened in Chromium and saved as a screenshot."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from core.audit import audit_log_record
from pipeline.models import Upload, Video
from pipeline.status import Status
from reviews.models import Review
from tests.admin.conftest import add_costs
from tests.factories import ChannelFactory, VideoTaskFactory

pytestmark = pytest.mark.django_db

APPROVED_A, APPROVED_B, REJECTED_B = "a" * 64, "b" * 64, "c" * 64
FLAGS = {"containsSyntheticMedia": True, "selfDeclaredMadeForKids": False}


def _published(task, *, sha, video_id):
    Video.objects.create(
        task=task, final_path="final.mp4", youtube_video_id=video_id, published_at=timezone.now()
    )
    Upload.objects.create(task=task, quota_project="default", video_id=video_id, sha256=sha,
                          disclosure=FLAGS, state="done")  # fmt: skip
    task.status = Status.PUBLISHED
    task.save(update_fields=["status"])


def _decide(task, decision, who, sha, notes, via="admin", redo_step=""):
    Review.objects.create(
        task=task, gate="final", decision=decision, reviewer_name=who, notes=notes,
        cut_sha256=sha, via=via, redo_step=redo_step,
    )  # fmt: skip
    units = {redo_step: ["s02"], "assembly": ["video"]} if redo_step else {}
    audit_log_record(
        actor=who, action=f"review_{decision}", task=task, notes=notes,
        metadata={"via": via, "redo_step": redo_step, "redo_units": units},
    )  # fmt: skip


@pytest.fixture
def channel_history():
    channel = ChannelFactory(id="poke", name="Poké Nature Documentaries")
    published = VideoTaskFactory(channel=channel, title="Bulbasaur at Dawn", topic="bulbasaur")
    audit_log_record(actor="writer-ann", action="task_draft_create", task=published)
    audit_log_record(actor="eddie", action="storyboard_edit", task=published)
    add_costs(published, [("video", "kie", "5", "1.40")])
    _decide(published, "approved", "rita", APPROVED_A, "good", via="command line")
    _published(published, sha=APPROVED_A, video_id="yt-aaaa")

    redone = VideoTaskFactory(channel=channel, title="Charmander's Tail", topic="charmander")
    add_costs(redone, [("video", "kie", "5", "1.40")])
    _decide(redone, "rejected", "rita", REJECTED_B, "s02 too dark", redo_step="videos")
    add_costs(redone, [("video", "kie", "5", "0.70"), ("assembly", "ffmpeg", "1", "0")])
    _decide(redone, "approved", "sam", APPROVED_B, "better", via="Notion")
    _published(redone, sha=APPROVED_B, video_id="yt-bbbb")

    cancelled = VideoTaskFactory(channel=channel, title="Squirtle", cancelled_at=timezone.now())
    audit_log_record(actor="olga", action="task_cancel", task=cancelled)

    other = VideoTaskFactory(channel=ChannelFactory(id="cats"), title="Not this channel")
    _published(other, sha="d" * 64, video_id="yt-cccc")
    return channel, published, redone, cancelled


def _report(fmt, channel="poke"):
    out = io.StringIO()
    today = timezone.now().date().isoformat()
    call_command("compliance_report", "--channel", channel, "--from", today, "--to", today,
                 "--format", fmt, stdout=out)  # fmt: skip
    return out.getvalue()


def test_the_json_report_holds_each_videos_evidence_as_the_database_does(channel_history):
    channel, published, redone, cancelled = channel_history

    report = json.loads(_report("json"))

    assert report["channel_name"] == "Poké Nature Documentaries"
    videos = {video["task_id"]: video for video in report["videos"]}
    assert set(videos) == {str(published.pk), str(redone.pk), str(cancelled.pk)}
    first = videos[str(published.pk)]
    assert (first["outcome"], first["topic"], first["drafted_by"]) == (
        "published",
        "bulbasaur",
        "writer-ann",
    )
    assert first["edited_by"] == ["eddie"]
    assert [(d["reviewer"], d["via"], d["cut_sha256"]) for d in first["decisions"]] == [
        ("rita", "command line", APPROVED_A)
    ]
    assert (
        first["approved_sha256"]
        == first["uploaded_sha256"]
        == Upload.objects.get(task=published).sha256
    )
    assert first["same_file"] is True
    assert (first["contains_synthetic_media"], first["made_for_kids"]) == (True, False)
    assert first["youtube_video_id"] == "yt-aaaa"
    assert first["published_at"] == Video.objects.get(task=published).published_at.isoformat(
        timespec="seconds"
    )
    second = videos[str(redone.pk)]
    assert [d["decision"] for d in second["decisions"]] == ["rejected", "approved"]
    [redo] = second["redos"]
    assert (redo["by"], redo["step"], Decimal(redo["usd"])) == ("rita", "videos", Decimal("0.70"))
    assert "videos: s02" in redo["units"]
    assert Decimal(second["total_usd"]) == Decimal("2.10")
    assert second["approved_sha256"] == APPROVED_B and second["same_file"] is True
    third = videos[str(cancelled.pk)]
    assert (third["outcome"], third["youtube_video_id"], third["uploaded_sha256"]) == (
        "cancelled",
        "",
        "",
    )


def test_the_csv_report_has_one_row_per_video(channel_history):
    _, published, redone, cancelled = channel_history

    rows = list(csv.DictReader(io.StringIO(_report("csv"))))

    assert [row["task_id"] for row in rows] == [
        str(published.pk),
        str(redone.pk),
        str(cancelled.pk),
    ]
    assert Decimal(rows[1]["redo_usd"]) == Decimal("0.70")
    assert (
        "rejected by rita via admin" in rows[1]["decisions"]
        and "approved by sam via Notion" in rows[1]["decisions"]
    )
    assert rows[0]["same_file"] == "True" and rows[2]["outcome"] == "cancelled"


def test_the_html_report_prints_every_video(channel_history):
    html = _report("html")

    assert html.count('<section class="video">') == 3
    assert "Bulbasaur at Dawn" in html and "Charmander&#x27;s Tail" in html and "Squirtle" in html
    assert APPROVED_A in html and "Not this channel" not in html


def test_it_names_a_wrong_channel_or_date():
    with pytest.raises(CommandError, match="--channel nope: no such channel"):
        _report("csv", channel="nope")
    with pytest.raises(CommandError, match="--from: expected a date"):
        call_command("compliance_report", "--channel", "x", "--from", "March", "--to", "2026-01-01")


def test_the_admin_gives_the_same_report(admin_client, channel_history):
    channel, *_ = channel_history
    today = timezone.now().date().isoformat()
    url = reverse("reviews:compliance")

    form = admin_client.get(url)
    as_csv = admin_client.get(
        url, {"channel": "poke", "start": today, "end": today, "format": "csv"}
    )

    assert form.status_code == 200 and "Poké Nature Documentaries" in form.content.decode()
    assert as_csv["Content-Disposition"].startswith('attachment; filename="compliance-poke-')
    assert as_csv.content.decode() == _report("csv")

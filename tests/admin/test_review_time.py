"""How long each decision took (reviews/review_time.py): from the review page opening (a signed
stamp in its form) to the decision, kept on the Review; the dashboard shows minutes of review
per published video, per channel and reviewer."""

import re
import time

import pytest
from django.urls import reverse

from pipeline.models import Video
from reviews import review_time
from reviews.models import Review

pytestmark = pytest.mark.django_db


def opened_stamp_on_page(client, task):
    page = client.get(reverse("reviews:task", args=[task.pk])).content.decode()
    return re.search(r'name="opened" value="([^"]+)"', page).group(1)


def decide(client, task, opened, **data):
    return client.post(
        reverse("reviews:decide", args=[task.pk]),
        {"visit": task.status_changed_at.isoformat(), "opened": opened, **data},
    )


def test_it_records_the_seconds_from_opening_the_page_to_the_decision(
    reviewer_client, final_task, monkeypatch
):
    opened = opened_stamp_on_page(reviewer_client, final_task)
    later = time.time() + 125
    monkeypatch.setattr(review_time.time, "time", lambda: later)

    response = decide(reviewer_client, final_task, opened, decision="approve", notes="fine")

    assert response.status_code == 302
    assert Review.objects.get().seconds_taken == 125


def test_a_forged_or_another_tasks_stamp_records_no_time(reviewer_client, final_task):
    forged = opened_stamp_on_page(reviewer_client, final_task)[:-2] + "xx"
    decide(reviewer_client, final_task, forged, decision="reject_stop", notes="too dark")
    assert Review.objects.get().seconds_taken is None
    other = review_time.opened_stamp(type("Other", (), {"pk": "another-task"})())
    assert review_time.seconds_since_opened(other, final_task) is None


def test_the_dashboard_shows_minutes_of_review_per_published_video(
    reviewer_client, final_task, monkeypatch
):
    opened = opened_stamp_on_page(reviewer_client, final_task)
    later = time.time() + 270  # 4.5 minutes
    monkeypatch.setattr(review_time.time, "time", lambda: later)
    decide(reviewer_client, final_task, opened, decision="approve", notes="fine")
    Video.objects.update_or_create(
        task=final_task, defaults={"final_path": "x", "youtube_video_id": "abc123def45"}
    )

    page = reviewer_client.get(reverse("dashboard")).content.decode()

    section = page[page.index('id="vg-review-time"') :]
    row = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", section.split("</tr>")[1]))
    assert row.split() == ["pokechannel1", "rita", "1", "4.5", "1", "4.5"]

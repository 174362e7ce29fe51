"""One queue for everything that waits for a person: reviews, drafts to queue, tasks stopped in
an error column, tasks held by budget or quota; each acted on from its own page."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from pipeline.models import VideoTask
from pipeline.status import Status
from tests.factories import VideoTaskFactory

pytestmark = pytest.mark.django_db


def _post(client, name, task, **data):
    task.refresh_from_db()
    return client.post(
        reverse(name, args=[task.pk]), {"visit": task.status_changed_at.isoformat(), **data}
    )


def _row(page, task):
    """The queue's row of a task, as text."""
    start = page.index(f'href="/admin/review/{task.pk}/"')
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


@pytest.fixture
def draft(final_task):
    return VideoTaskFactory(
        channel=final_task.channel, title="Squirtle at the Shore", status=Status.DRAFT,
        status_changed_at=timezone.now(),
    )  # fmt: skip


def test_a_stopped_task_and_a_draft_wait_in_the_queue_and_are_acted_on_from_there(
    reviewer_client, final_task, draft
):
    _post(reviewer_client, "reviews:decide", final_task, decision="reject_stop", notes="too dark")

    queue = reviewer_client.get(reverse("reviews:queue")).content.decode()

    assert "Nothing is waiting" not in queue
    stopped_row, draft_row = _row(queue, final_task), _row(queue, draft)
    assert "stopped" in stopped_row and "redo or cancel" in stopped_row
    assert "retry" not in stopped_row
    assert "Rejected at final by rita: too dark" in stopped_row
    assert "draft to queue" in draft_row and "queue, edit or cancel" in draft_row
    assert "Waiting for you" in queue and 'class="vg-count vg-count-some">2<' in queue

    stopped_page = reviewer_client.get(reverse("reviews:task", args=[final_task.pk]))
    page = stopped_page.content.decode()
    assert 'id="redo"' in page and 'id="cancel-task"' in page
    assert "rejected it with notes only" in page and "(at step" not in page
    draft_page = reviewer_client.get(reverse("reviews:task", args=[draft.pk])).content.decode()
    assert 'id="queue-draft"' in draft_page and 'id="save-storyboard"' in draft_page

    queued = _post(reviewer_client, "reviews:next", draft, decision="queue")
    redone = _post(reviewer_client, "reviews:next", final_task, decision="redo",
                   redo_step="videos", redo_units=["s01"])  # fmt: skip

    draft.refresh_from_db()
    final_task.refresh_from_db()
    assert draft.status in (Status.QUEUED, Status.CLAIMED)
    assert final_task.status == Status.GENERATING_VIDEO
    assert ("success", "'Squirtle at the Shore' queued.") in [
        (m.level_tag, str(m)) for m in get_messages(queued.wsgi_request)
    ]
    assert redone.status_code == 302
    queue = reviewer_client.get(reverse("reviews:queue")).content.decode()
    assert "Nothing is waiting for you" in queue


def test_queueing_a_draft_twice_does_nothing_the_second_time_and_says_so(reviewer_client, draft):
    visit = draft.status_changed_at.isoformat()
    url = reverse("reviews:next", args=[draft.pk])
    reviewer_client.post(url, {"visit": visit, "decision": "queue"})
    VideoTask.objects.filter(pk=draft.pk).update(status_changed_at=draft.status_changed_at)

    again = reviewer_client.post(url, {"visit": visit, "decision": "queue"})

    assert ("success", "'Squirtle at the Shore' was already queued; nothing was done.") in [
        (m.level_tag, str(m)) for m in get_messages(again.wsgi_request)
    ]


def test_a_task_stopped_by_a_failure_offers_retry_and_retries_from_the_queue(
    reviewer_client, final_task
):
    VideoTask.objects.filter(pk=final_task.pk).update(
        status=Status.AUDIO_ERROR, failed_step="audio", error_log="step audio: s02: exit 3"
    )
    queue = reviewer_client.get(reverse("reviews:queue")).content.decode()
    assert "step audio: s02: exit 3" in _row(queue, final_task)
    page = reviewer_client.get(reverse("reviews:task", args=[final_task.pk])).content.decode()
    assert 'id="retry"' in page and "step audio failed" in page

    _post(reviewer_client, "reviews:next", final_task, decision="retry")

    final_task.refresh_from_db()
    assert final_task.status == Status.GENERATING_AUDIO


def test_a_task_held_by_quota_waits_in_the_queue_with_the_reason(reviewer_client, final_task):
    VideoTask.objects.filter(pk=final_task.pk).update(
        status=Status.UPLOADING, waiting_reason="quota", next_attempt_at=timezone.now()
    )

    queue = reviewer_client.get(reverse("reviews:queue")).content.decode()

    assert "held by YouTube&#x27;s daily quota" in _row(queue, final_task)

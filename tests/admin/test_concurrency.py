"""Two reviewers approve the same task at the same moment, through the review page, on real
PostgreSQL transactions: exactly one Review and one AuditLog row; the other is told why."""

import threading

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.urls import reverse

from core.models import AuditLog
from pipeline.models import VideoTask
from pipeline.status import Status
from reviews.models import Review
from tests.admin.conftest import _user
from tests.factories import ChannelFactory, VideoTaskFactory


@pytest.mark.django_db(transaction=True)
def test_it_records_exactly_one_approval_when_two_reviewers_approve_at_once(workspace):
    task = VideoTaskFactory(channel=ChannelFactory(id="race"), status=Status.FINAL_REVIEW)
    reviewers = [_user(name, groups=["Reviewers"]) for name in ("ann", "ben")]
    url = reverse("reviews:decide", args=[task.pk])
    data = {"decision": "approve", "notes": "go", "visit": task.status_changed_at.isoformat()}
    start = threading.Barrier(len(reviewers))
    outcomes = {}

    def approve(user):
        client = Client()
        client.force_login(user)
        try:
            start.wait(timeout=10)
            response = client.post(url, data)
            outcomes[user.username] = [
                (m.level_tag, str(m)) for m in get_messages(response.wsgi_request)
            ]
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert VideoTask.objects.get(pk=task.pk).status == Status.APPROVED
    assert Review.objects.filter(task=task).count() == 1
    assert AuditLog.objects.filter(task=task, action="review_approved").count() == 1
    levels = sorted(messages[0][0] for messages in outcomes.values())
    assert levels == ["error", "success"]
    [loser] = [messages[0][1] for messages in outcomes.values() if messages[0][0] == "error"]
    # Whichever check the later one meets first (the page's visit, the service's read, or the
    # conditional UPDATE itself), it is told that nothing was recorded.
    assert any(
        reason in loser
        for reason in ("already decided by someone else", "not waiting for review", "changed since")
    )

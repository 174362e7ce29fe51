"""Review decisions are append-only in the database itself, like the audit log: on PostgreSQL
UPDATE, DELETE and TRUNCATE of reviews_review are refused, by raw SQL and through the ORM."""

import pytest
from django.db import DatabaseError, connection, transaction

from pipeline.status import Status
from reviews.models import Decision, Review
from tests.factories import VideoTaskFactory

APPEND_ONLY = "reviews_review is append-only"


@pytest.fixture
def review(db):
    task = VideoTaskFactory(status=Status.APPROVED)
    return Review.objects.create(
        task=task, gate="final", decision=Decision.APPROVED, reviewer_name="ada", notes="good"
    )


def _refused(sql, params=()):
    with pytest.raises(DatabaseError) as caught, transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    return str(caught.value)


def test_it_refuses_an_update_of_a_decision(review):
    message = _refused("UPDATE reviews_review SET decision = 'rejected' WHERE id = %s", [review.pk])

    assert APPEND_ONLY in message and "UPDATE" in message
    assert Review.objects.get(pk=review.pk).decision == Decision.APPROVED


def test_it_refuses_a_delete_of_a_decision(review):
    message = _refused("DELETE FROM reviews_review WHERE id = %s", [review.pk])

    assert APPEND_ONLY in message and "DELETE" in message
    assert Review.objects.filter(pk=review.pk).exists()


def test_it_refuses_a_truncate_of_the_decisions(review):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    message = _refused("TRUNCATE reviews_review CASCADE")

    assert APPEND_ONLY in message and "TRUNCATE" in message
    assert Review.objects.filter(pk=review.pk).exists()


def test_it_refuses_changes_through_the_orm_too(review):
    with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic():
        Review.objects.filter(pk=review.pk).update(notes="rewritten")
    with pytest.raises(DatabaseError, match=APPEND_ONLY), transaction.atomic():
        Review.objects.filter(pk=review.pk).delete()

    assert Review.objects.get(pk=review.pk).notes == "good"

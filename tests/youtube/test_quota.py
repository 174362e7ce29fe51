"""The quota ledger: Pacific days (with daylight-saving changes), buckets, alerts, quotaExceeded."""

import datetime as dt

import pytest

from core.models import Alert
from costs.models import YouTubeQuotaUsage
from costs.quota import (
    QuotaUnavailable,
    next_reset,
    pacific_date,
    quota_record_exceeded,
    quota_reserve,
)

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def at(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        # Winter (PST, UTC-8): one minute before midnight Pacific, then just after it.
        (at(2026, 1, 15, 7, 59), at(2026, 1, 15, 8, 0)),
        (at(2026, 1, 15, 8, 0), at(2026, 1, 16, 8, 0)),
        # Summer (PDT, UTC-7).
        (at(2026, 7, 1, 6, 59), at(2026, 7, 1, 7, 0)),
        # 2026-03-08 springs forward at 02:00: that day is 23 hours long.
        (at(2026, 3, 8, 7, 59), at(2026, 3, 8, 8, 0)),  # 23:59 PST on the 7th
        (at(2026, 3, 8, 8, 0), at(2026, 3, 9, 7, 0)),  # 00:00 PST on the 8th -> midnight PDT
        # 2026-11-01 falls back at 02:00: that day is 25 hours long.
        (at(2026, 11, 1, 7, 0), at(2026, 11, 2, 8, 0)),  # 00:00 PDT on the 1st
        (at(2026, 11, 2, 7, 59), at(2026, 11, 2, 8, 0)),  # 23:59 PST on the 1st
    ],
)
def test_the_quota_resets_at_the_next_midnight_pacific(now, reset):
    assert next_reset(now) == reset


def test_the_pacific_day_is_the_quota_day():
    assert pacific_date(at(2026, 3, 8, 7, 59)) == dt.date(2026, 3, 7)
    assert pacific_date(at(2026, 3, 8, 8, 0)) == dt.date(2026, 3, 8)


def test_uploads_draw_on_their_own_bucket_and_other_methods_on_units():
    now = at(2026, 6, 2, 12)
    quota_reserve("proj", "videos.insert", now=now)
    quota_reserve("proj", "thumbnails.set", now=now)
    quota_reserve("proj", "videos.list", now=now)

    row = YouTubeQuotaUsage.objects.get(quota_project="proj")
    assert (row.upload_calls_used, row.units_used) == (1, 51)
    assert (row.upload_calls_limit, row.units_limit) == (100, 10_000)


def test_the_hundred_and_first_upload_waits_for_the_reset(settings):
    settings.YOUTUBE_DAILY_UPLOADS = 3
    now = at(2026, 3, 8, 7, 30)  # 23:30 PST on the day before the clocks change
    for _ in range(3):
        quota_reserve("proj", "videos.insert", now=now)

    with pytest.raises(QuotaUnavailable) as unavailable:
        quota_reserve("proj", "videos.insert", now=now)

    assert unavailable.value.until == at(2026, 3, 8, 8, 0)
    assert "3 of 3 upload calls used" in str(unavailable.value)
    quota_reserve("proj", "videos.insert", now=at(2026, 3, 8, 8, 0))  # a new day


def test_it_warns_once_at_80_percent_and_alerts_once_at_100_percent(settings):
    settings.YOUTUBE_DAILY_UPLOADS = 5
    now = at(2026, 6, 2, 12)
    for _ in range(5):
        quota_reserve("proj", "videos.insert", now=now)
    with pytest.raises(QuotaUnavailable):
        quota_reserve("proj", "videos.insert", now=now)

    assert list(Alert.objects.values_list("level", flat=True).order_by("id")) == [
        "WARNING",
        "CRITICAL",
    ]


def test_a_quota_exceeded_answer_ends_the_day_whatever_the_counts_say():
    now = at(2026, 11, 1, 20)
    assert quota_record_exceeded("proj", now=now) == at(2026, 11, 2, 8, 0)
    quota_record_exceeded("proj", now=now)

    with pytest.raises(QuotaUnavailable) as unavailable:
        quota_reserve("proj", "thumbnails.set", now=now + dt.timedelta(hours=3))
    assert "quotaExceeded" in str(unavailable.value)
    assert Alert.objects.filter(level="CRITICAL").count() == 1  # recorded twice, alerted once
    quota_reserve("proj", "thumbnails.set", now=at(2026, 11, 2, 8, 0))

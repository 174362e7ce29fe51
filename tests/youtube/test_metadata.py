"""Scheduling: the channel's schedule sets publishAt (private until then); tags keep the marker."""

import datetime as dt
import uuid

import pytest

from pipeline.integrations.youtube_metadata import publish_slot, video_metadata
from tests.factories import ChannelFactory, VideoTaskFactory

UTC = dt.UTC


def channel(**fields):
    return ChannelFactory.build(id="sched", **fields)


def test_a_manual_channel_publishes_on_upload():
    assert publish_slot(channel(schedule="manual"), now=dt.datetime(2026, 5, 1, tzinfo=UTC)) is None


def test_a_daily_channel_publishes_at_the_next_publish_time_in_its_timezone():
    daily = channel(schedule="daily", publish_time=dt.time(18, 30), timezone="Europe/Berlin")
    # 15:00 in Berlin (CEST, UTC+2): today at 18:30 local.
    assert publish_slot(daily, now=dt.datetime(2026, 5, 1, 13, 0, tzinfo=UTC)) == dt.datetime(
        2026, 5, 1, 16, 30, tzinfo=UTC
    )
    # 18:10 local is within the lead time: tomorrow.
    assert publish_slot(daily, now=dt.datetime(2026, 5, 1, 16, 10, tzinfo=UTC)) == dt.datetime(
        2026, 5, 2, 16, 30, tzinfo=UTC
    )


def test_a_taken_slot_moves_the_next_video_to_the_following_day():
    daily = channel(schedule="daily", publish_time=dt.time(9, 0), timezone="UTC")
    now = dt.datetime(2026, 5, 1, 6, 0, tzinfo=UTC)
    first = publish_slot(daily, now=now)
    assert publish_slot(daily, now=now, taken={first}) == first + dt.timedelta(days=1)


def test_a_weekly_channel_publishes_on_its_next_publish_day():
    weekly = channel(
        schedule="weekly", publish_days=["mon", "thu"], publish_time=dt.time(18, 0),
        timezone="America/New_York",
    )  # fmt: skip
    # Friday 2026-05-01: next is Monday 2026-05-04, 18:00 EDT = 22:00 UTC.
    assert publish_slot(weekly, now=dt.datetime(2026, 5, 1, 12, tzinfo=UTC)) == dt.datetime(
        2026, 5, 4, 22, 0, tzinfo=UTC
    )


def test_publish_at_goes_only_with_private():
    marker = uuid.uuid4()
    task = VideoTaskFactory.build(channel=channel(privacy="public", made_for_kids=False))
    when = dt.datetime(2026, 5, 4, 22, 0, tzinfo=UTC)

    scheduled = video_metadata(task, marker=marker, publish_at=when)["status"]
    immediate = video_metadata(task, marker=marker)["status"]

    assert scheduled == {
        "privacyStatus": "private",
        "publishAt": "2026-05-04T22:00:00Z",
        "selfDeclaredMadeForKids": False,
        "containsSyntheticMedia": True,
    }
    assert immediate == {
        "privacyStatus": "public",
        "selfDeclaredMadeForKids": False,
        "containsSyntheticMedia": True,
    }


def test_a_tag_list_over_the_limit_is_refused_with_the_field_named_not_cut():
    from pipeline.unit_spec import UnitError

    tags = [f"tag number {n:03d}" for n in range(60)]  # far over 500 characters
    task = VideoTaskFactory.build(channel=channel(tags=tags))

    with pytest.raises(UnitError, match=r"channel_configs/sched.yaml: tags: 1,019 characters"):
        video_metadata(task, marker=uuid.uuid4())


@pytest.mark.parametrize("schedule", ["daily", "weekly"])
def test_a_schedule_without_publish_time_names_the_config_field(schedule):
    from pipeline.unit_spec import UnitError

    with pytest.raises(UnitError, match=r"channel_configs/sched.yaml: publish_time: is required"):
        publish_slot(channel(schedule=schedule), now=dt.datetime(2026, 5, 1, tzinfo=UTC))

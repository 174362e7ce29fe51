"""The upload as a pipeline unit (services.unit_run, in this process): where the task goes when
YouTube's quota is exhausted or the channel's consent was revoked."""

import datetime as dt

import pytest

from core.models import Alert
from costs.models import YouTubeQuotaUsage
from pipeline import services, units
from pipeline.integrations import youtube, youtube_row
from pipeline.models import VideoTask, WorkItem
from pipeline.status import Status
from pipeline.unit_spec import UnitDeferred

pytestmark = pytest.mark.django_db(transaction=True)
UTC = dt.UTC


def run_upload_unit(task):
    services.step_run(task.pk, "upload")
    item = WorkItem.objects.get(task=task, step="upload")
    return units.unit_run(item.pk)


@pytest.mark.parametrize(
    ("frozen", "reset"),
    [
        # 23:30 PST on 2026-03-07 -> 00:00 PST on the 8th.
        (dt.datetime(2026, 3, 8, 7, 30, tzinfo=UTC), dt.datetime(2026, 3, 8, 8, 0, tzinfo=UTC)),
        # 00:30 PST on 2026-03-08, the day the clocks spring forward -> 00:00 PDT on the 9th.
        (dt.datetime(2026, 3, 8, 8, 30, tzinfo=UTC), dt.datetime(2026, 3, 9, 7, 0, tzinfo=UTC)),
    ],
)
def test_quota_exceeded_makes_the_task_wait_in_approved_until_midnight_pacific(
    fake_youtube, broker, task, monkeypatch, frozen, reset
):
    monkeypatch.setattr(youtube_row, "now", lambda: frozen)
    fake_youtube.quota_exceeded = True

    assert run_upload_unit(task) == "deferred"

    task = VideoTask.objects.get(pk=task.pk)
    assert task.status == Status.APPROVED
    assert (task.waiting_reason, task.next_attempt_at) == ("quota", reset)
    day = YouTubeQuotaUsage.objects.get(quota_project="default")
    assert day.exhausted_at == frozen and day.pacific_date == (reset - dt.timedelta(hours=9)).date()
    assert fake_youtube.session_starts == 0 and fake_youtube.inserts == 0
    # The same day nothing is tried again: the next attempt defers without calling YouTube.
    requests = len(fake_youtube.requests)
    with pytest.raises(UnitDeferred):
        youtube.upload_video(task)
    assert len(fake_youtube.requests) == requests


def test_a_revoked_consent_stops_the_task_in_upload_error_with_the_fix(
    fake_youtube, broker, task, channel
):
    fake_youtube.revoked = True

    assert run_upload_unit(task) == "failed"

    task = VideoTask.objects.get(pk=task.pk)
    assert task.status == Status.UPLOAD_ERROR
    assert "invalid_grant" in task.error_log
    assert f"run `manage.py setup_channel_oauth {channel.pk} --client-secrets FILE`" in (
        task.error_log
    )
    assert fake_youtube.token_refreshes == 1 and fake_youtube.inserts == 0
    alert = Alert.objects.get(key=f"youtube-auth:{channel.pk}")
    assert alert.level == "ERROR"
    everything = task.error_log + "".join(Alert.objects.values_list("message", flat=True))
    assert "fake-refresh-token" not in everything and "fake-client-secret" not in everything


def test_an_expired_access_token_is_refreshed_and_the_upload_goes_on(fake_youtube, broker, task):
    fake_youtube.access_tokens.clear()  # the stored token expired; the refresh token is good

    assert run_upload_unit(task) == "done"

    task = VideoTask.objects.get(pk=task.pk)
    assert task.status == Status.PUBLISHED
    assert fake_youtube.token_refreshes == 1 and fake_youtube.inserts == 1
    assert task.video.youtube_url.startswith("https://www.youtube.com/watch?v=")

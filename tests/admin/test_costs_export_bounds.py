"""The spend CSV's download: its file name is built safely from a real channel, and any date
range gives a bounded file, never a 500 or a response cut short by an error."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from pipeline.control_room import EXPORT_MAX_DAYS
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def export(client, **query):
    return client.get(reverse("spend-export"), query)


@pytest.mark.parametrize(
    "channel",
    ['poke"; filename="evil.exe', "poke\r\nSet-Cookie: session=stolen", "nochannel"],
    ids=["quote", "CR/LF", "unknown"],
)
def test_a_channel_that_is_not_one_of_ours_is_refused_with_a_clear_400(admin_client, channel):
    ChannelFactory(id="poke")

    response = export(admin_client, channel=channel)

    assert response.status_code == 400
    assert not response.has_header("Content-Disposition")
    assert response.content.decode().startswith(
        f"The costs were not exported: channel: no channel {channel!r}"
    )


def test_a_real_channel_names_the_file(admin_client):
    ChannelFactory(id="poke")
    today = timezone.now().date()

    response = export(admin_client, channel="poke", start=str(today), end=str(today))

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="costs-poke-{today}-{today}.csv"'
    )


def test_a_date_range_from_year_1_to_9999_is_bounded_and_the_whole_file_is_sent(admin_client):
    today = timezone.now().date()

    response = export(admin_client, start="0001-01-01", end="9999-12-31")

    body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200
    assert body.startswith("created_at_utc,channel,")
    first = today - dt.timedelta(days=EXPORT_MAX_DAYS - 1)
    assert f'filename="costs-{first}-{today}.csv"' in response["Content-Disposition"]


@pytest.mark.parametrize("start", ["2026-02-30", "yesterday", "9999-99-99"])
def test_a_start_that_is_not_a_date_is_refused(admin_client, start):
    response = export(admin_client, start=start)

    assert response.status_code == 400
    assert f"start: {start!r} is not a date; use YYYY-MM-DD" in response.content.decode()

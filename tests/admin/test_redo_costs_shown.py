"""A redo's calls, shown where people look at money: the review page's timeline lists the units
made again with their attempt and cost; the spend page has a "Made again" column."""

from decimal import Decimal

import pytest
from django.urls import reverse

from costs.models import VideoCost
from pipeline.models import WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def redone_clip(final_task):
    item = WorkItem.objects.get(task=final_task, step="videos", unit="s01")
    for attempt, usd in ((1, "1.40"), (2, "1.45")):
        VideoCost.objects.create(
            task=final_task, channel_id=final_task.channel_id, work_item=item, attempt=attempt,
            component="video", provider="kie", units=Decimal(5), unit_name="clip_seconds",
            usd=Decimal(usd),
        )  # fmt: skip
    return final_task


def test_the_review_page_lists_each_attempt_of_a_unit_made_again(reviewer_client, redone_clip):
    page = reviewer_client.get(reverse("reviews:task", args=[redone_clip.pk])).content.decode()

    table = page[page.index('id="vg-repeated"') :]
    table = table[: table.index("</table>")]
    assert table.count("<td>videos</td><td>s01</td>") == 2
    assert '<td class="vg-num">2</td><td class="vg-num">$1.45</td>' in table


def test_the_spend_page_shows_what_was_made_again_linking_to_the_timeline(
    admin_client, redone_clip
):
    page = admin_client.get(reverse("spend")).content.decode()

    link = reverse("reviews:task", args=[redone_clip.pk]) + "#vg-repeated"
    assert f'<a href="{link}" title="which units, which attempts">$1.45</a>' in page
    assert "Made again" in page

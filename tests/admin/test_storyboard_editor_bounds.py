"""The storyboard editor with input past its bounds: the typed text comes back in the form with
an inline error naming the place; nothing is saved and nothing answers 500."""

import html as html_module

import pytest
from django.urls import reverse

from core.models import AuditLog
from core.text.input_bounds import MAX_STORYBOARD_BYTES
from pipeline.models import VideoTask
from pipeline.storyboard_edits import storyboard_yaml

pytestmark = pytest.mark.django_db


def post_storyboard(client, task, text):
    return client.post(reverse("reviews:storyboard", args=[task.pk]), {"storyboard": text})


def deep(text):
    return text + "extra: " + "[" * 1000 + "]" * 1000 + "\n"


def nul_escape(text):
    return text.replace("slow dolly in", '"slow \\0 dolly in"')


def raw_nul(text):
    return text.replace("slow dolly in", "slow \x00 dolly in")


def long_motion(text):
    return text.replace("motion: slow dolly in", "motion: " + "x" * 2001)


def too_large(text):
    return text + "# " + "x" * MAX_STORYBOARD_BYTES + "\n"


@pytest.mark.parametrize(
    "change, error",
    [
        (deep, "invalid YAML: nested deeper than 20 levels of mappings and lists"),
        (nul_escape, "scenes[0].motion: contains a NUL character at position 6"),
        (raw_nul, "a NUL character; remove it"),
        (long_motion, "scenes[0].motion: must be at most 2000 characters, got 2001"),
        (too_large, f"at most {MAX_STORYBOARD_BYTES:,} are allowed"),
    ],
    ids=["deep nesting", "NUL escape", "raw NUL", "too long a field", "too large"],
)
def test_an_edit_past_a_bound_comes_back_inline_with_the_typed_text(
    reviewer_client, final_task, change, error
):
    text = change(storyboard_yaml(final_task.storyboard))
    assert text != storyboard_yaml(final_task.storyboard)

    response = post_storyboard(reviewer_client, final_task, text)

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="vg-storyboard-errors"' in page and error in html_module.unescape(page)
    assert html_module.escape(text[:2000].replace("\x00", ""))[:200] in page.replace("\x00", "")
    assert VideoTask.objects.get(pk=final_task.pk).storyboard == final_task.storyboard
    assert not AuditLog.objects.exists()

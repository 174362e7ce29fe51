"""The review page warns, scene by scene, when narration runs longer than its scene: estimated
from its words before it is made, measured from the audio file after."""

import shutil

import pytest
from django.urls import reverse

from pipeline.models import VideoTask, WorkItem
from pipeline.steps import STEP_BY_NAME

pytestmark = pytest.mark.django_db

WORDS_20 = " ".join(["bulbasaur"] * 19) + " sleeps."


def _scene(task, **fields):
    storyboard = dict(task.storyboard)
    storyboard["scenes"] = [{**storyboard["scenes"][0], **fields}]
    VideoTask.objects.filter(pk=task.pk).update(storyboard=storyboard)


def test_it_warns_before_the_narration_is_made_with_the_estimate(admin_client, final_task):
    WorkItem.objects.filter(task=final_task, step="audio").delete()
    _scene(final_task, narration=WORDS_20, duration=5)

    page = admin_client.get(reverse("reviews:task", args=[final_task.pk])).content.decode()

    assert "Narration runs 8 s (estimated from its words) in a 5 s scene" in page


def test_it_warns_with_the_measured_length_once_the_narration_is_made(
    admin_client, final_task, sample_media
):
    _scene(final_task, narration="Short.", duration=1)
    audio = STEP_BY_NAME["audio"].output(final_task, "s01")
    shutil.copyfile(sample_media / "final.mp4", audio)  # 2 s of sound

    page = admin_client.get(reverse("reviews:task", args=[final_task.pk])).content.decode()

    assert "Narration runs 2 s (measured) in a 1 s scene" in page


def test_narration_that_fits_gets_no_warning(admin_client, final_task):
    page = admin_client.get(reverse("reviews:task", args=[final_task.pk])).content.decode()

    assert "vg-narration-over" not in page

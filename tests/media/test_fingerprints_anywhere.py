"""A unit's fingerprint is the same on every worker: paths count relative to the workspace, and
each process has a WORKSPACE_ROOT of its own when media goes through a bucket."""

import pytest

from pipeline.fingerprints import task_fingerprints
from tests.factories import ChannelFactory, VideoTaskFactory
from tests.pipeline.test_pipeline_worker import storyboard

pytestmark = pytest.mark.django_db


def test_it_fingerprints_a_unit_alike_whatever_the_workspace_root(settings, tmp_path):
    task = VideoTaskFactory(channel=ChannelFactory(id="anywhere"), storyboard=storyboard(2))
    settings.WORKSPACE_ROOT = tmp_path / "worker-1" / "workspace"
    on_one = task_fingerprints(task)

    settings.WORKSPACE_ROOT = tmp_path / "worker-2" / "workspace"
    on_another = task_fingerprints(task)

    assert on_one == on_another
    assert len(on_one) == len(set(on_one.values()))  # still one per unit

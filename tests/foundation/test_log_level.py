"""One setting decides how much the processes log: LOG_LEVEL. Celery sets its -l level on the
root logger, over the level our settings gave it, so the Procfile's worker and beat pass LOG_LEVEL
as -l. Checked on the Procfile's own worker line, run by a shell as honcho runs it, doing work
that logs at INFO from our code (the runner's script_started)."""

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from pipeline.processes import die_with_parent
from pipeline.services import video_task_create
from tests.foundation.test_procfile import _processes
from tests.pipeline.conftest import wait_for
from tests.pipeline.test_pipeline_worker import storyboard

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@contextlib.contextmanager
def procfile_worker(env, log_path):
    command = _processes()["worker"] + " --without-gossip --without-mingle --without-heartbeat"
    # make run puts the virtualenv's bin first on PATH, so the line finds its celery
    env = {**env, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603
            ["/bin/sh", "-c", f"exec {command}"], cwd=settings.BASE_DIR, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509
        )  # fmt: skip
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def run_one_script(pipeline_env, calls, channel, log_path, level):
    with procfile_worker({**pipeline_env, "LOG_LEVEL": level}, log_path):
        video_task_create(channel=channel, storyboard=storyboard(1))
        wait_for(lambda: calls.count("done") >= 1, timeout=60, describe=log_path.read_text)
    return log_path.read_text(errors="replace")


def test_the_worker_logs_info_when_log_level_says_info(
    pipeline_env, calls, local_channel, tmp_path
):
    log = run_one_script(pipeline_env, calls, local_channel, tmp_path / "w.log", "INFO")
    assert '"event": "script_started"' in log, log[-3000:]


def test_the_worker_logs_no_info_when_log_level_says_warning(
    pipeline_env, calls, local_channel, tmp_path
):
    log = run_one_script(pipeline_env, calls, local_channel, tmp_path / "w.log", "WARNING")
    assert '"event": "script_started"' not in log, log[-3000:]
    assert '"level": "info"' not in log

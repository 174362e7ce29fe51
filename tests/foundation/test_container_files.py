"""Dockerfile, compose.yaml and railway.json start the Procfile's processes with the Procfile's
own command lines (Docker cannot build here; these tests keep the files from drifting)."""

import json
import shlex

import yaml
from django.conf import settings

from tests.foundation.test_procfile import _processes

BASE_DIR = settings.BASE_DIR


def _unwrapped(command):
    """The command a shell wrapper runs: `/bin/sh -c "exec X"` (or its list form) is X."""
    words = command if isinstance(command, list) else shlex.split(command)
    if words[:2] in (["/bin/sh", "-c"], ["sh", "-c"]):
        command = words[2]
        return command.removeprefix("exec ")
    return command if isinstance(command, str) else shlex.join(words)


def _compose():
    return yaml.safe_load((BASE_DIR / "compose.yaml").read_text())


def _dockerfile_instructions():
    text = (BASE_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_it_runs_each_procfile_process_in_compose_with_the_procfile_command():
    services = _compose()["services"]

    for name, command in _processes().items():
        assert _unwrapped(services[name]["command"]) == command, name


def test_it_makes_compose_processes_wait_for_the_release_step():
    services = _compose()["services"]

    for name in ("web", "worker", "beat", "flower"):
        assert services[name]["depends_on"]["release"] == {
            "condition": "service_completed_successfully"
        }


def test_it_shares_one_workspace_volume_between_web_and_workers():
    compose = _compose()
    web, worker = compose["services"]["web"], compose["services"]["worker"]

    assert "workspace:/data" in web["volumes"] and "workspace:/data" in worker["volumes"]
    assert "workspace" in compose["volumes"]
    assert web["image"] == worker["image"] == compose["services"]["beat"]["image"]


def test_it_runs_postgresql_16_and_redis_7_with_appendonly_persistence():
    services = _compose()["services"]

    assert services["postgres"]["image"] == "postgres:16"
    assert services["redis"]["image"] == "redis:7"
    assert services["redis"]["command"][-2:] == ["--appendonly", "yes"]
    assert services["redis"]["volumes"] == ["redis:/data"]


def test_it_takes_compose_secrets_from_the_env_file_not_the_file_itself():
    compose = _compose()

    for name in ("web", "worker", "beat", "flower", "release"):
        assert compose["services"][name]["env_file"] == ".env"
    text = (BASE_DIR / "compose.yaml").read_text()
    assert "${POSTGRES_PASSWORD:?" in text
    assert "DJANGO_SECRET_KEY:" not in text and "FLOWER_BASIC_AUTH:" not in text


def test_it_starts_the_web_process_by_default_in_the_image():
    cmd = [line for line in _dockerfile_instructions() if line.startswith("CMD ")]

    assert len(cmd) == 1
    assert _unwrapped(json.loads(cmd[0].removeprefix("CMD "))) == _processes()["web"]


def test_it_builds_a_non_root_image_with_ffmpeg_static_files_and_a_health_check():
    instructions = _dockerfile_instructions()

    assert instructions[0] == "FROM python:3.11-slim"
    assert any("apt-get install" in line and " ffmpeg" in line for line in instructions)
    assert "RUN pip install --requirement requirements.lock" in instructions
    assert any("manage.py collectstatic --noinput" in line for line in instructions)
    user = [line for line in instructions if line.startswith("USER ")]
    assert user == ["USER videogen"]
    assert instructions.index(user[0]) < instructions.index(
        next(line for line in instructions if line.startswith("CMD "))
    )
    health = next(line for line in instructions if line.startswith("HEALTHCHECK "))
    assert "/health" in health


def test_it_deploys_the_web_process_on_railway_with_the_release_step_and_health_check():
    deploy = json.loads((BASE_DIR / "railway.json").read_text())["deploy"]
    processes = _processes()

    assert _unwrapped(deploy["startCommand"]) == processes["web"]
    assert [_unwrapped(command) for command in deploy["preDeployCommand"]] == [processes["release"]]
    assert deploy["healthcheckPath"] == "/health"
    assert deploy["restartPolicyType"] == "ON_FAILURE"

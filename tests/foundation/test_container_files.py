"""Dockerfile, compose.yaml and railway/*.json start the Procfile's processes with the Procfile's
own command lines. `make image-check` builds and runs the image; these tests keep the files from
drifting and pin what that check cannot see (compose, Railway's settings)."""

import json
import re
import shlex

import yaml
from django.conf import settings

from tests.foundation.test_procfile import _processes

BASE_DIR = settings.BASE_DIR


ENTRYPOINT = "videogen-entrypoint"
SERVICES = ("web", "worker", "beat", "flower")


def _unwrapped(command):
    """The command a shell wrapper runs: `/bin/sh -c "exec X"` (or its list form) is X, and so
    is `/bin/sh -c "exec videogen-entrypoint X"` (Railway's start command replaces the image's
    entrypoint, so its commands name it)."""
    words = command if isinstance(command, list) else shlex.split(command)
    if words[:2] in (["/bin/sh", "-c"], ["sh", "-c"]):
        command = words[2]
        return command.removeprefix("exec ").removeprefix(f"{ENTRYPOINT} ")
    return command if isinstance(command, str) else shlex.join(words)


def _railway(service):
    return json.loads((BASE_DIR / "railway" / f"{service}.json").read_text())


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

    for name in SERVICES:
        assert services[name]["depends_on"]["release"] == {
            "condition": "service_completed_successfully"
        }


def test_it_shares_one_workspace_volume_between_web_and_workers():
    compose = _compose()
    web, worker = compose["services"]["web"], compose["services"]["worker"]

    assert "workspace:/data" in web["volumes"] and "workspace:/data" in worker["volumes"]
    assert "workspace" in compose["volumes"]
    assert web["image"] == worker["image"] == compose["services"]["beat"]["image"]


def test_it_runs_a_bucket_beside_postgresql_and_redis_that_every_process_uses():
    compose = _compose()
    services = compose["services"]

    assert services["minio"]["image"].startswith("minio/minio:RELEASE.")
    assert services["minio"]["volumes"] == ["bucket:/data"] and "bucket" in compose["volumes"]
    assert "mc mb --ignore-existing store/videogen-media" in services["bucket"]["entrypoint"][-1]
    assert services["release"]["depends_on"]["bucket"] == {
        "condition": "service_completed_successfully"
    }
    for name in ("release", *SERVICES):
        environment = services[name]["environment"]
        assert environment["AWS_S3_BUCKET_NAME"] == "videogen-media", name
        assert environment["AWS_ENDPOINT_URL"] == "http://minio:9000", name
        assert environment["AWS_SECRET_ACCESS_KEY"].startswith("${MINIO_ROOT_PASSWORD:?"), name


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


def test_it_gives_compose_processes_the_password_outside_the_url_so_any_password_works():
    services = _compose()["services"]

    for name in ("release", *SERVICES):
        environment = services[name]["environment"]
        assert "@" in environment["DATABASE_URL"]
        assert ":" not in environment["DATABASE_URL"].split("://")[1].split("@")[0], name
        assert environment["PGPASSWORD"].startswith("${POSTGRES_PASSWORD:?"), name


def test_it_asks_compose_postgresql_over_tcp_whether_it_is_ready():
    test = _compose()["services"]["postgres"]["healthcheck"]["test"]

    assert test[:2] == ["CMD", "pg_isready"]
    assert test[test.index("--host") + 1] == "127.0.0.1"


def test_it_starts_compose_flower_only_in_its_profile():
    services = _compose()["services"]

    assert services["flower"]["profiles"] == ["flower"]
    assert all("profiles" not in services[name] for name in ("release", "web", "worker", "beat"))


def test_it_makes_the_compose_health_check_ask_the_port_gunicorn_binds():
    web = _compose()["services"]["web"]

    assert "${PORT:-8000}" in web["command"]
    assert web["environment"]["PORT"] == "${PORT:-8000}"


def test_it_starts_the_web_process_by_default_in_the_image_through_its_entrypoint():
    instructions = _dockerfile_instructions()
    cmd = [line for line in instructions if line.startswith("CMD ")]
    entrypoint = [line for line in instructions if line.startswith("ENTRYPOINT ")]

    assert len(cmd) == 1
    assert _unwrapped(json.loads(cmd[0].removeprefix("CMD "))) == _processes()["web"]
    assert entrypoint == [f'ENTRYPOINT ["{ENTRYPOINT}"]']
    assert any(f"docker/entrypoint.sh /usr/local/bin/{ENTRYPOINT}" in line for line in instructions)


def test_it_builds_on_python_3_11_slim_with_the_runtime_lock_and_no_second_ffmpeg():
    instructions = _dockerfile_instructions()

    assert instructions[:2] == ["ARG BASE_IMAGE=python:3.11-slim", "FROM ${BASE_IMAGE}"]
    assert not any("apt-get" in line or "ffmpeg" in line.split() for line in instructions)
    pip = next(line for line in instructions if "pip install" in line)
    assert pip.startswith("RUN pip install --requirement requirements.lock ")
    assert "requirements-dev" not in " ".join(instructions)
    assert any("manage.py collectstatic --noinput" in line for line in instructions)
    health = next(line for line in instructions if line.startswith("HEALTHCHECK "))
    assert "/health" in health


def test_it_keeps_the_runtime_lock_free_of_test_and_development_tools():
    runtime = (BASE_DIR / "requirements.lock").read_text().lower()
    development = (BASE_DIR / "requirements-dev.lock").read_text().lower()

    for tool in ("pytest==", "playwright==", "ruff==", "factory-boy==", "faker==", "honcho=="):
        assert tool not in runtime, tool
        assert tool in development, tool


def test_it_keeps_the_discovery_document_of_the_google_api_the_code_builds():
    """The image drops googleapiclient's bundled discovery documents but YouTube's."""
    client = (BASE_DIR / "pipeline" / "integrations" / "youtube_client.py").read_text()
    pip = next(line for line in _dockerfile_instructions() if "pip install" in line)

    assert re.findall(r'build\(\s*"(\w+)",\s*"(\w+)"', client) == [("youtube", "v3")]
    assert "! -name 'youtube*' -delete" in pip


def test_it_keeps_tests_benches_and_ci_out_of_the_image():
    ignored = (BASE_DIR / ".dockerignore").read_text().split()

    for path in ("tests", "bench", ".ci", ".git", ".venv", ".env", "requirements-dev.*"):
        assert path in ignored, path


def test_it_configures_each_railway_service_with_its_procfile_command():
    processes = _processes()

    assert not (BASE_DIR / "railway.json").exists()  # it would apply to every service
    for service in SERVICES:
        config = _railway(service)
        assert config["build"] == {"builder": "DOCKERFILE", "dockerfilePath": "Dockerfile"}
        deploy = config["deploy"]
        assert _unwrapped(deploy["startCommand"]) == processes[service], service
        assert f"exec {ENTRYPOINT} " in deploy["startCommand"], service
        assert deploy["restartPolicyType"] == "ON_FAILURE"


def test_it_runs_the_release_step_and_health_check_on_railways_web_service_only():
    web = _railway("web")["deploy"]

    assert [_unwrapped(command) for command in web["preDeployCommand"]] == [_processes()["release"]]
    assert web["healthcheckPath"] == "/health"
    for service in ("worker", "beat", "flower"):
        deploy = _railway(service)["deploy"]
        assert "preDeployCommand" not in deploy and "healthcheckPath" not in deploy, service

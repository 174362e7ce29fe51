"""The media store's checks: a wrong key, a missing bucket or an unreachable server stops every
entry point at start-up with one line naming the variable (exit 78); /status and doctor write,
read and delete a probe object and name the store when it fails."""

import os
import subprocess
import sys

import boto3
import pytest

from core.media_store import media_store
from pipeline import doctor
from pipeline.watchdog import heartbeat_record
from tests.faults.servers import S3Server, free_port
from tests.stack import ROOT


@pytest.fixture
def machinery_alive(db):
    """A worker and beat recorded their heartbeats (as the running processes do)."""
    for kind in ("worker", "beat"):
        heartbeat_record(kind=kind, hostname=f"{kind}@test")


def _manage_check(env_changes):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(env_changes)
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_stops_start_up_naming_the_bucket_variable_when_the_bucket_is_missing(
    s3_server, media_bucket
):
    result = _manage_check({**media_bucket, "AWS_S3_BUCKET_NAME": "no-such-bucket"})

    assert result.returncode == 78
    assert result.stderr.strip().splitlines() == [
        f"videogen: AWS_S3_BUCKET_NAME: no bucket 'no-such-bucket' at {s3_server.url}"
    ]


def test_it_names_django_storages_variable_when_that_is_the_one_set(s3_server, media_bucket):
    env = {key: value for key, value in media_bucket.items() if key != "AWS_S3_BUCKET_NAME"}

    result = _manage_check({**env, "AWS_STORAGE_BUCKET_NAME": "missing"})

    assert result.returncode == 78
    assert result.stderr.startswith("videogen: AWS_STORAGE_BUCKET_NAME: no bucket 'missing'")


def test_it_stops_start_up_naming_the_endpoint_when_nothing_answers_there(media_bucket):
    result = _manage_check({**media_bucket, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"})

    assert result.returncode == 78
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("videogen: AWS_ENDPOINT_URL: nothing answers at http://127.0.0.1:")
    assert media_bucket["AWS_SECRET_ACCESS_KEY"] not in result.stderr + result.stdout


@pytest.fixture(scope="module")
def keyed_bucket():
    """A bucket on a server that checks keys (moto refuses unknown or wrongly signed requests
    once its key is made), with the environment that reaches it."""
    server = S3Server(checks_keys=True).start()
    key_id, secret = server.key_pair()
    boto3.client(
        "s3", endpoint_url=server.url, region_name="us-east-1",
        aws_access_key_id=key_id, aws_secret_access_key=secret,
    ).create_bucket(Bucket="videogen-keyed")  # fmt: skip
    yield server, {
        "AWS_S3_BUCKET_NAME": "videogen-keyed",
        "AWS_ENDPOINT_URL": server.url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": key_id,
        "AWS_SECRET_ACCESS_KEY": secret,
    }
    server.stop()


def test_it_starts_with_the_right_key_on_a_server_that_checks_keys(keyed_bucket):
    _, env = keyed_bucket

    result = _manage_check(env)

    assert result.returncode == 0, result.stderr


def test_it_stops_start_up_naming_the_access_key_the_bucket_does_not_know(keyed_bucket):
    server, env = keyed_bucket

    result = _manage_check({**env, "AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000"})

    assert result.returncode == 78
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        f"videogen: AWS_ACCESS_KEY_ID: the bucket 'videogen-keyed' at {server.url} refused it "
        "(InvalidAccessKeyId"
    )


def test_it_stops_start_up_naming_the_secret_key_that_signs_wrong(keyed_bucket):
    _, env = keyed_bucket

    result = _manage_check({**env, "AWS_SECRET_ACCESS_KEY": "not-the-secret-of-this-key"})

    assert result.returncode == 78
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("videogen: AWS_SECRET_ACCESS_KEY: the bucket 'videogen-keyed'")
    assert "SignatureDoesNotMatch" in line
    assert "not-the-secret-of-this-key" not in result.stderr + result.stdout


def test_it_names_the_missing_half_of_the_key_pair(media_bucket):
    env = {key: value for key, value in media_bucket.items() if key != "AWS_SECRET_ACCESS_KEY"}

    result = _manage_check(env)

    assert result.returncode == 78
    assert result.stderr.startswith("videogen: AWS_SECRET_ACCESS_KEY is not set")


def test_it_reads_the_secret_key_from_its_file(media_bucket, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text(media_bucket["AWS_SECRET_ACCESS_KEY"] + "\n")
    env = {key: value for key, value in media_bucket.items() if key != "AWS_SECRET_ACCESS_KEY"}

    result = _manage_check({**env, "AWS_SECRET_ACCESS_KEY_FILE": str(secret)})

    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
def test_status_probes_the_bucket_and_reports_it(client, machinery_alive, media_bucket):
    response = client.get("/status")

    assert response.status_code == 200
    assert response.json()["checks"]["media store"] == "ok"
    assert list(media_store().keys(".probe")) == []


@pytest.mark.django_db
def test_status_answers_503_naming_the_store_when_its_bucket_is_gone(
    client, machinery_alive, media_bucket, settings
):
    settings.MEDIA_BUCKET_NAME = "deleted-bucket"

    response = client.get("/status")

    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["media store"]
    assert "deleted-bucket" in body["checks"]["media store"]


@pytest.mark.django_db
def test_health_leaves_the_bucket_alone(client, machinery_alive, media_bucket, settings):
    settings.MEDIA_BUCKET_NAME = "deleted-bucket"

    response = client.get("/health")

    assert response.status_code == 200
    assert "media store" not in response.json()["checks"]


def test_doctor_writes_reads_and_deletes_a_probe_object(media_bucket, settings):
    assert doctor.check_media_store()[:2] == ("media store", True)

    settings.MEDIA_BUCKET_NAME = "deleted-bucket"
    name, ok, detail = doctor.check_media_store()

    assert (name, ok) == ("media store", False) and "deleted-bucket" in detail

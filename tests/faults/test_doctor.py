"""`manage.py doctor`: every check passes on the test setup, and each one fails with a detail that
says what is wrong when its dependency is broken."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from channels_app.models import ChannelSecret, EncryptionCanary
from pipeline import doctor
from pipeline.models import WorkItem, WorkState
from pipeline.watchdog import heartbeat_record
from tests.factories import VideoTaskFactory
from tests.fakes.media import write_fake_ffmpeg
from tests.faults.servers import free_port

pytestmark = pytest.mark.django_db

ENCRYPTED_FIELDS = [
    ChannelSecret._meta.get_field("value"),
    EncryptionCanary._meta.get_field("value"),
]


def _forget_derived_keys():
    """The fernet fields cache the keys they derive (see test_credentials_encrypted.py)."""
    for field in ENCRYPTED_FIELDS:
        field.__dict__.pop("keys", None)
        field.__dict__.pop("f", None)


@pytest.fixture
def machinery_alive():
    """A worker and beat recorded their heartbeats (as the running processes do), and the
    channel files are synced (as the release step or sync_channels leaves them)."""
    from django.conf import settings

    from channels_app.services import channel_sync_from_directory

    for kind in ("worker", "beat"):
        heartbeat_record(kind=kind, hostname=f"{kind}@test")
    channel_sync_from_directory(config_dir=settings.CHANNEL_CONFIG_DIR)


def test_every_check_passes_on_the_test_setup(machinery_alive):
    results = doctor.doctor_run()

    assert [name for name, _, _ in results] == [
        "broker",
        "media store",
        "visibility timeout",
        "encryption key",
        "audit triggers",
        "ffmpeg",
        "writable folders",
        "expired leases",
        "scripts",
        "workers",
        "beat",
        "channel files",
    ]
    assert [r for r in results if not r[1]] == []


def test_the_command_prints_one_line_per_check_and_exits_0_when_all_pass(machinery_alive):
    out = io.StringIO()
    call_command("doctor", stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 12
    assert all(line.startswith("ok    ") for line in lines), lines
    assert "ok    audit triggers: audit_no_update_delete, audit_no_truncate" in lines[4]


def test_the_command_exits_1_and_says_fail_when_a_check_fails(settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    out = io.StringIO()

    with pytest.raises(SystemExit) as exit_info:
        call_command("doctor", stdout=out)

    assert exit_info.value.code == 1
    assert out.getvalue().splitlines()[0].startswith("FAIL  broker: redis://127.0.0.1:")


def test_broker_on_a_closed_port_fails(settings):
    port = free_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"

    name, ok, detail = doctor.check_broker()

    assert (name, ok) == ("broker", False)
    assert f"redis://127.0.0.1:{port}/0 unreachable within 3 s" in detail


def test_broker_detail_hides_the_password(settings):
    settings.CELERY_BROKER_URL = f"redis://:s3cret@127.0.0.1:{free_port()}/0"

    _, ok, detail = doctor.check_broker()

    assert not ok
    assert "s3cret" not in detail


def test_visibility_timeout_shorter_than_the_longest_step_fails(settings):
    settings.CELERY_VISIBILITY_TIMEOUT = 5

    name, ok, detail = doctor.check_visibility_timeout()

    assert (name, ok) == ("visibility timeout", False)
    assert "CELERY_VISIBILITY_TIMEOUT=5 s is not above the longest step" in detail
    longest = settings.PIPELINE_STEP_HARD_LIMIT + settings.PIPELINE_RETRY_BACKOFF_MAX
    assert f"= {longest} s" in detail


def test_visibility_timeout_not_given_to_the_redis_transport_fails(settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    _, ok, detail = doctor.check_visibility_timeout()

    assert not ok
    assert "visibility_timeout=None" in detail


def test_a_wrong_encryption_key_fails(settings):
    _forget_derived_keys()
    assert doctor.check_encryption_key()[1]  # writes the canary with the right key
    settings.SECRET_KEY = "a-different-secret-key"
    _forget_derived_keys()
    try:
        name, ok, detail = doctor.check_encryption_key()
    finally:
        _forget_derived_keys()

    assert (name, ok) == ("encryption key", False)
    assert "cannot decrypt data written with the previous key" in detail


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE triggers: PostgreSQL")
@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        ("audit_no_truncate", "statement trigger for TRUNCATE audit_no_truncate is disabled"),
        (
            "audit_no_update_delete",
            "row trigger for UPDATE and DELETE audit_no_update_delete is disabled",
        ),
    ],
)
def test_a_disabled_audit_trigger_fails(trigger, expected):
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE reviews_auditlog DISABLE TRIGGER {trigger}")
        name, ok, detail = doctor.check_audit_triggers()
        raise Rollback  # the trigger is enabled again with the rollback

    assert (name, ok) == ("audit triggers", False)
    assert expected in detail
    assert doctor.check_audit_triggers()[1]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE triggers: PostgreSQL")
def test_a_missing_truncate_trigger_fails():
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER audit_no_truncate ON reviews_auditlog")
        _, ok, detail = doctor.check_audit_triggers()
        raise Rollback

    assert not ok
    assert detail == "no statement trigger for TRUNCATE on reviews_auditlog"


def test_ffmpeg_binary_pointing_to_a_missing_file_fails(monkeypatch, tmp_path):
    missing = tmp_path / "no-ffmpeg"
    monkeypatch.setenv("FFMPEG_BINARY", str(missing))

    name, ok, detail = doctor.check_ffmpeg()

    assert (name, ok) == ("ffmpeg", False)
    assert detail == f"FFMPEG_BINARY={str(missing)!r} is not an executable file"


def test_ffmpeg_reports_the_version_of_the_binary_the_scripts_use(monkeypatch):
    import imageio_ffmpeg

    monkeypatch.delenv("FFMPEG_BINARY", raising=False)
    name, ok, detail = doctor.check_ffmpeg()

    assert (name, ok) == ("ffmpeg", True), detail
    assert detail.startswith("FFmpeg n9.") or detail.startswith("FFmpeg ")
    assert f" at {imageio_ffmpeg.get_ffmpeg_exe()} (imageio-ffmpeg): every filter" in detail


def test_ffmpeg_older_than_5_1_is_refused_naming_its_version(monkeypatch, tmp_path):
    fake = write_fake_ffmpeg(tmp_path, version="4.4.2-0ubuntu0.22.04.1")
    monkeypatch.setenv("FFMPEG_BINARY", fake)

    name, ok, detail = doctor.check_ffmpeg()

    assert (name, ok) == ("ffmpeg", False)
    assert detail.startswith(f"FFmpeg 4.4.2-0ubuntu0.22.04.1 at {fake} (FFMPEG_BINARY) is older "
                             "than 5.1, the oldest videogen supports")  # fmt: skip


def test_ffmpeg_that_fails_one_filter_is_refused_naming_that_filter(monkeypatch, tmp_path):
    fake = write_fake_ffmpeg(tmp_path, version="5.1.9-0+deb12u1", failing="alimiter")
    monkeypatch.setenv("FFMPEG_BINARY", fake)

    name, ok, detail = doctor.check_ffmpeg()

    assert (name, ok) == ("ffmpeg", False)
    assert "cannot run what the scripts need: alimiter (used by loudness normalization)" in detail
    assert "No such filter: 'alimiter'" in detail


def test_the_command_prints_the_ffmpeg_failure_and_exits_1(monkeypatch, tmp_path):
    fake = write_fake_ffmpeg(tmp_path, failing="zoompan")
    monkeypatch.setenv("FFMPEG_BINARY", fake)
    out = io.StringIO()

    with pytest.raises(SystemExit) as exit_info:
        call_command("doctor", stdout=out)

    assert exit_info.value.code == 1
    (line,) = [line for line in out.getvalue().splitlines() if "ffmpeg:" in line]
    assert line.startswith(f"FAIL  ffmpeg: FFmpeg 6.1.1-3ubuntu5 at {fake} (FFMPEG_BINARY) ")
    assert "zoompan (used by local clips (the local video provider)) failed" in line


def _running_item(task, unit, expired_seconds_ago):
    return WorkItem.objects.create(
        task=task,
        step="videos",
        unit=unit,
        script="generate_video",
        provider="kie",
        output_path=f"/tmp/{unit}.mp4",
        state=WorkState.RUNNING,
        attempts=1,
        lease_owner="host:1:2:dead",
        lease_expires_at=timezone.now() - dt.timedelta(seconds=expired_seconds_ago),
    )


def test_writable_folders_fail_naming_the_folder_and_its_variable(settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    settings.WORKSPACE_ROOT = blocker / "workspace"

    name, ok, detail = doctor.check_writable()

    assert (name, ok) == ("writable folders", False)
    assert f"{blocker / 'workspace'}: Not a directory (WORKSPACE_ROOT)" in detail
    assert "chown" in detail


def test_writable_folders_fail_when_the_ffmpeg_check_cache_cannot_be_written(
    monkeypatch, tmp_path
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("VIDEOGEN_FFMPEG_CHECK_CACHE", str(blocker / "cache"))

    name, ok, detail = doctor.check_writable()

    assert not ok
    assert "(VIDEOGEN_FFMPEG_CHECK_CACHE)" in detail


def test_a_lease_expired_and_not_reclaimed_fails():
    task = VideoTaskFactory()
    oldest = _running_item(task, "s01", expired_seconds_ago=3600)
    _running_item(task, "s02", expired_seconds_ago=600)

    name, ok, detail = doctor.check_expired_leases()

    assert (name, ok) == ("expired leases", False)
    assert detail.startswith("2 running work item(s) with a lease expired more than 120 s ago")
    assert f"oldest: item {oldest.pk} (task {task.pk}, videos s01) expired 3600 s ago" in detail


def test_a_lease_expired_moments_ago_is_being_reclaimed_and_passes():
    _running_item(VideoTaskFactory(), "s01", expired_seconds_ago=10)

    _, ok, detail = doctor.check_expired_leases()

    assert ok
    assert detail == "1 expired within the last 120 s (being reclaimed)"


def test_a_scripts_dir_without_every_pipeline_script_fails(settings, tmp_path):
    for script in doctor.PIPELINE_SCRIPTS[:-1]:
        (tmp_path / f"{script}.py").write_text("")
    settings.SCRIPTS_DIR = tmp_path

    name, ok, detail = doctor.check_scripts()

    assert (name, ok) == ("scripts", False)
    assert detail == f"{tmp_path} lacks assemble_video.py"


def test_doctor_checks_the_writer_too(settings, tmp_path):
    for script in doctor.PIPELINE_SCRIPTS:
        (tmp_path / f"{script}.py").write_text("")
    settings.SCRIPTS_DIR = tmp_path

    assert "generate_storyboard" in doctor.PIPELINE_SCRIPTS
    assert doctor.check_scripts() == ("scripts", True, f"all 8 in {tmp_path}")


def test_an_operator_folder_passes_with_our_stand_ins_for_the_scripts_it_never_had(
    settings, tmp_path
):
    for script in set(doctor.PIPELINE_SCRIPTS) - {"generate_storyboard", "create_split_screen"}:
        (tmp_path / f"{script}.py").write_text("")
    settings.SCRIPTS_DIR = tmp_path

    _, ok, detail = doctor.check_scripts()

    assert ok
    assert detail == (
        f"all 8 in {tmp_path} (generate_storyboard, create_split_screen from videogen's own "
        "scripts/)"
    )


def test_an_exception_in_a_check_is_a_failed_check_not_a_crash():
    def check_database():
        raise RuntimeError("connection refused")

    assert doctor.doctor_run([check_database]) == [
        ("database", False, "check failed: RuntimeError: connection refused")
    ]


def test_workers_fail_when_none_was_seen_within_the_silence_window(settings):
    settings.PIPELINE_WORKER_SILENCE_MINUTES = 5
    heartbeat_record(
        kind="worker", hostname="w1@host", now=timezone.now() - dt.timedelta(minutes=6)
    )

    name, ok, detail = doctor.check_workers()

    assert (name, ok) == ("workers", False)
    assert "no worker seen in the last 5 min (PIPELINE_WORKER_SILENCE_MINUTES)" in detail

    heartbeat_record(kind="worker", hostname="w2@host")
    assert doctor.check_workers() == (
        "workers", True, "1 seen in the last 5 min (PIPELINE_WORKER_SILENCE_MINUTES): w2@host",
    )  # fmt: skip


def test_beat_fails_when_it_never_ticked_or_went_silent(settings):
    assert doctor.check_beat()[1] is False
    assert "never ticked" in doctor.check_beat()[2]

    heartbeat_record(kind="beat", hostname="beat@host", now=timezone.now() - dt.timedelta(hours=1))

    name, ok, detail = doctor.check_beat()
    assert (name, ok) == ("beat", False)
    assert f"silent for over {settings.BEAT_SILENCE_SECONDS} s (last tick" in detail

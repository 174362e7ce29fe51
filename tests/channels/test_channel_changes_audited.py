"""Channel settings changed from their files are audited with the diff; doctor and the release
step name a file that differs from the database, and the release step syncs when opted in."""

import io

import pytest
from django.core.management import call_command

from channels_app.models import Channel
from core.models import AuditLog
from pipeline.doctor import check_channel_files
from tests.channels.test_sync_channels import sync, write_config

pytestmark = pytest.mark.django_db


def test_a_changed_budget_writes_an_audit_row_with_the_diff(tmp_path):
    write_config(tmp_path, "alpha")
    sync(tmp_path)
    write_config(tmp_path, "alpha", budget={"daily_usd": 25, "weekly_usd": 50})

    _, _, error = sync(tmp_path)

    assert error is None
    row = AuditLog.objects.get(action="channel_settings_changed")
    assert (row.channel_id, row.actor) == ("alpha", "sync_channels")
    assert row.metadata["diff"] == {"budget_daily_usd": ["10.00", "25.00"]}
    assert AuditLog.objects.filter(action="channel_created", channel_id="alpha").count() == 1


def test_a_file_gone_deactivates_its_channel_with_an_audit_row(tmp_path):
    path = write_config(tmp_path, "alpha")
    write_config(tmp_path, "beta")
    sync(tmp_path)
    path.unlink()

    sync(tmp_path)

    row = AuditLog.objects.get(action="channel_deactivated")
    assert row.channel_id == "alpha" and row.metadata["diff"] == {"is_active": [True, False]}


def test_doctor_names_a_file_that_differs_from_the_database(tmp_path, settings):
    settings.CHANNEL_CONFIG_DIR = tmp_path
    path = write_config(tmp_path, "alpha")
    sync(tmp_path)
    assert check_channel_files()[1] is True

    write_config(tmp_path, "alpha", max_concurrent=4)
    name, ok, detail = check_channel_files()

    assert (name, ok) == ("channel files", False)
    assert f"{path}: differs from the database in max_concurrent" in detail
    assert Channel.objects.get(pk="alpha").max_concurrent != 4  # doctor changes nothing


def _release():
    out = io.StringIO()
    call_command("release", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_release_step_reports_drift_and_syncs_only_when_opted_in(tmp_path, settings):
    settings.CHANNEL_CONFIG_DIR = tmp_path
    path = write_config(tmp_path, "alpha")

    output = _release()

    assert f"release: {path}: no channel in the database yet" in output
    assert not Channel.objects.filter(pk="alpha").exists()

    settings.SYNC_CHANNELS_ON_RELEASE = True
    _release()

    assert Channel.objects.filter(pk="alpha").exists()
    assert AuditLog.objects.get(action="channel_created").actor == "release step"

"""The models and the migrations agree, and Django's system checks are clean."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_it_has_a_migration_for_every_model_change(capsys):
    # With pending changes, --check exits with status 1 (SystemExit), which fails this test.
    call_command("makemigrations", "--check", "--dry-run")

    assert "No changes detected" in capsys.readouterr().out


@pytest.mark.django_db
def test_it_passes_the_system_checks(capsys):
    # Raises SystemCheckError on any error.
    call_command("check", "--fail-level", "WARNING")

    assert "System check identified no issues" in capsys.readouterr().out

"""`.env.example` lists every setting the code reads, each with its comment, for `make run`
(honcho reads `.env`) and `docker compose` (compose.yaml's env_file and interpolation read
`.env`), with no secret filled in."""

import re

from django.conf import settings
from honcho.environ import parse

from core.providers import PROVIDER_CAPS
from pipeline.step_tables import TABLES

BASE_DIR = settings.BASE_DIR
EXAMPLE = BASE_DIR / ".env.example"
ASSIGNMENT = re.compile(r"^#?([A-Z][A-Z0-9_]*)=(.*)$")
# Set by the runner or the test suite, never by an operator.
INTERNAL = {"VIDEOGEN_CORRELATION_ID", "VIDEOGEN_TEST_RUN", "DJANGO_SETTINGS_MODULE",
            "VIDEOGEN_FFMPEG_CHECK_CACHE", "PYTHONUNBUFFERED"}  # fmt: skip
# Read by Flower itself (flowerconfig.py checks it through a constant).
READ_BY_FLOWER = {"FLOWER_BASIC_AUTH"}
SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "AUTH", "WEBHOOK", "USERHASH")


def read_names():
    """Every environment variable the code reads by name."""
    settings_text = (BASE_DIR / "videogen" / "settings.py").read_text()
    names = set(
        re.findall(
            r"(?:env(?:\.\w+)?|env_positive_int|env_float|env_bool|env_secret|_required_secret)"
            r"\(\s*\"([A-Z][A-Z0-9_]+)\"",
            settings_text,
        )
    )
    names |= {f"SCRIPT_TIMEOUT_{name.upper()}" for name in TABLES.pipeline_scripts}
    names |= {f"PROVIDER_CAP_{name.upper()}" for name in PROVIDER_CAPS}
    read_outside_settings = [
        *(BASE_DIR / "scripts").glob("*.py"),
        BASE_DIR / "core" / "ffmpeg.py",  # the scripts' FFmpeg lookup (FFMPEG_BINARY)
        BASE_DIR / "videogen" / "flower_access.py",
    ]
    for path in read_outside_settings:
        names |= set(
            re.findall(
                r"(?:environ\.get|environ\[|secret|env_url|_positive_seconds)\(?\s*[\"']([A-Z][A-Z0-9_]+)[\"']",
                path.read_text(),
            )
        )
    compose = (BASE_DIR / "compose.yaml").read_text()
    names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose))
    names |= READ_BY_FLOWER
    return {name for name in names - INTERNAL if not name.endswith("_FILE")}


def example_lines():
    return EXAMPLE.read_text().splitlines()


def test_it_lists_every_variable_the_code_reads_and_no_other():
    listed = {match[1] for line in example_lines() if (match := ASSIGNMENT.match(line))}
    read = read_names()
    assert read - listed == set(), "missing from .env.example"
    assert listed - read == set(), "in .env.example but read nowhere"


def test_every_variable_has_its_comment():
    lines = example_lines()
    for number, line in enumerate(lines):
        if ASSIGNMENT.match(line):
            above = lines[number - 1]
            assert above.startswith("# ") or ASSIGNMENT.match(above), line


def test_honcho_and_compose_read_it_and_no_secret_is_filled_in():
    written = dict(match.groups() for line in example_lines() if (match := ASSIGNMENT.match(line)))
    uncommented = "\n".join(
        line[1:] if ASSIGNMENT.match(line) else line for line in example_lines()
    )
    # honcho leaves a NAME= without a value unset; compose sets it empty: the same to settings
    assert parse(uncommented) == {name: value for name, value in written.items() if value}
    for name, value in written.items():
        if any(marker in name for marker in SECRET_MARKERS):
            assert value == "", f"{name} has a value in .env.example"
    assert written["LOG_LEVEL"] == "INFO"


def test_a_copy_changes_nothing_until_a_setting_is_uncommented():
    assert parse(EXAMPLE.read_text()) == {}

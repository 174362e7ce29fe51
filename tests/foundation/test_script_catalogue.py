"""One list of the pipeline's scripts (each step's, pipeline/step_list.py) serves doctor, the
runner's timeouts and the README: a script added to the folder, or a timeout changed, shows in
all three."""

import re
from pathlib import Path

from django.conf import settings

from pipeline import doctor
from pipeline.step_tables import TABLES

REPO = Path(__file__).resolve().parents[2]
PIPELINE_SCRIPTS = TABLES.pipeline_scripts


def test_the_catalogue_lists_every_script_in_the_scripts_folder():
    scripts = {
        path.stem for path in (REPO / "scripts").glob("*.py") if not path.name.startswith("_")
    }
    assert scripts == set(PIPELINE_SCRIPTS)


def test_doctor_and_the_runner_s_timeouts_use_the_catalogue():
    assert doctor.PIPELINE_SCRIPTS == tuple(PIPELINE_SCRIPTS)
    assert set(settings.SCRIPT_TIMEOUTS) == set(PIPELINE_SCRIPTS)


def test_the_readme_lists_each_script_s_timeout_with_its_default():
    readme = (REPO / "README.md").read_text()
    rows = dict(re.findall(r"^\| `SCRIPT_TIMEOUT_([A-Z_]+)` \| `(\d+)` \|", readme, re.MULTILINE))
    assert rows == {name.upper(): str(seconds) for name, seconds in PIPELINE_SCRIPTS.items()}
    assert f"the {len(PIPELINE_SCRIPTS)} stateless command-line scripts" in readme

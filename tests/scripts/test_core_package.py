"""The scripts share code with the apps only through core.text and core.ffmpeg: plain Python that
imports without Django, found through PYTHONPATH (the runner sets it for its children)."""

import os
import pkgutil
import subprocess
import sys

import core.text
from tests.scripts.conftest import REPO, SCRIPTS

SHARED = ["core.ffmpeg", *(f"core.text.{m.name}" for m in pkgutil.iter_modules(core.text.__path__))]

# Any import of Django fails in this child: a shared module reaching for it fails loudly.
NO_DJANGO = """
import importlib.abc, sys
class NoDjango(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "django" or name.startswith("django."):
            raise ImportError(f"{name} imported by a module the scripts share")
sys.meta_path.insert(0, NoDjango())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
assert not [m for m in sys.modules if m.split(".")[0] == "django"]
print(len(sys.argv) - 1)
"""


def test_the_modules_the_scripts_share_import_with_django_absent():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    completed = subprocess.run(
        [sys.executable, "-c", NO_DJANGO, *SHARED], env=env, cwd=REPO,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout) == len(SHARED) >= 8


def test_a_script_run_without_the_core_package_on_its_path_exits_78_with_one_clear_line(
    tmp_path,
):
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    completed = subprocess.run(
        [sys.executable, str(SCRIPTS / "generate_storyboard.py"), "--help"], env=env,
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 78
    assert "Traceback" not in completed.stderr
    assert completed.stderr.strip().splitlines() == [
        "error: the project's core package is not importable: put the repository root on "
        "PYTHONPATH (PYTHONPATH=/path/to/videogen python scripts/...)"
    ]

"""Runs fake_script.py as this script (a real file, not a symlink, so copies keep it working).
exec keeps sys.argv[0], which names the script; runpy.run_path would overwrite it."""

from pathlib import Path

_source = Path(__file__).with_name("fake_script.py")
exec(compile(_source.read_text(), str(_source), "exec"), {"__name__": "__main__"})  # noqa: S102

# The integration fixtures live in tests/stack.py (a plugin every test directory shares); these
# names stay importable from here.
from tests.stack import FAKE_SCRIPTS, ROOT, Calls, Worker, process_alive, wait_for  # noqa: F401

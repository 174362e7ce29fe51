"""Side by side: `make test` runs the suite in two processes (pytest-xdist, `-n 2`). Each gets
a Redis database of its own (its Celery workers must not take the other's messages, and the
broker fixture empties its database), a data directory of its own, and (conftest.py) a test
database of its own.

Loaded with `-p tests.parallel` (pyproject.toml), so it runs before pytest-django loads the
settings; xdist names the process (gw0, gw1, ...) in PYTEST_XDIST_WORKER before that.
"""

import os
from urllib.parse import urlparse, urlunparse

# Databases 1-14: 0 is a developer's default, 15 is bench/pipeline.py's.
TEST_REDIS_DATABASES = 14


def _redis_url_for(url, index):
    parsed = urlparse(url)
    database = int(parsed.path.strip("/") or 0)
    # Next to the run's own database, within the tests' range.
    moved = (database - 1 + index) % TEST_REDIS_DATABASES + 1
    return urlunparse(parsed._replace(path=f"/{moved}"))


def _isolate(worker):
    index = int(worker.removeprefix("gw"))
    if os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = _redis_url_for(os.environ["REDIS_URL"], index)
    if os.environ.get("VIDEOGEN_DATA_DIR"):
        os.environ["VIDEOGEN_DATA_DIR"] = os.path.join(os.environ["VIDEOGEN_DATA_DIR"], worker)


if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    _isolate(worker)

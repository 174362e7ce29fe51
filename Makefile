# Everything runs from a virtual environment built from requirements-dev.lock (Python 3.11): the
# runtime lock (requirements.lock, all the image installs) plus the development and test tools.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SERVE ?= 1
# The test suite talks to real PostgreSQL and Redis (override to point elsewhere).
# Each run gets its own test database and Redis database (1-14; 15 is the benchmark's), so runs
# side by side do not collide.
TEST_RUN := $(shell python3 -c "import os; print(os.getppid())")
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/videogen
TEST_REDIS_URL ?= redis://127.0.0.1:6379/$(shell expr $(TEST_RUN) % 14 + 1)

.PHONY: venv demo test lint check bench lock clean run image-check

$(BIN)/.installed: requirements.lock requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.lock
	touch $@

venv: $(BIN)/.installed

demo: venv
	SERVE=$(SERVE) $(BIN)/python -m pipeline.demo

# The Procfile's processes under honcho: the admin's static files collected (the image does it at
# build), its release step (honcho would run `release` beside the others and stop them all when
# it exits), then web (on PORT), worker, beat and flower, with the virtualenv's gunicorn and
# celery on PATH. honcho reads .env, if present.
PORT ?= 8000
run: venv
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	PATH="$(CURDIR)/$(BIN):$$PATH" sh -c "$$(sed -n 's/^release: //p' Procfile)"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start --port $(PORT) web worker beat flower

# The suite runs in TEST_PROCESSES processes (pytest-xdist; 0 runs it in this one): most of its
# time is spent waiting on workers, servers and timers, so two processes fit two cores.
TEST_PROCESSES ?= 2
test: venv
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	DJANGO_SECRET_KEY=test-secret-key-not-for-production FIELD_ENCRYPTION_KEY=test-salt \
	VIDEOGEN_DATA_DIR=$(CURDIR)/var/test LOG_LEVEL=WARNING VIDEOGEN_TEST_RUN=$(TEST_RUN) \
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist worksteal $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check .

check: venv
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

# Builds the image (on a stand-in for python:3.11-slim made from Debian's packages when no
# registry answers) and runs its release step, web, worker and beat against this machine's
# PostgreSQL and Redis, printing the image's size and each check; removes all it made. Needs root
# (Docker, apt). See docker/image-check.sh.
image-check:
	docker/image-check.sh

# The scripts the benchmarks run import the core package from the repository root.
bench: export PYTHONPATH = $(CURDIR)
bench: venv
	$(BIN)/python bench/assembly.py
	$(BIN)/python bench/cut_check.py
	$(BIN)/python bench/local_provider.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/media_store.py

# Regenerate the pinned locks from requirements.in and requirements-dev.in (needs network access
# to PyPI): the runtime lock first, since the development lock is constrained to it.
LOCK_FLAGS := --quiet --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	$(PYTHON) -m venv /tmp/videogen-lock-venv
	/tmp/videogen-lock-venv/bin/pip install --quiet pip-tools
	/tmp/videogen-lock-venv/bin/pip-compile $(LOCK_FLAGS) -o requirements.lock requirements.in
	/tmp/videogen-lock-venv/bin/pip-compile $(LOCK_FLAGS) -o requirements-dev.lock requirements-dev.in

clean:
	rm -rf $(VENV) var

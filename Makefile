# Exolve Voice Portal. Two commands: `make run` (serve it) and `make test` (the suite).
# Both start from nothing but Python 3.12+ and make.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Where `make test` looks for PostgreSQL (user postgres, trust auth on CI machines).
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/exolve_portal
HOST ?= 127.0.0.1
PORT ?= 8000

# The first Python 3.12+ found: $PYTHON, python3.13/3.12 on PATH, pyenv's, then python3.
PYTHON ?= $(shell for p in python3.13 python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$p; break; }; done)

.PHONY: run test test-sqlite test-postgres bench lint messages check-python clean install check-deploy test-deploy

check-python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "Exolve Voice Portal needs Python 3.12 or newer (with venv). None was found:"; \
		echo "install python3.12 (or set PYTHON=/path/to/python3.12) and run make again."; \
		exit 1; fi

$(VENV)/.installed: requirements.txt | check-python
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

# Production install (docs/deploy.md): runtime dependencies only, and var/ for the
# systemd units' ReadWritePaths.
install: $(VENV)/.installed
	@mkdir -p var

# On a server: is the configuration in .env (or the environment) fit for production?
# Fails on any warning of `manage.py check --deploy`.
check-deploy: $(VENV)/.installed
	$(PY) manage.py check --deploy --fail-level WARNING

# On this machine: exercise the deploy guide (production settings, gunicorn, whitenoise,
# PostgreSQL, systemd units, backups). Part of `make test` too.
test-deploy: $(VENV)/.installed-dev
	$(PY) -m pytest tests/site/test_settings.py tests/site/test_deploy.py tests/site/test_security.py $(PYTEST_ARGS)

run: $(VENV)/.installed
	@mkdir -p var
	$(PY) manage.py migrate --no-input
	$(PY) manage.py setup_roles
	$(PY) manage.py ensure_admin
	$(PY) manage.py sync_caller_numbers --if-never-synced
	@echo "Serving http://$(HOST):$(PORT)/admin/ with a task worker and a webhook worker. Ctrl-C stops them all."
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) manage.py db_worker --no-reload --interval 0.5 --queue-name default & \
	$(PY) manage.py db_worker --no-reload --interval 0.5 --queue-name webhooks & \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

test: $(VENV)/.installed-dev
	@echo "== Layers (.importlinter) =="
	$(VENV)/bin/lint-imports
	@echo "== Test suite on SQLite =="
	$(PY) -m pytest $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory test-postgres

test-postgres: $(VENV)/.installed-dev
	@if $(PY) -c "import psycopg, sys; psycopg.connect('$(TEST_POSTGRES_URL)'.rsplit('/', 1)[0] + '/postgres', connect_timeout=3).close()" 2>/dev/null; then \
		echo "== Test suite on PostgreSQL =="; \
		DATABASE_URL=$(TEST_POSTGRES_URL) $(PY) -m pytest -m "not browser" $(PYTEST_ARGS); \
	elif [ -n "$$CI" ]; then \
		echo "PostgreSQL does not answer at $(TEST_POSTGRES_URL): CI must test on it."; exit 1; \
	else \
		echo "PostgreSQL does not answer at $(TEST_POSTGRES_URL): skipped the PostgreSQL run (CI fails instead)."; \
	fi

bench: $(VENV)/.installed-dev
	$(PY) bench/run_all.py

# For maintainers (needs GNU gettext: apt-get install gettext): collect the translatable
# strings into locale/ru/LC_MESSAGES/django.po, then compile the .mo files that ship in
# the repository (so `make run` and `make test` need no gettext tools). Translate every
# new or fuzzy entry in the .po, then run this again; tests/site/test_i18n.py checks both.
MESSAGES_IGNORE := --ignore=tests/* --ignore=bench/* --ignore=docs/* --ignore=deploy/* --ignore=staticfiles/* --ignore=var/*
messages: $(VENV)/.installed
	$(PY) manage.py makemessages --locale=ru --no-obsolete --add-location=file $(MESSAGES_IGNORE)
	$(PY) manage.py compilemessages --locale=ru --ignore=.venv $(MESSAGES_IGNORE)

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) staticfiles

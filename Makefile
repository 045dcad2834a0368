# Every target sets itself up: a virtualenv with Python 3.12+, the project installed, PostgreSQL up.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test lint run install clean bench soak

$(STAMP): pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(VENV)/bin/mypy .

test: $(STAMP)
	scripts/ensure-postgres
	scripts/ensure-chromium
	$(MAKE) --no-print-directory lint
	# A fresh test database every time: one left by an older checkout may have another schema.
	DEBUG=1 $(VENV)/bin/pytest --create-db

# The app on http://127.0.0.1:8000 with its worker, until Ctrl-C (any stop ends both: see
# scripts/supervise.py); the demo without credentials.
run: $(STAMP)
	scripts/run-local

# Measures every catalogue read (API, dashboard, feed, CSV) under gunicorn with wrk on a 31-day and
# a year-long data set, against a one-file Django baseline serving the same bytes (both up at once,
# loaded in alternation), and times the sync against the fake Spotify; writes docs/benchmarks.md.
# Installs wrk from Debian when missing (as root). About 16 minutes; BENCH_SECONDS, BENCH_DATASETS
# etc. (bench/run.py) make a short run.
bench: $(STAMP)
	scripts/ensure-postgres
	$(PY) bench/run.py

# Soak: 60 s of concurrent API load on loopback while syncs run with faults in the fake Spotify;
# prints the figures (SOAK_REPORT=file also writes them as JSON). CI runs 10 s of it in `make test`.
soak: $(STAMP)
	scripts/ensure-postgres
	SOAK_SECONDS=$${SOAK_SECONDS:-60} DEBUG=1 \
		$(VENV)/bin/pytest -p no:cacheprovider -q -s tests/e2e/test_soak.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache

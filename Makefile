# Two commands do everything on a fresh clone: `make run` and `make test`. Both set up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: setup run demo test test-unit test-future lint audit typecheck validate build bench load costs capacity clean

setup: $(STAMP)

# Re-installs only when the project's dependencies change.
# The ad server's client (shared/pulse-client) is a package of its own, installed beside.
$(STAMP): pyproject.toml shared/pulse-client/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e shared/pulse-client
	@touch $(STAMP)

run: setup
	$(BIN)/python -m pulse_local.run

demo: setup
	$(BIN)/python -m pulse_local.run --demo

# The suite spreads over one process per core (pytest-xdist; a module whose tests share a costly
# fixture stays on one worker, `xdist_group`), then the API fuzzing runs in one process (its tests
# share a node id, which xdist would run once). TEST_WORKERS=0 runs everything in this process.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -q
SPREAD := -n $(TEST_WORKERS) --dist loadgroup

test: setup
	$(PYTEST) $(SPREAD) -m "not fuzz"
	$(PYTEST) -m fuzz

# The fast lane: every test that needs no moto and no build (domain, readers, rules, layout), in seconds.
test-unit: setup
	$(PYTEST) -m "not moto and not slow"

# The suite again with this process's wall clock five years ahead (time-machine moves datetime.now
# and time.time; sleeps and the monotonic clock keep real time): every test runs on the clock the
# composition root hands out, so none may lean on the date of the run. The fault sweeps and the
# fuzzing are left out of this lane: they rerun, hundreds of times, invocations and routes that the
# rest of the suite runs here once (CI stays under 30 minutes); so are the state machines' twins
# (a large snapshot or month end run both ways on one clock) and tests/reliability, which reruns
# the invocations of the unit, integration and e2e suites under faults, storms and hostile input;
# `make test` runs them all.
test-future: setup
	$(PYTEST) $(SPREAD) -m "not fuzz and not sweep and not twin and not reliability" --clock-years-ahead 5

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared functions infra tests

# Supply chain. bandit checks our code (its skips, with reasons, in pyproject.toml [tool.bandit]; a
# false positive gets `# nosec BXXX` and a reason on its line). pip-audit checks the Lambda layer's
# pins together with everything they pull in (resolved as `sam build` installs them), then this
# environment's dev tools, against PyPI's vulnerability data. No finding is ignored. Where PyPI
# serves its per-release data, a package that could not be audited fails the run (--strict); where
# that data is out of reach (as on this project's build machines), such packages are listed as
# skipped and the audit cannot fail on them: the line "audit coverage" says which case ran.
PIP_AUDIT_FLAGS ?= $(shell $(BIN)/python -c "import urllib.request as u; u.urlopen('https://pypi.org/pypi/pip/24.0/json', timeout=5); print('--strict')" 2>/dev/null)
audit: setup
	$(BIN)/bandit --quiet -c pyproject.toml -r shared functions infra
	@echo "audit coverage: $(if $(PIP_AUDIT_FLAGS),strict (every package audited),per-release data out of reach: packages skipped)"
	$(BIN)/pip-audit --progress-spinner off $(PIP_AUDIT_FLAGS) -r infra/layer/requirements.txt
	$(BIN)/pip-audit --progress-spinner off $(PIP_AUDIT_FLAGS) --skip-editable

validate: setup
	$(BIN)/sam validate --lint

build: setup
	$(BIN)/sam build

bench: setup
	$(BIN)/python -m pulse_local.bench

# A bounded load (at most 60 s, 127.0.0.1 only) on the ad server's lookups, with locust: on a stack of
# its own by default; `make load LOAD_ARGS="--target http://127.0.0.1:3000"` loads `make run`'s API.
# Fails on any 5xx.
LOAD_ARGS ?=
load: setup
	$(BIN)/python -m pulse_local.load $(LOAD_ARGS)

# Cost per million lookups through each front door, from AWS's public list prices (no AWS call).
costs: setup
	$(BIN)/python -m pulse_local.costs --before

# The videos snapshot and the month end sized at platform scale (10^7-10^9 videos, 10^5-10^7 creators):
# time, requests, cost and the limit that binds first, by arithmetic from measured figures (no AWS call).
capacity: setup
	$(BIN)/python -m pulse_local.capacity

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

# Two commands do everything on a fresh clone: `make run` and `make test`. Both set up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(BIN):$(PATH)
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1

.PHONY: setup run demo test lint typecheck validate build bench clean

setup: $(STAMP)

# Re-installs only when the project's dependencies change.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: setup
	$(BIN)/python -m pulse_local.run

demo: setup
	$(BIN)/python -m pulse_local.run --demo

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared functions infra tests

validate: setup
	$(BIN)/sam validate --lint

build: setup
	$(BIN)/sam build

bench: setup
	$(BIN)/python -m pulse_local.bench

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

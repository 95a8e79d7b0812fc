# Two commands on a fresh machine: `make quickstart` and `make test`.
# Each creates .venv on first use with the extras it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CODE := $(wildcard sdk functions tests bench examples infra)

.PHONY: quickstart test docker-test lint typecheck unit e2e bench bench-schedules bench-images bench-code-sources bench-workers dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.local-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[local]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,local,infra]'
	touch $@ $(VENV)/.local-installed

quickstart: $(VENV)/.local-installed
	$(BIN)/pushpool quickstart

dev: $(VENV)/.local-installed
	$(BIN)/pushpool dev

# two workers, each test file on one of them (the e2e files share their emulator within a file)
test: $(VENV)/.dev-installed lint typecheck
	$(BIN)/pytest -n 2 --dist loadfile -m "not docker"

# the docker tier (left out of `make test`): finds the engine at DOCKER_HOST or starts one under
# ~/.cache/pushpool/docker (root: installs docker.io debootstrap docker-registry), builds the base
# image once, then runs the tests marked `docker`
docker-test: $(VENV)/.dev-installed
	-$(BIN)/python -m pushpool.dev.engine
	$(BIN)/pytest -m docker tests/containers

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy

unit: $(VENV)/.dev-installed
	$(BIN)/pytest tests/unit

e2e: $(VENV)/.dev-installed
	$(BIN)/pytest tests/e2e

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/dispatch.py --quick
	$(BIN)/python bench/schedules.py --quick
	$(BIN)/python bench/imports.py

bench-images: $(VENV)/.dev-installed
	$(BIN)/python bench/images.py

bench-schedules: $(VENV)/.dev-installed
	$(BIN)/python bench/schedules.py --quick

bench-code-sources: $(VENV)/.dev-installed
	$(BIN)/python bench/code_sources.py

bench-workers: $(VENV)/.dev-installed
	$(BIN)/python bench/workers.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

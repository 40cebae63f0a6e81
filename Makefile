# finsent — `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, pinned: on these CPU machines 2.13.0 is a local CPU wheel; unpinned torch pulls CUDA.
TORCH_PIN ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: help install system-deps run up down status test lint typecheck bench clean

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q $(TORCH_PIN)
	$(BIN)/python -m pip install -q -e ".[dev]"
	@touch $@

install: $(BIN)/.installed ## Create .venv and install finsent (torch pinned first)

run: install ## Start the embedded stack, stream demo news through the models, serve the dashboard
	$(BIN)/finsent run

up: install ## Start embedded PostgreSQL + broker only
	$(BIN)/finsent up

down: install ## Stop the embedded services
	$(BIN)/finsent down

status: install ## Show what runs where
	$(BIN)/finsent status

# The browser test drives Debian's chromium (never a downloaded browser build).
system-deps: ## Install chromium for the browser test (Debian/apt, needs root)
	@command -v chromium >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); } || \
		echo "chromium not installed: the browser test will skip (it fails in CI)"

test: install system-deps ## Run the whole test suite against real embedded services
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)  # two processes: see OWN_PROCESS in tests/conftest.py

lint: install ## ruff lint + format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy maps files to modules by folder, so it is run over a tree of links laid out as installed
# (finsent/ingest -> ingest/, ...): the same namespace `pip install` makes with package-dir.
MYPY_TREE := build/mypy-tree
STAGE_DIRS := ingest stream models alerts storage dashboards
# benchmarks/ and tests/support/ (not installed) are checked too: they import the packages' types.
typecheck: install ## mypy (strict) on the installed namespace, the benchmarks and the test support
	@rm -rf $(MYPY_TREE) && mkdir -p $(MYPY_TREE)/finsent $(MYPY_TREE)/tests
	@ln -s $(CURDIR)/finsent/* $(MYPY_TREE)/finsent/
	@for s in $(STAGE_DIRS); do ln -s $(CURDIR)/$$s $(MYPY_TREE)/finsent/$$s; done
	@ln -s $(CURDIR)/benchmarks $(MYPY_TREE)/benchmarks && ln -s $(CURDIR)/tests/support $(MYPY_TREE)/tests/support
	cd $(MYPY_TREE) && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p finsent -p benchmarks -p tests.support

# benchmarks/ is not installed: `finsent bench` imports it from this checkout. The pipeline bench needs `make up`.
bench: install ## Benchmarks in benchmarks/ (print figures; not tests)
	$(BIN)/finsent bench inference
	$(BIN)/finsent bench pipeline

clean: ## Remove the venv and local state
	rm -rf $(VENV) var

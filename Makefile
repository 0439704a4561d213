# One command each: serve, test, check, bench. `serve` and `test` do the whole set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
UV_VERSION := 0.13.9
export UV_LINK_MODE := copy

.PHONY: help install system python web serve test test-cgroup2 check bench clean

help:
	@echo "make serve  - install everything, then run the server on 127.0.0.1:8000 (SQLite, local Ray)"
	@echo "make test   - install everything, then run the whole test suite"
	@echo "make check  - ruff + mypy"
	@echo "make bench  - run the benchmarks in load/ and print their figures"

install: system python web

# System packages (bubblewrap, nsjail, docker.io + dockerd, chromium): needs root; skipped with a note otherwise.
# Under CI=true a step that fails is fatal (scripts/install-system.sh), and so is not being root.
system:
	@if [ "$$(id -u)" = 0 ]; then bash scripts/install-system.sh; \
	 elif [ "$${CI:-}" = true ]; then echo "make: CI=true needs root to install the system packages" >&2; exit 1; \
	 else echo "make: not root, skipping system packages (classroom doctor says what is missing)"; fi

python:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install -q "uv==$(UV_VERSION)"
	@uv sync --frozen --quiet

web:
	@if [ -f web/package.json ]; then \
	   cd web && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } \
	     && npm run --silent build; \
	 fi

serve: install
	$(PY) -m classroom migrate
	$(PY) -m classroom serve

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# The wider sandbox tests under a real cgroup v2 hierarchy, in a VM (for cgroup v1 hosts): see scripts/cgroup2_vm.sh.
# `make test` runs the cgroup tests and the bwrap/nsjail self-tests there (tests/execution/test_cgroup2_vm.py).
test-cgroup2: python
	scripts/cgroup2_vm.sh $(CURDIR) '.venv/bin/python -m pytest -q -p no:cacheprovider tests/execution/test_cgroups.py \
	  tests/execution/test_selftest.py tests/execution/test_backends.py tests/execution/test_leftovers.py \
	  tests/execution/test_seccomp.py tests/execution/test_exploits.py -k "not docker"'

check: python
	.venv/bin/ruff check .
	.venv/bin/ruff format --check classroom actors collab execution analytics
	.venv/bin/mypy

bench: install
	@for b in load/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf .venv web/node_modules web/dist .mypy_cache .ruff_cache .pytest_cache

# One command each: serve, test, check, bench. `serve` and `test` do the whole set-up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PY := .venv/bin/python
UV_VERSION := 0.13.9
export UV_LINK_MODE := copy

.PHONY: help install system python web serve test check bench clean

help:
	@echo "make serve  - install everything, then run the server on 127.0.0.1:8000 (SQLite, local Ray)"
	@echo "make test   - install everything, then run the whole test suite"
	@echo "make check  - ruff + mypy"
	@echo "make bench  - run the benchmarks in load/ and print their figures"

install: system python web

# System packages (bubblewrap, nsjail, docker.io + dockerd, chromium): needs root; skipped with a note otherwise.
system:
	@if [ "$$(id -u)" = 0 ]; then bash scripts/install-system.sh; \
	 else echo "make: not root, skipping system packages (classroom doctor says what is missing)"; fi

python:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install -q "uv==$(UV_VERSION)"
	@uv sync --frozen --quiet

web:
	@if [ -f web/package.json ]; then \
	   cd web && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build; \
	 fi

serve: install
	$(PY) -m classroom migrate
	$(PY) -m classroom serve

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

check: python
	.venv/bin/ruff check .
	.venv/bin/ruff format --check classroom actors collab execution analytics
	.venv/bin/mypy

bench: install
	@for b in load/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf .venv web/node_modules web/dist .mypy_cache .ruff_cache .pytest_cache

# Two commands for a fresh machine: `make dev` starts everything, `make test` runs the whole suite.
VENV ?= .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: dev test lint typecheck unit clean bench

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

dev: $(STAMP)
	$(VENV)/bin/vangnet dev

test: $(STAMP) lint typecheck
	$(VENV)/bin/pytest -q -ra

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: $(STAMP)
	$(VENV)/bin/mypy .

unit: $(STAMP)
	$(VENV)/bin/pytest -q tests/unit

# One benchmark run on its own embedded stack (3–4 minutes; not part of `make test`), see docs/performance.md.
# BENCH_ARGS passes options, e.g. `make bench BENCH_ARGS="--json bench.json"`.
bench: $(STAMP)
	$(VENV)/bin/python scripts/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

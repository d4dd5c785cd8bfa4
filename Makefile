# Two commands for a fresh machine: `make dev` starts everything, `make test` runs the whole suite.
VENV ?= .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# The web application's front-end files: pinned in package-lock.json, installed from the npm registry, served
# from api/web/static/vendor (never a CDN at run time).
VENDOR := api/web/static/vendor/.installed

.PHONY: dev test lint typecheck unit clean bench

$(STAMP): pyproject.toml
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

$(VENDOR): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@rm -rf api/web/static/vendor && mkdir -p api/web/static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/chart.js/dist/chart.umd.min.js api/web/static/vendor/
	@touch $@

dev: $(STAMP) $(VENDOR)
	$(VENV)/bin/vangnet dev

test: $(STAMP) $(VENDOR) lint typecheck
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

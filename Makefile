# Two commands for a fresh machine: `make dev` starts everything, `make test` runs the whole suite.
VENV ?= .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# The web application's front-end files: pinned in package-lock.json, installed from the npm registry, served
# from api/web/static/vendor (never a CDN at run time).
VENDOR := api/web/static/vendor/.installed

.PHONY: dev test lint typecheck unit clean bench soak bytecode

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

# Bytecode for the project's own modules, as the image has it (deploy/Dockerfile runs compileall): the workflow
# sandbox re-imports the modules that define workflows for every workflow run, and where PYTHONDONTWRITEBYTECODE is
# set and no .pyc exists it compiles their source each time (about a tenth of the worker's CPU). Stale files are
# recompiled by Python itself (it checks each source's time stamp).
bytecode: $(STAMP)
	@$(VENV)/bin/python -m compileall -q api activities schemas vangnet worker workflows

dev: $(STAMP) $(VENDOR) bytecode
	$(VENV)/bin/vangnet dev

test: $(STAMP) $(VENDOR) lint typecheck bytecode
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
bench: $(STAMP) bytecode
	$(VENV)/bin/python scripts/bench.py $(BENCH_ARGS)

# Soak under random kills of the worker, the API and the Temporal server (its own `vangnet dev`; at most 20
# minutes, not part of `make test`), see docs/reliability.md. SOAK_ARGS passes options, e.g. SOAK_ARGS="--minutes 5".
soak: $(STAMP) bytecode
	timeout -s INT -k 60 1200 $(VENV)/bin/python scripts/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
	find . -name __pycache__ -not -path './node_modules/*' -prune -exec rm -rf {} +

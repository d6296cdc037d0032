# tickerhouse — the two commands the README promises, plus a few conveniences.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

export DBT_SEND_ANONYMOUS_USAGE_STATS := False
export RUNTIME__DLTHUB_TELEMETRY := false
export MLFLOW_DISABLE_TELEMETRY := true

.PHONY: run test test-fast test-slow install bench lint clean chromium airflow

run: $(STAMP)  ## the daily pipeline end to end on the bundled emulator (or your keys)
	$(BIN)/tickerhouse run

test: $(STAMP) chromium  ## every test: fast ones first, then the heavier end-to-end cases
	$(PYTEST) -m "not slow" -q
	$(PYTEST) -m slow -q; status=$$?; [ $$status -eq 0 ] || [ $$status -eq 5 ]

test-fast: $(STAMP)
	$(PYTEST) -m "not slow" -q

airflow: $(STAMP)  ## local Airflow (standalone, LocalExecutor, Postgres metadata); prints the UI login
	$(BIN)/tickerhouse airflow start

bench: $(STAMP)  ## benchmarks; results in docs/benchmarks.md
	for script in bench/bench_*.py; do $(BIN)/python -m bench.$$(basename $$script .py) || exit 1; done

install: $(STAMP)

# The report's test renders the page in Debian's headless chromium; without one (and no way to
# install it) that test skips and says why.
chromium:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
		&& apt-get install -y -q chromium >/dev/null 2>&1; } || echo "chromium not installed: the report's browser test will skip"

# The venv is reused while pyproject.toml and the set of top-level packages are unchanged (an
# editable install maps the packages it saw). torch goes first, pinned: that takes the CPU
# wheel; left to the resolver, torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml $(wildcard */__init__.py)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "tickerhouse needs Python 3.11 (found %d.%d)" % sys.version_info[:2]' \
		|| { echo "error: set PYTHON=python3.11 (make run PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf dbt_project/target dbt_project/logs .pytest_cache

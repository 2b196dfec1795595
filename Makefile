# The two set-up commands: `make run` (the panel with demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint bench bench-quick chromium pgbouncer wrk

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

run: $(INSTALLED)
	SKYPANEL_LOG_FORMAT=$${SKYPANEL_LOG_FORMAT:-console} $(BIN)/skypanel demo

lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# The browser tests drive Debian's Chromium; install it when missing (with CI=true, fail if we cannot).
chromium:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium) \
		|| { echo "Chromium is missing and could not be installed"; test "$$CI" != true; }

# One test runs the panel through PgBouncer (Debian's package); install it when missing.
pgbouncer:
	@test -x /usr/sbin/pgbouncer || (apt-get update && apt-get install -y pgbouncer) \
		|| { echo "PgBouncer is missing and could not be installed"; test "$$CI" != true; }

test: lint chromium pgbouncer
	$(BIN)/pytest

# Benchmarks drive the panel with wrk (Debian's package); install it when missing.
wrk:
	@command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)

bench: $(INSTALLED) wrk
	$(BIN)/python -m bench.run

bench-quick: $(INSTALLED) wrk
	$(BIN)/python -m bench.run --quick

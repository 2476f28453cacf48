# The two commands of the README: `make run` and `make test`. Both set up what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test unit integration lint format bench clean

$(INSTALLED): pyproject.toml constraints.txt
	scripts/ensure-python-venv.sh $(PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

install: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/tradebot serve --host $(HOST) --port $(PORT)

# Lint, then unit and integration tests against throwaway PostgreSQL and Redis
# servers that the test session starts on free loopback ports and stops. The
# domain's line coverage, from its unit tests, is reported and must stay at 95 %
# or more; the integration tests run without the coverage tracer, which doubles
# the time of the HTTP-heavy ones (schema fuzzing: 87 s without, 180 s with). The
# numba kernel's property tests prove an adapter equal to the domain's reference and
# add nothing to the domain's coverage: they too run without the tracer (86 s
# instead of about 190 s).
KERNEL_TESTS := $(wildcard tests/unit/test_kernel_*.py) tests/unit/test_batch_kernel.py

test: $(INSTALLED) lint
	scripts/ensure-test-services.sh
	$(BIN)/pytest -q --durations=10 --cov --cov-report=term --cov-fail-under=95 tests/unit \
		$(addprefix --ignore=,$(KERNEL_TESTS))
	$(BIN)/pytest -q --durations=5 $(KERNEL_TESTS)
	TRADEBOT_REQUIRE_SERVICES=1 $(BIN)/pytest -q --durations=20 tests/integration

unit: $(INSTALLED)
	$(BIN)/pytest -q tests/unit

integration: $(INSTALLED)
	scripts/ensure-test-services.sh
	TRADEBOT_REQUIRE_SERVICES=1 $(BIN)/pytest -q tests/integration

lint: $(INSTALLED)
	$(BIN)/ruff check src tests alembic benchmarks
	$(BIN)/ruff format --check src tests alembic benchmarks
	$(BIN)/mypy

format: $(INSTALLED)
	$(BIN)/ruff format src tests alembic benchmarks
	$(BIN)/ruff check --fix src tests alembic benchmarks

# The benchmarks compare against vectorbt and backtesting.py: the `bench` extra,
# installed here only (not a runtime dependency).
bench: $(INSTALLED)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	scripts/ensure-wrk.sh
	scripts/ensure-test-services.sh
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

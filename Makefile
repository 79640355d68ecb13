# Two commands for a new user: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-large lint demo bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/familia run

demo: $(STAMP)
	$(BIN)/familia demo

# The tests in 4 processes (pytest-xdist): most of the suite waits (Discord's rate limits,
# timeouts, subprocesses) rather than computes, so 4 keep 2 cores busy. Tests are handed out
# one at a time (--maxschedchunk 1), the slow ones first (tests/conftest.py), so the longest
# never end the run alone. `pytest` alone is serial.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy bot cogs
	$(BIN)/pytest -q -n 4 --maxschedchunk 1

test-large: $(STAMP)
	FAMILIA_LARGE=1 $(BIN)/pytest -q tests/test_message_limits_large.py

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

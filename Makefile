# The README's two commands are `make run` and `make test`; each prepares the machine first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run demo test lint bench clean

setup:
	@bash scripts/bootstrap.sh

run: setup
	$(BIN)/headset-emulator demo

demo: run

lint: setup
	$(BIN)/ruff check emulator tests scripts
	$(BIN)/ruff format --check emulator tests scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: setup
	$(BIN)/python -m tests.benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

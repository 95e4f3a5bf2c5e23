# The README's two commands are `make run` and `make test`; each prepares the machine first.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup run demo test quick lint bench package docs clean

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

# The developer's loop: the lint and the unit tests (no slow, interop, wheel or bundle tests).
quick: lint
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not slow" tests/unit

bench: setup
	$(BIN)/python -m tests.benchmarks

# The one-folder desktop bundle: dist/headset-emulator/ (packaging/README.md).
package: setup
	$(BIN)/pyinstaller --noconfirm --clean --workpath build/pyinstaller --distpath dist packaging/headset-emulator.spec
	@du -sh dist/headset-emulator

# The documentation site (mkdocs.yml) in site/; `$(BIN)/mkdocs serve` previews it while editing.
docs: setup
	$(BIN)/pip install --quiet -e '.[docs]'
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) site .mypy_cache .ruff_cache .pytest_cache .hypothesis

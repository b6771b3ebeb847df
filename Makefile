# The two commands of the README: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv bench clean docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/python -m watchkeeper.warmup
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/watchkeeper demo --out out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/decode.py

docs: $(STAMP)
	$(BIN)/python -m watchkeeper.docgen docs/cli.md

clean:
	rm -rf $(VENV) out build src/*.egg-info

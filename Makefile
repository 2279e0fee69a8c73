# The two commands of the README: `make tables` (the paper's complexity tables) and `make test`.
# Both create the virtual environment in .venv on first use (torch, timm, pytest, ruff) and reuse it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

.PHONY: env tables test lint
env: $(BIN)/.installed

tables: $(BIN)/.installed
	$(BIN)/hrnet tables

lint: $(BIN)/.installed
	$(BIN)/ruff check hrnet tests benchmarks

test: $(BIN)/.installed
	$(BIN)/ruff check hrnet tests benchmarks
	$(BIN)/python -m pytest -q

# The two commands of the README: `make tables` (the paper's complexity tables) and `make test`.
# `make test` first creates the virtual environment in .venv (torch, timm, pytest, ruff and the OpenMMLab
# stack, see tools/setup_env.sh) and reuses it afterwards; `make tables` needs only the core and timm.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

$(BIN)/.core: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements/openmmlab.txt -e '.[timm]'
	touch $@

$(BIN)/.installed: pyproject.toml requirements/openmmlab.txt tools/setup_env.sh tools/build_mmcv.sh
	PYTHON=$(PYTHON) tools/setup_env.sh $(VENV)
	touch $(BIN)/.core $@

.PHONY: env tables test quick lint timm-suite installed-check
env: $(BIN)/.installed

tables: $(BIN)/.core
	$(BIN)/hrnet tables

lint: $(BIN)/.installed
	$(BIN)/ruff check hrnet tests benchmarks configs tools

test: $(BIN)/.installed
	$(BIN)/ruff check hrnet tests benchmarks configs tools
	$(BIN)/python -m pytest -q
	$(MAKE) timm-suite
	$(MAKE) installed-check

# The developer's loop: ruff, then the tests not marked slow (no training through the frameworks' Runners, no
# benchmark runs; neither timm's suite nor the installed wheel). `make test` runs everything.
quick: $(BIN)/.installed
	$(BIN)/ruff check hrnet tests benchmarks configs tools
	$(BIN)/python -m pytest -q -m "not slow"

# timm's own model tests (tests/test_models.py of the installed timm's sdist, cached under ~/.cache/hrnet) on the
# hrnet* names with our registration, TorchScript included; pytest arguments in TIMM_SUITE_ARGS (e.g. -x).
timm-suite: $(BIN)/.installed
	$(BIN)/python tools/timm_suite.py $(TIMM_SUITE_ARGS)

# The wheel as a user installs it (tools/check_installed.sh): built from the sdist, installed without a source tree
# into one environment per requirements/core-*.txt (the oldest and the newest torch / timm admitted, cached under
# ~/.cache/hrnet/venvs), run from outside the clone, with the sdist's tests against it.
installed-check: $(BIN)/.installed
	PYTHON=$(PYTHON) tools/check_installed.sh

# One-command entry points. `make grade` sets up .venv once and grades exercises/;
# `make test` sets up the test environment and runs the kit's own test suite (what CI runs).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Where to fetch torch from; e.g. https://download.pytorch.org/whl/cpu for the CPU-only build.
TORCH_INDEX ?=
ARGS ?=

.PHONY: setup setup-test grade test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/pip install --quiet -c constraints.txt torch $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	touch $@

$(VENV)/.kit: pyproject.toml constraints.txt $(VENV)/.torch
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.kit-test: pyproject.toml constraints.txt $(VENV)/.torch
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,instructor]'
	touch $@ $(VENV)/.kit

setup: $(VENV)/.kit

setup-test: $(VENV)/.kit-test

# Failing checks are the normal state while working: `grade` itself reports them (and its exit
# code is for scripts), so make does not add an error line of its own.
grade: setup
	@$(BIN)/grade $(ARGS) || true

test: setup-test
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest $(ARGS)

bench: setup
	$(BIN)/python benchmarks/grade_speed.py

clean:
	rm -rf $(VENV) .grade

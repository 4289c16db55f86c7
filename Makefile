# The course's commands. `make lab` and `make test` work on a fresh machine with Python 3.10+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# ISBI 2012 from a local copy beside the clone (as on CI), through the loader's one setting;
# without it the notebooks download the files (checksummed) on first use.
ISBI_LOCAL := $(abspath $(wildcard ../shared/data/isbi2012_membrane))
ifneq ($(ISBI_LOCAL),)
export UNET_COURSE_ISBI2012_SOURCE ?= $(ISBI_LOCAL)
endif

.PHONY: help install lab lint test test-package test-notebooks test-jax notebooks student bench clean

help:
	@echo "make lab        create .venv, install the course, open JupyterLab on notebooks/"
	@echo "make test       install if needed, ruff (lint + format check), every test on all cores (package + notebooks via nbval, FAST mode)"
	@echo "make lint       ruff check and ruff format --check on unet_course/ tests/ benchmarks/"
	@echo "make notebooks  execute every course notebook top to bottom in place (full mode), then refresh student copies"
	@echo "make student    regenerate the exercise copies in notebooks/student/"
	@echo "make bench      run the benchmarks in benchmarks/"
	@echo "make test-jax   install JAX and run the package tests with KERAS_BACKEND=jax"

# Install (again) only when the venv is missing or pyproject.toml changed.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

# --allow-root only where Jupyter would refuse to start otherwise (containers running as root)
lab: install
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

LINTED := unet_course tests benchmarks

lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

test: install lint
	UNET_COURSE_FAST=1 $(BIN)/python -m pytest

test-package: install
	UNET_COURSE_FAST=1 $(BIN)/python -m pytest tests

test-notebooks: install
	UNET_COURSE_FAST=1 $(BIN)/python -m pytest notebooks

# The package is backend-agnostic (keras.ops only): run its tests on JAX as well.
test-jax: install
	$(BIN)/python -m pip install --quiet jax
	KERAS_BACKEND=jax UNET_COURSE_FAST=1 $(BIN)/python -m pytest tests

notebooks: install
	$(BIN)/unet-course run-notebooks
	$(BIN)/unet-course student-notebooks

student: install
	$(BIN)/unet-course student-notebooks

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

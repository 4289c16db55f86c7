# The course's commands. `make lab` and `make test` work on a fresh machine with Python 3.10+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# ISBI 2012 and CamVid from local copies beside the clone (as on CI), through each loader's one
# setting; without them the notebooks download the files (checksummed) on first use.
ISBI_LOCAL := $(abspath $(wildcard ../shared/data/isbi2012_membrane))
ifneq ($(ISBI_LOCAL),)
export UNET_COURSE_ISBI2012_SOURCE ?= $(ISBI_LOCAL)
endif
CAMVID_LOCAL := $(abspath $(wildcard ../shared/data/camvid))
ifneq ($(CAMVID_LOCAL),)
export UNET_COURSE_CAMVID_SOURCE ?= $(CAMVID_LOCAL)
endif

.PHONY: help install lab lint test test-package test-notebooks test-browser test-backends test-jax install-jax install-torch notebooks student bench clean

help:
	@echo "make lab        create .venv, install the course, open JupyterLab on notebooks/"
	@echo "make test       install if needed, ruff (lint + format check), every test on all cores (package + notebooks via nbval, FAST mode)"
	@echo "make lint       ruff check and ruff format --check on unet_course/ tests/ benchmarks/"
	@echo "make notebooks  execute every course notebook top to bottom in place (full mode), then refresh student copies"
	@echo "make student    regenerate the exercise copies in notebooks/student/"
	@echo "make bench      run the benchmarks in benchmarks/"
	@echo "make test-browser   the widget notebooks in JupyterLab in headless Chromium (tests/test_browser.py; part of make test)"
	@echo "make test-backends  the package tests under each Keras backend: tensorflow, jax (installed if missing), torch if installed"
	@echo "make test-jax       the JAX leg alone"
	@echo "make install-torch  install PyTorch (CPU build where pip finds one) so that test-backends runs the PyTorch leg too"

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

# -rs: every skip prints its reason (a browser test without chromium, a notebook without its data);
# test-backends adds x: every expected failure on a backend too (conftest.py, BACKEND_EXCEPTIONS)
test: install lint
	UNET_COURSE_FAST=1 $(BIN)/python -m pytest -rs

test-package: install
	UNET_COURSE_FAST=1 $(BIN)/python -m pytest tests

test-notebooks: install
	UNET_COURSE_FAST=1 $(BIN)/python -m pytest notebooks

# The widget notebooks in a real browser (also part of `make test`): Debian's chromium, driven by
# playwright (the dev extra). Without chromium the tests skip with one line saying how to enable them.
test-browser: install
	UNET_COURSE_FAST=1 $(BIN)/python -m pytest -rs tests/test_browser.py

# The package is backend-agnostic (keras.ops only): its tests (tests/, not the notebooks; the
# browser tests run the notebooks on the default backend) under each backend, CPU builds. JAX is
# installed when missing (the jax extra); PyTorch only by `make install-torch`: without it the
# torch leg says so and is left out. `make test-backends BACKENDS=jax` runs one leg. Every leg
# runs; the target fails if any leg failed, and names them.
BACKENDS ?= tensorflow jax torch
BACKEND_TESTS := tests --ignore=tests/test_browser.py

install-jax: install
	@$(BIN)/python -c "import jax" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[jax]"

install-torch: install
	$(BIN)/python -m pip install --quiet -e ".[torch]"

test-backends: install $(if $(filter jax,$(BACKENDS)),install-jax)
	@failed=""; for backend in $(BACKENDS); do \
	    if [ $$backend = torch ] && ! $(BIN)/python -c "import torch" 2>/dev/null; then \
	        echo "== KERAS_BACKEND=torch: left out, PyTorch is not installed (make install-torch)"; continue; fi; \
	    echo "== KERAS_BACKEND=$$backend"; \
	    start=$$(date +%s); \
	    KERAS_BACKEND=$$backend UNET_COURSE_FAST=1 $(BIN)/python -m pytest -rsx $(BACKEND_TESTS) || failed="$$failed $$backend"; \
	    echo "== KERAS_BACKEND=$$backend: $$(( $$(date +%s) - start )) s"; \
	done; \
	if [ -n "$$failed" ]; then echo "test-backends failed on:$$failed"; exit 1; fi

# The JAX leg alone (the name the README used before test-backends).
test-jax:
	$(MAKE) test-backends BACKENDS=jax

notebooks: install
	$(BIN)/unet-course run-notebooks
	$(BIN)/unet-course student-notebooks

student: install
	$(BIN)/unet-course student-notebooks

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info artifacts

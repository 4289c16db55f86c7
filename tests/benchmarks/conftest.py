"""The scripts of ``benchmarks/`` are not a package: their tests load them by path, one module each."""

import contextlib
import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@contextlib.contextmanager
def loaded_script(name: str):
    """``benchmarks/<name>.py`` as a module, registered in ``sys.modules`` while in use (dataclasses
    look their module up there)."""
    spec = importlib.util.spec_from_file_location(f"unet_course_benchmarks_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def quality():
    """``benchmarks/quality.py``."""
    with loaded_script("quality") as module:
        yield module


@pytest.fixture(scope="module")
def bench():
    """``benchmarks/run.py``."""
    with loaded_script("run") as module:
        yield module

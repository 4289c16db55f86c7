"""Every notebook has exercises that need practice and, from 02 on, a prediction recorded first.

Counted from the course notebooks' code cells (issue: "Exercises that need understanding"):
- a checked exercise is a cell that calls ``ex.qN.check(...)``; at least 4 per notebook from 01
  on, 3 in 00;
- a predict-before-you-run question is a cell that calls ``ex.pN.predict(...)`` before a later
  cell calls ``ex.pN.reveal(...)``; at least one per notebook from 02 on;
- every exercise and prediction a notebook uses is defined in its ``exNN`` module, and every one
  the module defines is used by the notebook (no dead checker, no missing one).
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import nbformat
import pytest

from unet_course.exercises import exercises_of, predictions_of

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK = re.compile(r"\bex\.(q\d+)\.check\(")
PREDICT = re.compile(r"\bex\.(p\d+)\.predict\(")
REVEAL = re.compile(r"\bex\.(p\d+)\.reveal\(")


def _stem(path) -> str:
    return path.stem


def _code_cells(path: Path) -> list[str]:
    return [cell.source for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def _number(path: Path) -> int:
    return int(path.name[:2])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_stem)
def test_enough_checked_exercises(path):
    checked = [cell for cell in _code_cells(path) if CHECK.search(cell)]
    needed = 3 if _number(path) == 0 else 4
    assert len(checked) >= needed, f"{path.name}: {len(checked)} cells call ex.qN.check, at least {needed} wanted"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if _number(p) >= 2], ids=_stem)
def test_a_prediction_is_recorded_before_it_is_revealed(path):
    cells = _code_cells(path)
    recorded = {}
    for index, cell in enumerate(cells):
        for name in PREDICT.findall(cell):
            recorded.setdefault(name, index)
    revealed = {name: index for index, cell in enumerate(cells) for name in REVEAL.findall(cell)}
    good = [name for name, at in recorded.items() if name in revealed and revealed[name] > at]
    assert good, f"{path.name}: no ex.pN.predict(...) cell before the ex.pN.reveal(...) cell that shows the answer"
    for name, at in revealed.items():
        assert name in recorded and recorded[name] < at, f"{path.name}: {name} is revealed before it is predicted"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_and_its_exercise_module_agree(path):
    module = importlib.import_module(f"unet_course.exercises.ex{path.name[:2]}")
    source = "\n".join(_code_cells(path))
    used = set(CHECK.findall(source)) | set(PREDICT.findall(source))
    defined = {e.name for e in exercises_of(module)} | {p.name for p in predictions_of(module)}
    assert used <= defined, f"{path.name} uses {sorted(used - defined)}, which ex{path.name[:2]} does not define"
    assert defined <= used | _open_only(source), f"ex{path.name[:2]} defines {sorted(defined - used)}, unused"


def _open_only(source: str) -> set[str]:
    """Exercises a notebook names without checking them here (e.g. ``ex.q3.hint()`` only)."""
    return set(re.findall(r"\bex\.([qp]\d+)\.", source))

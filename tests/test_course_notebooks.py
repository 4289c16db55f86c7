"""Every course notebook: skeleton, Colab badge, setup cell, honest outputs, fresh student copy."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from unet_course.course import BEGIN, course_notebooks, execution
from unet_course.course.colab import SETUP_CELL, badge_markdown
from unet_course.course.student import strip_solutions, student_notebook_text

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = course_notebooks(ROOT / "notebooks")
STUDENT = ROOT / "notebooks" / "student"


def test_there_are_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "00_welcome_and_setup.ipynb"


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_skeleton(notebook):
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and re.match(rf"# {path.name[:2]} · ", first.source), (
        "H1 title 'NN · Title' first"
    )
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in ("What you will learn", "## Setup", "## Summary", "## Exercises"):
        assert heading in text, f"{path.name} lacks {heading!r}"


def test_colab_badge_matches_the_file_path(notebook):
    path, nb = notebook
    expected = badge_markdown(f"notebooks/{path.name}")
    assert expected in nb.cells[0].source
    urls = re.findall(r"colab\.research\.google\.com/github/[^)\s]+", json.dumps([c.source for c in nb.cells]))
    assert all(u.endswith(f"notebooks/{path.name}") for u in urls), urls


def test_first_code_cell_is_the_setup_cell(notebook):
    path, nb = notebook
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == SETUP_CELL


def test_committed_outputs_come_from_one_clean_run(notebook):
    path, nb = notebook
    assert execution.problems(nb) == [], f"{path.name}: run `make notebooks` and commit"
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    # a cell that prints must show what it printed (outputs stripped or edited by hand would not)
    silent = [i for i, c in enumerate(code) if re.search(r"^print\(", c.source, re.M) and not c.outputs]
    assert not silent, f"{path.name}: code cells {silent} print but have no output"
    assert "FAST mode     : off" in "".join(o.get("text", "") for o in code[0].outputs), (
        "committed outputs must be a full-mode run"
    )


def test_solutions_are_marked_and_balanced(notebook):
    path, nb = notebook
    sources = [c.source for c in nb.cells if c.cell_type == "code"]
    assert sum(s.count(BEGIN) for s in sources) >= 2, "at least two exercises"
    for source in sources:
        strip_solutions(source)  # raises on unbalanced markers


def test_student_copies_are_fresh(notebook):
    path, _ = notebook
    student = STUDENT / path.name
    assert student.exists(), f"missing {student.name}: run `make student`"
    assert student.read_text(encoding="utf-8") == student_notebook_text(path), (
        f"{student.name} is stale: run `make student`"
    )


def test_no_stray_student_copies():
    assert {p.name for p in STUDENT.glob("*.ipynb")} == {p.name for p in NOTEBOOKS}

"""Every student copy runs to the end with every exercise unfinished, without paying twice.

nbval runs the course notebooks (conftest.py keeps it away from ``notebooks/student/``). A copy
differs from its course notebook only in its exercise cells, so this test runs, per copy, the
reduced notebook of :func:`unet_course.course.slicing.student_check_plan`: the setup cell, the
exercise cells (stubs), the cells that call ``ex.`` and the lesson cells that read what those set,
with the imports they need; every other cell must be the course's, which nbval ran. Only when the
reduced notebook cannot show it (the plan says why, or the run meets a NameError) does the whole
copy run, and the test says so in a warning.

The reduced notebooks all run in one kernel, one after the other, each after ``%reset -f`` (which
empties the namespace, so a name one copy defined cannot hide a NameError in the next): starting a
kernel and importing Keras once instead of twelve times saves about half of this module's time.
"""

import copy
import re
import warnings
from pathlib import Path

import nbformat
import pytest

from unet_course.course import slicing

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "notebooks" / "student"
COPIES = sorted(STUDENT.glob("[0-9][0-9]_*.ipynb"))
UNFINISHED = "not yet implemented"  # what a check says of a `raise NotImplementedError()` stub
CHECKER_BUG = "the checker itself failed"


def _run(notebook, timeout: int = 300):
    """Execute ``notebook`` (in place) in a fresh kernel in notebooks/student/, errors kept as outputs.

    A run that times out is tried once more in a new kernel, as ``unet_course.course.execution.execute``
    does: on a busy machine the kernel and the client now and then miss each other at start-up.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    for attempt in (1, 2):
        for cell in notebook.cells:
            cell.outputs, cell.execution_count = [], None
        client = NotebookClient(
            notebook,
            timeout=timeout,
            startup_timeout=120,
            kernel_name="python3",
            allow_errors=True,
            resources={"metadata": {"path": str(STUDENT)}},
        )
        try:
            return client.execute()
        except CellTimeoutError:
            if attempt == 2:
                raise


def _errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def _text(cell) -> str:
    return "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", []))


def _failures(cells) -> list[str]:
    """Error outputs (a stub at top level, tagged raises-exception, may raise NotImplementedError only)."""
    found = []
    for label, cell in cells:
        allowed = {"NotImplementedError"} if "raises-exception" in cell.metadata.get("tags", []) else set()
        found += [f"{label}: {e.ename}: {e.evalue}" for e in _errors(cell) if e.ename not in allowed]
        if CHECKER_BUG in _text(cell):
            found.append(f"{label}: {CHECKER_BUG}")
    return found


def _plan(path):
    """``(student copy, its check plan, why it is skipped or None)``."""
    student = nbformat.read(path, as_version=4)
    course = nbformat.read(ROOT / "notebooks" / path.name, as_version=4)
    plan = slicing.student_check_plan(course, student)
    from unet_course.data.download import missing_data  # conftest's rule for nbval

    skip = missing_data(student.metadata.get("unet_course", {}).get("needs", [])) or None
    return student, plan, skip


@pytest.fixture(scope="module")
def reduced_runs():
    """``{copy name: executed cells of its reduced notebook}``, every copy that has one in one kernel."""
    combined = None
    spans = {}
    for path in COPIES:
        _, plan, skip = _plan(path)
        if plan.mismatches or plan.full_run or skip:
            continue  # the test of that copy says why
        if combined is None:
            combined = nbformat.v4.new_notebook(metadata=copy.deepcopy(plan.notebook.metadata))
        combined.cells.append(nbformat.v4.new_code_cell("%reset -f"))
        start = len(combined.cells)
        combined.cells.extend(copy.deepcopy(plan.notebook.cells))
        spans[path.name] = (start, len(combined.cells))
    if combined is None:
        return {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNET_COURSE_FAST", "1")
        executed = _run(combined, timeout=300)
    return {name: executed.cells[a:b] for name, (a, b) in spans.items()}


@pytest.mark.parametrize("path", COPIES, ids=lambda p: p.stem)
def test_student_copy_runs_to_the_end_with_every_exercise_unfinished(path, monkeypatch, record_property, reduced_runs):
    student, plan, skip = _plan(path)
    assert not plan.mismatches, (
        f"{path.name}: cells nbval's run of the course does not cover: {plan.mismatches} (stale? `make student`)"
    )
    if skip:
        pytest.skip(skip)
    monkeypatch.setenv("UNET_COURSE_FAST", "1")
    code = [c for c in student.cells if c.cell_type == "code"]
    checks = [i for i in plan.exercises if re.search(r"\bex\.q\d+\.check\(", code[i].source)]
    assert checks, f"{path.name}: no exercise cell calls ex.qN.check(...)"

    reason = plan.full_run
    if reason is None:
        reduced = reduced_runs[path.name]
        assert len(reduced) == len(plan.cells), path.name
        labelled = [(f"code cell {i} ({kind})", c) for i, kind, c in zip(plan.cells, plan.kinds, reduced)]
        missing = [f"{label}: {e.evalue}" for label, c in labelled for e in _errors(c) if e.ename == "NameError"]
        if missing:
            reason = f"the reduced run met a NameError ({missing[0]})"
        else:
            assert _failures(labelled) == [], f"{path.name} (reduced run)"
            ran = dict(zip(plan.cells, reduced))
            quiet = [i for i in checks if UNFINISHED not in _text(ran[i])]
            assert not quiet, f"{path.name}: code cells {quiet} do not report the stub as not yet implemented"
    record_property("student_run", "whole copy" if reason else "reduced")
    if reason:
        message = f"{path.name}: ran the whole copy: {reason}"
        print(message)
        warnings.warn(message, UserWarning, stacklevel=1)
        full = _run(nbformat.read(path, as_version=4))
        cells = [c for c in full.cells if c.cell_type == "code"]
        assert _failures([(f"code cell {i}", c) for i, c in enumerate(cells)]) == [], f"{path.name} (whole copy)"
        quiet = [i for i in checks if UNFINISHED not in _text(cells[i])]
        assert not quiet, f"{path.name}: code cells {quiet} do not report the stub as not yet implemented"

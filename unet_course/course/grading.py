"""``unet-course grade``: run a class's submitted notebooks, then check each learner's own definitions.

Layout: ``STUDENT_DIR/<learner>/NN_name.ipynb``, one folder per learner. Each notebook runs
in its own process and kernel, in FAST mode by default, with a time limit. What the notebook
printed is not trusted (a learner can call ``check(ex.q1.reference)`` or print a tick): after the
learner's cells, the grader appends one cell of its own that reloads the exercise module and
runs each exercise's checker on the definition the notebook asks for (``ex.q1.check(NAME)`` in
the course notebook names it; else :attr:`~unet_course.exercises.Exercise.target`). A missing
definition and a definition that *is* the course's reference get messages of their own.

The CSV has one row per learner, notebook and exercise: ``learner, notebook, exercise, passed,
message``. A notebook that crashes or runs too long gets a row saying so, and grading goes on.

Grading is formative feedback, not an exam: the learner's code runs with the learner's rights
in the grader's kernel, so it can still tamper with what the grader imports, and a pasted
solution passes. See the README.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from unet_course.exercises import exercises_of

FIELDS = ("learner", "notebook", "exercise", "passed", "message")
VERDICTS_ENV = "UNET_COURSE_GRADE_VERDICTS"
COURSE_NOTEBOOKS = Path(__file__).resolve().parent.parent.parent / "notebooks"

_CHECKED = re.compile(r"\bex\.(q\d+)\.check\(\s*([A-Za-z_]\w*)\s*\)")


def _exercise_module(notebook_stem: str):
    try:
        return importlib.import_module(f"unet_course.exercises.ex{notebook_stem[:2]}")
    except ImportError:
        return None


def _exercise_names(notebook_stem: str) -> list[str]:
    module = _exercise_module(notebook_stem)
    return [e.name for e in exercises_of(module)] if module else []


def target_names(notebook_stem: str, course_dir: Path = COURSE_NOTEBOOKS) -> dict[str, str]:
    """``{"q1": "foreground_fraction", ...}``: the definition each exercise of a notebook checks.

    Read from the course notebook's ``ex.qN.check(NAME)`` calls (the first plain name for each
    exercise), else the exercise's ``target``.
    """
    module = _exercise_module(notebook_stem)
    names = {e.name: e.target for e in exercises_of(module)} if module else {}
    course = sorted(Path(course_dir).glob(f"{notebook_stem[:2]}_*.ipynb"))
    if course:
        import nbformat

        found: dict[str, str] = {}
        for cell in nbformat.read(course[0], as_version=4).cells:
            if cell.cell_type == "code":
                for exercise, name in _CHECKED.findall(cell.source):
                    found.setdefault(exercise, name)
        names.update({k: v for k, v in found.items() if k in names})
    return names


#: The cell the grader appends to a submission: it runs in the learner's kernel, after their cells.
_GRADER_CELL = """\
def __unet_course_grade(module_name, targets, out_path):
    import importlib as _importlib
    import json as _json

    module = _importlib.reload(_importlib.import_module(module_name))
    from unet_course.exercises import exercises_of as _exercises_of

    space = globals()
    results = {}
    for exercise in _exercises_of(module):
        name = targets.get(exercise.name) or exercise.target
        if name not in space:
            results[exercise.name] = [False, f"missing definition: the notebook asks you to define `{name}`, "
                                             "and no cell of yours defines it (was the cell deleted or not run?)."]
            continue
        answer = space[name]
        reference = exercise.reference
        if answer is reference or getattr(answer, "__module__", "").startswith("unet_course."):
            results[exercise.name] = [False, f"`{name}` is the course's own code \
({getattr(answer, '__module__', '')}), "
                                             "not a definition of yours: write it in the exercise cell."]
            continue
        verdict = exercise.verdict(answer)
        results[exercise.name] = [bool(verdict.passed), str(verdict.message)]
    with open(out_path, "w", encoding="utf-8") as handle:
        _json.dump(results, handle)


__unet_course_grade(MODULE, TARGETS, OUT)
"""


def _execute(path: Path, timeout: int, verdicts: str | None = None) -> None:
    """Run one notebook in this process (called in a subprocess by :func:`grade_notebook`)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    if verdicts:
        stem = path.stem
        call = f"__unet_course_grade({f'unet_course.exercises.ex{stem[:2]}'!r}, {target_names(stem)!r}, {verdicts!r})"
        source = _GRADER_CELL.replace("__unet_course_grade(MODULE, TARGETS, OUT)", call)
        notebook.cells.append(nbformat.v4.new_code_cell(source))
    # allow_errors: an unfinished exercise raises, and the cells after it (and the grader's) must still run
    NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()


def grade_notebook(path: Path, *, timeout: int = 600, fast: bool = True) -> list[dict]:
    """Rows for one submitted notebook (learner = the folder's name)."""
    path = Path(path)
    learner, notebook = path.parent.name, path.stem
    names = _exercise_names(notebook)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "verdicts.json"
        env = {**os.environ, "UNET_COURSE_FAST": "1" if fast else "0"}
        env.pop("UNET_COURSE_GRADE_LOG", None)
        problem = None
        command = [sys.executable, "-m", "unet_course.course.grading", str(path), str(timeout)] + (
            [str(out)] if names else []
        )
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                problem = f"the notebook crashed: {last[:300]}"
        except subprocess.TimeoutExpired:
            problem = f"the notebook ran longer than the time limit of {timeout} s and was stopped"
        results = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    rows = []
    if problem:
        rows.append(
            {"learner": learner, "notebook": notebook, "exercise": "(notebook)", "passed": False, "message": problem}
        )
    for name in names:
        if name not in results:
            rows.append(
                {
                    "learner": learner,
                    "notebook": notebook,
                    "exercise": name,
                    "passed": False,
                    "message": "not checked: the notebook did not run to the end"
                    + (" (see the notebook row)" if problem else ""),
                }
            )
        else:
            passed, message = results[name]
            rows.append(
                {"learner": learner, "notebook": notebook, "exercise": name, "passed": bool(passed), "message": message}
            )
    return rows


def grade_class(student_dir, output="grades.csv", *, timeout: int = 600, fast: bool = True) -> list[dict]:
    """Grade every ``<learner>/NN_*.ipynb`` under ``student_dir`` and write the CSV ``output``."""
    student_dir = Path(student_dir)
    if not student_dir.is_dir():
        raise ValueError(f"{student_dir} is not a folder; give the folder that holds one sub-folder per learner.")
    notebooks = sorted(student_dir.glob("*/[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise ValueError(f"No notebooks found as {student_dir}/<learner>/NN_name.ipynb; check the folder layout.")
    rows = []
    for path in notebooks:
        print(f"grading {path.parent.name}/{path.name} ...", flush=True)
        rows.extend(grade_notebook(path, timeout=timeout, fast=fast))
    with open(output, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


if __name__ == "__main__":  # the subprocess of grade_notebook
    _execute(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)

"""``unet-course grade``: run a class's submitted notebooks and collect exercise results.

Layout: ``STUDENT_DIR/<learner>/NN_name.ipynb``, one folder per learner. Each notebook runs
in its own process and kernel, in FAST mode by default, with a time limit; every
``ex.qN.check(...)`` it runs appends its verdict to a log (see
:mod:`unet_course.exercises`). An exercise passes when one of its checks passed (the
notebooks also show a wrong answer on purpose); otherwise its last message is reported. The CSV has one row per learner, notebook and exercise:
``learner, notebook, exercise, passed, message``. A notebook that crashes or runs too long
gets a row saying so, and grading goes on with the next one.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from unet_course.exercises import GRADE_LOG_ENV, exercises_of

FIELDS = ("learner", "notebook", "exercise", "passed", "message")


def _exercise_names(notebook_stem: str) -> list[str]:
    try:
        module = importlib.import_module(f"unet_course.exercises.ex{notebook_stem[:2]}")
    except ImportError:
        return []
    return [e.name for e in exercises_of(module)]


def _execute(path: Path, timeout: int) -> None:
    """Run one notebook in this process (called in a subprocess by :func:`grade_notebook`)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    # allow_errors: an unfinished exercise raises, and the checks after it must still run
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()


def grade_notebook(path: Path, *, timeout: int = 600, fast: bool = True) -> list[dict]:
    """Rows for one submitted notebook (learner = the folder's name)."""
    path = Path(path)
    learner, notebook = path.parent.name, path.stem
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "grade.jsonl"
        env = {**os.environ, GRADE_LOG_ENV: str(log), "UNET_COURSE_FAST": "1" if fast else "0"}
        problem = None
        try:
            done = subprocess.run([sys.executable, "-m", "unet_course.course.grading", str(path), str(timeout)], env=env,
                                  capture_output=True, text=True, timeout=timeout)
            if done.returncode != 0:
                last = (done.stderr.strip().splitlines() or ["no message"])[-1]
                problem = f"the notebook crashed: {last[:300]}"
        except subprocess.TimeoutExpired:
            problem = f"the notebook ran longer than the time limit of {timeout} s and was stopped"
        results = {}
        if log.exists():
            for line in log.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                # a passing check counts; otherwise the last one (notebooks also show wrong answers on purpose)
                if not results.get(record["exercise"], {}).get("passed"):
                    results[record["exercise"]] = record
    rows = []
    if problem:
        rows.append({"learner": learner, "notebook": notebook, "exercise": "(notebook)", "passed": False, "message": problem})
    for name in _exercise_names(notebook) or sorted(results):
        record = results.get(name)
        if record is None:
            rows.append({"learner": learner, "notebook": notebook, "exercise": name, "passed": False,
                         "message": "not checked: the check cell did not run" + (" (see the notebook row)" if problem else "")})
        else:
            rows.append({"learner": learner, "notebook": notebook, "exercise": name, "passed": bool(record["passed"]), "message": record["message"]})
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
    _execute(Path(sys.argv[1]), int(sys.argv[2]))

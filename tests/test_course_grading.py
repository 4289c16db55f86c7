"""`unet-course grade` on a small fixture class: complete, partial and crashing learners."""

import csv
import shutil
from pathlib import Path

import nbformat
import pytest

from unet_course import cli
from unet_course.course.student import make_student_notebook

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks" / "00_welcome_and_setup.ipynb"


@pytest.fixture(scope="module")
def fixture_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    for learner in ("ada", "ben", "cy", "dee"):
        (root / learner).mkdir()
    shutil.copy(SOURCE, root / "ada" / SOURCE.name)  # complete: the solutions
    student = make_student_notebook(nbformat.read(SOURCE, as_version=4), SOURCE.name)
    for cell in student.cells:  # partial: q1 answered, wrongly; q2 untouched
        if "def foreground_fraction" in cell.source:
            cell.source = cell.source.replace("raise NotImplementedError()", "return (mask != 0).sum()")
    nbformat.write(student, root / "ben" / SOURCE.name)
    student.cells.insert(3, nbformat.v4.new_code_cell("import os\nos._exit(3)  # the kernel dies"))
    nbformat.write(student, root / "cy" / SOURCE.name)
    # dee games the printed checks: no definition of q1 but a passing print, q2 is the course's own
    gamed = make_student_notebook(nbformat.read(SOURCE, as_version=4), SOURCE.name)
    for cell in gamed.cells:
        if "def foreground_fraction" in cell.source:
            cell.source = "ex.q1.check(ex.q1.reference)"
        elif "def classes_present" in cell.source:
            cell.source = "classes_present = ex.q2.reference\nex.q2.check(classes_present)"
    nbformat.write(gamed, root / "dee" / SOURCE.name)
    return root


def test_grade_writes_the_expected_csv(fixture_class, tmp_path):
    output = tmp_path / "grades.csv"
    assert cli.main(["grade", str(fixture_class), "--output", str(output), "--timeout", "240"]) == 0
    rows = {(r["learner"], r["exercise"]): r for r in csv.DictReader(output.open())}
    assert set(rows) == {
        ("ada", "q1"),
        ("ada", "q2"),
        ("ada", "q3"),
        ("ben", "q1"),
        ("ben", "q2"),
        ("ben", "q3"),
        ("cy", "(notebook)"),
        ("cy", "q1"),
        ("cy", "q2"),
        ("cy", "q3"),
        ("dee", "q1"),
        ("dee", "q2"),
        ("dee", "q3"),
    }
    assert rows["ada", "q1"]["passed"] == rows["ada", "q2"]["passed"] == rows["ada", "q3"]["passed"] == "True"
    assert rows["ben", "q1"]["passed"] == "False" and "by the total number of pixels" in rows["ben", "q1"]["message"]
    assert rows["ben", "q2"]["passed"] == "False" and "not yet implemented" in rows["ben", "q2"]["message"]
    assert rows["ben", "q3"]["passed"] == "False" and "not yet implemented" in rows["ben", "q3"]["message"]
    assert rows["cy", "(notebook)"]["passed"] == "False" and "crashed" in rows["cy", "(notebook)"]["message"]
    assert "not checked" in rows["cy", "q1"]["message"]
    # the grader ran the checkers itself: what dee's notebook printed (two ticks) does not count
    assert rows["dee", "q1"]["passed"] == "False" and "missing definition" in rows["dee", "q1"]["message"]
    assert "`foreground_fraction`" in rows["dee", "q1"]["message"]
    assert rows["dee", "q2"]["passed"] == "False" and "course's own code" in rows["dee", "q2"]["message"]


def test_target_names_come_from_the_course_notebooks():
    from unet_course.course.grading import target_names

    assert target_names("00_welcome_and_setup") == {
        "q1": "foreground_fraction",
        "q2": "classes_present",
        "q3": "foreground_per_image",
    }
    assert target_names("03_encoder")["q3"] == "receptive_field_of"


def test_grade_reports_a_notebook_that_runs_too_long(tmp_path):
    learner = tmp_path / "class" / "dan"
    learner.mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\ntime.sleep(60)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, learner / "00_welcome_and_setup.ipynb")
    output = tmp_path / "grades.csv"
    cli.main(["grade", str(tmp_path / "class"), "--output", str(output), "--timeout", "5"])
    rows = list(csv.DictReader(output.open()))
    assert rows[0]["exercise"] == "(notebook)" and "time limit of 5 s" in rows[0]["message"]
    assert {r["exercise"] for r in rows[1:]} == {"q1", "q2", "q3"}


def test_grade_refuses_a_folder_without_submissions(tmp_path, capsys):
    assert cli.main(["grade", str(tmp_path), "--output", str(tmp_path / "g.csv")]) == 2
    assert "NN_name.ipynb" in capsys.readouterr().err

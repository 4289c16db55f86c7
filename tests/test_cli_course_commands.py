"""The course commands through ``unet-course``: colab-links, run-notebooks, student-notebooks, grade.

student-notebooks and grade have their behaviour tested with the tools they call
(``test_course_student.py``, ``test_course_grading.py``); here: what the commands print and return.
"""

import shutil
from pathlib import Path

import nbformat

from unet_course import RELEASE, REPOSITORY
from unet_course.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_colab_links_says_what_it_rewrote(tmp_path, capsys):
    (tmp_path / "notebooks").mkdir()
    course = tmp_path / "notebooks" / "00_welcome_and_setup.ipynb"
    shutil.copy(ROOT / "notebooks" / course.name, course)
    assert main(["colab-links", "--root", str(tmp_path)]) == 0
    summary = f"every Colab badge and setup cell points at {REPOSITORY} {RELEASE} (0 file(s) changed)\n"
    assert capsys.readouterr().out == summary
    course.write_text(course.read_text().replace(f"{REPOSITORY}/blob/{RELEASE}/", "someone/fork/blob/main/"))
    assert main(["colab-links", "--root", str(tmp_path)]) == 0
    assert f"rewrote the Colab links of {course}" in capsys.readouterr().out


def test_run_notebooks_goes_on_after_a_failure_and_returns_1(tmp_path, capsys):
    paths = []
    for name, source in (("01_bad.ipynb", "1 / 0"), ("02_good.ipynb", "print(6 * 7)")):
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(notebook, tmp_path / name)
        paths.append(str(tmp_path / name))
    assert main(["run-notebooks", "--fast", "--timeout", "60", *paths]) == 1
    captured = capsys.readouterr()
    assert "FAILED" in captured.err and "01_bad.ipynb" in captured.err and "ZeroDivisionError" in captured.err
    assert "running" in captured.out and "02_good.ipynb (FAST mode)" in captured.out
    assert nbformat.read(tmp_path / "02_good.ipynb", as_version=4).cells[0].outputs[0]["text"] == "42\n"


def test_student_notebooks_refuses_an_unknown_name_in_one_line(tmp_path, capsys):
    shutil.copy(ROOT / "notebooks" / "00_welcome_and_setup.ipynb", tmp_path)
    assert main(["student-notebooks", "--notebooks", str(tmp_path), "99_nothing.ipynb"]) == 2
    assert capsys.readouterr().err.strip() == (
        "unet-course: No course notebook matches ['99_nothing.ipynb']; give names such as 03_encoder.ipynb."
    )

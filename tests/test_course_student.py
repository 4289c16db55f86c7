"""Student copies: solutions replaced by stubs, outputs kept only before the first exercise, a learner's work kept."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from unet_course.course import BEGIN, CHECK_OUTPUT, END, course_notebooks
from unet_course.course.colab import colab_url
from unet_course.course.student import _kept_outputs, strip_solutions, student_notebook_text

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = course_notebooks(ROOT / "notebooks")


def test_student_copy_has_no_solution_and_outputs_only_before_the_exercises():
    path = NOTEBOOKS[0]
    student = nbformat.reads(student_notebook_text(path), as_version=4)
    text = json.dumps([c.source for c in student.cells if c.cell_type == "code"])
    assert BEGIN not in text and "# YOUR CODE HERE" in text and "raise NotImplementedError()" in text
    assert "This is the exercise copy" in student.cells[1].source
    assert colab_url(f"notebooks/student/{path.name}") in student.cells[0].source
    code = [c for c in student.cells if c.cell_type == "code"]
    first = next(
        i for i, c in enumerate(code) if "# YOUR CODE HERE" in c.source or re.search(r"\bex\.q\d+\.", c.source)
    )
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code[first:]), (
        "nothing run from the first exercise on"
    )
    course = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert [c.get("outputs") for c in code[:first]] == [_kept_outputs(c.outputs) for c in course[:first]]
    markdown = "".join(c.source for c in student.cells if c.cell_type == "markdown")
    assert BEGIN not in markdown and END not in markdown, "the copy has no solution markers to mention"
    assert CHECK_OUTPUT not in text


def test_strip_solutions_keeps_indentation_and_tags_top_level_blocks():
    inside = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n\nprint(1)"
    out, top = strip_solutions(inside)
    assert out == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint(1)" and not top
    out, top = strip_solutions("### BEGIN SOLUTION\nfor i in range(3):\n    answer = i\n### END SOLUTION")
    assert out == "# YOUR CODE HERE\nraise NotImplementedError()" and top
    with pytest.raises(ValueError, match="Unbalanced"):
        strip_solutions("### BEGIN SOLUTION\nx = 1")


def test_a_predictions_guess_becomes_an_ellipsis_the_cell_still_runs():
    source = "### BEGIN SOLUTION\nguess = 62  # the answer\n### END SOLUTION\nex.p1.predict(guess)"
    out, top = strip_solutions(source)
    assert (
        out
        == "guess = ...  # YOUR PREDICTION HERE: replace ... with your guess, then run the cell\nex.p1.predict(guess)"
    )
    assert not top
    namespace = {}
    exec(out.split("\n")[0], namespace)  # the stub is Python; Prediction.predict treats ... as "no guess yet"
    assert namespace["guess"] is Ellipsis


def test_regenerating_never_overwrites_a_learners_work(tmp_path, capsys):
    from unet_course import cli

    (tmp_path / "student").mkdir()
    source = NOTEBOOKS[0]
    (tmp_path / source.name).write_bytes(source.read_bytes())
    assert cli.main(["student-notebooks", "--notebooks", str(tmp_path)]) == 0
    copy = tmp_path / "student" / source.name
    fresh = copy.read_text(encoding="utf-8")
    assert cli.main(["student-notebooks", "--notebooks", str(tmp_path)]) == 0  # unchanged copy: rewritten quietly
    worked = nbformat.reads(fresh, as_version=4)
    cell = next(c for c in worked.cells if c.cell_type == "code" and "# YOUR CODE HERE" in c.source)
    cell.execution_count = 1
    cell.outputs = [nbformat.v4.new_output("stream", text="my work")]
    nbformat.write(worked, copy)
    assert cli.main(["student-notebooks", "--notebooks", str(tmp_path)]) == 2
    assert "holds a learner's work" in capsys.readouterr().err
    assert "my work" in copy.read_text(encoding="utf-8")  # untouched
    assert cli.main(["student-notebooks", "--notebooks", str(tmp_path), "--force"]) == 0
    assert copy.read_text(encoding="utf-8") == fresh
    assert "my work" in (tmp_path / "student" / (source.name + ".backup")).read_text(encoding="utf-8")

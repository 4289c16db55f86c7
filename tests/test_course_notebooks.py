"""Every course notebook: skeleton, Colab badge, setup cell, honest outputs, fresh student copy."""

import json
import re
from pathlib import Path

import nbformat
import pytest

from unet_course.course import notebooks as nbtools

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = nbtools.course_notebooks(ROOT / "notebooks")
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
    expected = nbtools.badge_markdown(f"notebooks/{path.name}")
    assert expected in nb.cells[0].source
    urls = re.findall(r"colab\.research\.google\.com/github/[^)\s]+", json.dumps([c.source for c in nb.cells]))
    assert all(u.endswith(f"notebooks/{path.name}") for u in urls), urls


def test_first_code_cell_is_the_setup_cell(notebook):
    path, nb = notebook
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == nbtools.SETUP_CELL


def test_committed_outputs_come_from_one_clean_run(notebook):
    path, nb = notebook
    assert nbtools.problems(nb) == [], f"{path.name}: run `make notebooks` and commit"
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
    assert sum(s.count(nbtools.BEGIN) for s in sources) >= 2, "at least two exercises"
    for source in sources:
        nbtools.strip_solutions(source)  # raises on unbalanced markers


def test_student_copies_are_fresh(notebook):
    path, _ = notebook
    student = STUDENT / path.name
    assert student.exists(), f"missing {student.name}: run `make student`"
    assert student.read_text(encoding="utf-8") == nbtools.student_notebook_text(path), (
        f"{student.name} is stale: run `make student`"
    )


def test_no_stray_student_copies():
    assert {p.name for p in STUDENT.glob("*.ipynb")} == {p.name for p in NOTEBOOKS}


def test_student_copy_has_no_solution_and_outputs_only_before_the_exercises():
    path = NOTEBOOKS[0]
    student = nbformat.reads(nbtools.student_notebook_text(path), as_version=4)
    text = json.dumps([c.source for c in student.cells if c.cell_type == "code"])
    assert nbtools.BEGIN not in text and "# YOUR CODE HERE" in text and "raise NotImplementedError()" in text
    assert "This is the exercise copy" in student.cells[1].source
    assert nbtools.colab_url(f"notebooks/student/{path.name}") in student.cells[0].source
    code = [c for c in student.cells if c.cell_type == "code"]
    first = next(
        i for i, c in enumerate(code) if "# YOUR CODE HERE" in c.source or re.search(r"\bex\.q\d+\.", c.source)
    )
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code[first:]), (
        "nothing run from the first exercise on"
    )
    course = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert [c.get("outputs") for c in code[:first]] == [nbtools._kept_outputs(c.outputs) for c in course[:first]]
    markdown = "".join(c.source for c in student.cells if c.cell_type == "markdown")
    assert nbtools.BEGIN not in markdown and nbtools.END not in markdown, "the copy has no solution markers to mention"
    assert nbtools.CHECK_OUTPUT not in text


def test_strip_solutions_keeps_indentation_and_tags_top_level_blocks():
    inside = "def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n\nprint(1)"
    out, top = nbtools.strip_solutions(inside)
    assert out == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint(1)" and not top
    out, top = nbtools.strip_solutions("### BEGIN SOLUTION\nanswer = 3\n### END SOLUTION")
    assert out == "# YOUR CODE HERE\nraise NotImplementedError()" and top
    with pytest.raises(ValueError, match="Unbalanced"):
        nbtools.strip_solutions("### BEGIN SOLUTION\nx = 1")


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


def _tiny_notebook(path, source):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_execute_writes_a_clean_run_and_refuses_an_error(tmp_path):
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    _tiny_notebook(good, "print(6 * 7)")
    _tiny_notebook(bad, "1 / 0")
    before = bad.read_text()
    nbtools.execute(good, fast=True, timeout=60)
    cell = nbformat.read(good, as_version=4).cells[0]
    assert cell.execution_count == 1 and cell.outputs[0]["text"] == "42\n"
    with pytest.raises(Exception, match="ZeroDivisionError"):
        nbtools.execute(bad, fast=True, timeout=60)
    assert bad.read_text() == before  # nothing written


def test_execute_retries_a_timed_out_run_once(tmp_path, monkeypatch):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    path = tmp_path / "nb.ipynb"
    _tiny_notebook(path, "x = 1")
    calls = []

    def flaky(self, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise CellTimeoutError("stuck at start-up")
        for number, cell in enumerate(self.nb.cells, 1):
            cell.execution_count = number
        return self.nb

    monkeypatch.setattr(NotebookClient, "execute", flaky)
    nbtools.execute(path, timeout=5)
    assert len(calls) == 2
    calls.clear()

    def always_stuck(self, **kwargs):
        calls.append(1)
        raise CellTimeoutError("stuck again")

    monkeypatch.setattr(NotebookClient, "execute", always_stuck)
    with pytest.raises(CellTimeoutError):
        nbtools.execute(path, timeout=5)
    assert len(calls) == 2


def _course(*sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 · Test")])
    nb.cells += [nbformat.v4.new_code_cell(s) for s in (nbtools.SETUP_CELL, *sources)]
    return nb


_EXERCISE = "def f(m):\n    ### BEGIN SOLUTION\n    return m\n    ### END SOLUTION\n\n\nex.q1.check(f)"


def _plan(course):
    return nbtools.student_check_plan(course, nbtools.make_student_notebook(course, "99_test.ipynb"))


def test_student_check_plan_keeps_the_exercises_and_the_imports_they_need():
    course = _course(
        "import numpy as np\n\nx = np.ones(3)  # NBVAL_CHECK_OUTPUT",
        "from unet_course.exercises import ex00 as ex",
        _EXERCISE,
        "ex.q1.hint()",
        "for name in ['a']:\n    print(name, x)",  # a lesson cell that reads no exercise: left to the course's run
        "print(f(np.zeros(2)))",  # reads the exercise's function: kept
    )
    plan = _plan(course)
    assert plan.mismatches == [] and plan.full_run is None and plan.exercises == [3]
    assert plan.kinds == ["setup", "imports", "imports", "exercise", "calls ex", "reads an exercise"]
    assert plan.cells == [0, 1, 2, 3, 4, 6]
    sources = [c.source for c in plan.notebook.cells]
    assert sources[1:3] == ["import numpy as np", "from unet_course.exercises import ex00 as ex"]
    assert "raise NotImplementedError()" in sources[3]


def test_student_check_plan_asks_for_the_whole_copy_when_an_exercise_needs_lesson_state():
    needs_x = _EXERCISE.replace("ex.q1.check(f)", "ex.q1.check(f, x)")
    plan = _plan(_course("x = 3", "from unet_course.exercises import ex00 as ex", needs_x))
    assert plan.full_run == "code cell 3 (exercise) reads 'x', which lesson cell 1 sets"
    # a name bound otherwise than by its import is not imported alone
    plan = _plan(_course("import numpy as np", "np = None", "from unet_course.exercises import ex00 as ex", _EXERCISE))
    assert plan.full_run is None
    plan = _plan(
        _course(
            "import numpy as np",
            "np = None",
            "from unet_course.exercises import ex00 as ex",
            _EXERCISE,
            "ex.q1.check(np)",
        )
    )
    assert plan.full_run == "code cell 5 (calls ex) reads 'np', which lesson cell 2 sets"


def test_student_check_plan_finds_lesson_cells_the_course_run_does_not_cover():
    course = _course("x = 1  # NBVAL_CHECK_OUTPUT", "from unet_course.exercises import ex00 as ex", _EXERCISE)
    copy = nbtools.make_student_notebook(course, "99_test.ipynb")
    assert nbtools.student_check_plan(course, copy).mismatches == []
    copy.cells[3].source = "x = 2"
    copy.cells[4].metadata["tags"] = ["raises-exception"]
    assert nbtools.student_check_plan(course, copy).mismatches == [
        "code cell 1: its source is not the course notebook's",
        "code cell 2: tags ['raises-exception'] vs the course's []",
    ]


def test_cells_needed_follows_binders_and_the_cells_that_may_change_an_object():
    from unet_course.course.notebooks import cells_needed, sliced_notebook

    notebook = nbformat.v4.new_notebook()
    sources = [
        "import numpy as np",  # 0: the setup is always kept
        "x = 1",  # 1: read by the mutator 4
        "y = 2",  # 2: only cell 5 reads it
        "model = []",  # 3: binds what the target reads
        "model.append(x)",  # 4: binds nothing, but reads model between its binder and the target
        "np.random.seed(0)\nz = y",  # 5: reads np, which only an import binds: not a mutator
        "print(model, np.pi)",  # 6: the target
    ]
    notebook.cells = [nbformat.v4.new_markdown_cell("# title")] + [nbformat.v4.new_code_cell(s) for s in sources]
    assert cells_needed(notebook, [6]) == [0, 1, 3, 4, 6]
    assert cells_needed(notebook, [5]) == [0, 2, 5]
    sliced, keep = sliced_notebook(notebook, [6])
    assert keep == [0, 1, 3, 4, 6] and [c.source for c in sliced.cells] == [sources[i] for i in keep]
    assert all(c.cell_type == "code" and c.outputs == [] for c in sliced.cells)


def test_problems_finds_native_log_lines_on_stderr():
    """A TensorFlow C++ log line (absl format) in a committed output is caught; a plain stderr note is not."""
    import nbformat

    def notebook_with(text):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("x = 1", execution_count=1)
        cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=text)]
        nb.cells = [cell]
        return nb

    line = "E0000 00:00:1796505141.007376    8882 util.cc:131] oneDNN supports DT_INT32 only on ...\n"
    assert any("TensorFlow log line" in p for p in nbtools.problems(notebook_with(line)))
    assert nbtools.problems(notebook_with("Training interrupted: the best weights so far are kept.\n")) == []

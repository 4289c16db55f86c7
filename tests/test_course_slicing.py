"""Notebook slicing: the cells some cells need, and the reduced run that checks a student copy."""

import nbformat

from unet_course.course.colab import SETUP_CELL
from unet_course.course.slicing import cells_needed, sliced_notebook, student_check_plan
from unet_course.course.student import make_student_notebook


def _course(*sources):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 · Test")])
    nb.cells += [nbformat.v4.new_code_cell(s) for s in (SETUP_CELL, *sources)]
    return nb


_EXERCISE = "def f(m):\n    ### BEGIN SOLUTION\n    return m\n    ### END SOLUTION\n\n\nex.q1.check(f)"


def _plan(course):
    return student_check_plan(course, make_student_notebook(course, "99_test.ipynb"))


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
    plan = _plan(
        _course("import numpy as np\nx = np.load('big.npy')", "from unet_course.exercises import ex00 as ex", needs_x)
    )
    assert plan.full_run == "code cell 3 (exercise) reads 'x', which lesson cell 1 sets"
    # a loop's result is lesson state too, even when the loop is cheap
    plan = _plan(
        _course("x = 0\nfor k in range(3):\n    x += k", "from unet_course.exercises import ex00 as ex", needs_x)
    )
    assert plan.full_run == "code cell 3 (exercise) reads 'x', which lesson cell 1 sets"
    # a name bound otherwise than by its import is not imported alone
    plan = _plan(_course("import numpy as np", "np = None", "from unet_course.exercises import ex00 as ex", _EXERCISE))
    assert plan.full_run is None
    plan = _plan(
        _course(
            "import numpy as np",
            "np = np.zeros(3)",
            "from unet_course.exercises import ex00 as ex",
            _EXERCISE,
            "ex.q1.check(np)",
        )
    )
    assert plan.full_run == "code cell 5 (calls ex) reads 'np', which lesson cell 2 sets"


def test_student_check_plan_copies_the_cheap_definitions_an_exercise_reads():
    # the lesson cell also loads data: only the function, what it calls and the constant are copied
    lesson = (
        "import numpy as np\n"
        "data = np.load('big.npy')\n"
        "def band(m):\n    return m != np.roll(m, 1)\n"
        "def score(m):\n    return band(m).mean()\n"
        "CLASSES = ['sky', 'road']\n"
        "NUM_CLASSES = len(CLASSES)\n"
        "print(score(data))"
    )
    reads = _EXERCISE.replace("ex.q1.check(f)", "ex.q1.check(f, score, NUM_CLASSES)")
    plan = _plan(_course(lesson, "from unet_course.exercises import ex00 as ex", reads))
    assert plan.full_run is None
    assert plan.kinds == ["setup", "definitions", "imports", "exercise"]
    copied = plan.notebook.cells[1].source
    assert copied.startswith("import numpy as np\n")
    assert "def band(m)" in copied and "def score(m)" in copied and "NUM_CLASSES = len(CLASSES)" in copied
    assert "np.load" not in copied and "print(" not in copied
    # a constant that reads lesson state further back is followed to its cell
    plan = _plan(
        _course(
            "n = np.load('a')",
            "m = n + 1",
            "from unet_course.exercises import ex00 as ex",
            reads.replace("NUM_CLASSES", "m"),
        )
    )
    assert plan.full_run == "code cell 4 (exercise) reads 'n', which lesson cell 1 sets"


def test_a_prediction_keeps_the_copy_reduced():
    # the guess is a top-level solution (stubbed as `guess = ...`); the reveal reads the lesson's answer
    course = _course(
        "from unet_course.exercises import ex03 as ex",
        "### BEGIN SOLUTION\nguess = 62\n### END SOLUTION\nex.p1.predict(guess)",
        "size = 64 - 2",
        "ex.p1.reveal(size)",
        _EXERCISE,
    )
    plan = _plan(course)
    assert plan.full_run is None
    assert plan.kinds == ["setup", "imports", "exercise", "exercise"]
    assert plan.cells == [0, 1, 2, 5]  # the reveal is a lesson cell, run by nbval in the course notebook
    assert plan.notebook.cells[2].source.startswith("guess = ...  # YOUR PREDICTION HERE")


def test_student_check_plan_finds_lesson_cells_the_course_run_does_not_cover():
    course = _course("x = 1  # NBVAL_CHECK_OUTPUT", "from unet_course.exercises import ex00 as ex", _EXERCISE)
    copy = make_student_notebook(course, "99_test.ipynb")
    assert student_check_plan(course, copy).mismatches == []
    copy.cells[3].source = "x = 2"
    copy.cells[4].metadata["tags"] = ["raises-exception"]
    assert student_check_plan(course, copy).mismatches == [
        "code cell 1: its source is not the course notebook's",
        "code cell 2: tags ['raises-exception'] vs the course's []",
    ]


def test_cells_needed_follows_binders_and_the_cells_that_may_change_an_object():
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


def test_a_cell_that_only_calls_a_reference_function_is_a_lesson_cell():
    # ex.foreground_fraction(...) is the course's reference: the same in the copy, so nbval's run covers it,
    # even though it reads lesson state; a check or a hint in the same cell would make it differ
    course = _course(
        "import numpy as np\nmasks = np.load('big.npy')",
        "from unet_course.exercises import ex00 as ex",
        _EXERCISE,
        "print(ex.foreground_fraction(masks))",
    )
    plan = _plan(course)
    assert plan.full_run is None and 4 not in plan.cells
    course.cells[-1].source += "\nex.q1.hint()"
    assert _plan(course).full_run == "code cell 4 (calls ex) reads 'masks', which lesson cell 1 sets"

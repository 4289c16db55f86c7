"""Student copies: the exercise copy of a course notebook, its solutions replaced by stubs.

Every code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is replaced by
``# YOUR CODE HERE`` and ``raise NotImplementedError()`` (nbgrader's convention), and a note
says this is the exercise copy. Prose that names the markers is reworded for the copy. Outputs
are kept for the cells that hold no solution and come before the first exercise (so "the figure
above" still shows one; execution counts cleared, widget views dropped), and cleared from there
on. :func:`write_student_notebooks` (``unet-course student-notebooks``) never overwrites a copy a
learner has run.
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import nbformat

from unet_course.course import BEGIN, CHECK_OUTPUT, END, STUDENT_DIR, course_notebooks
from unet_course.course.colab import colab_url

STUDENT_NOTE = (
    "> **This is the exercise copy.** The solutions are removed: wherever you see `# YOUR CODE HERE`, "
    "replace `raise NotImplementedError()` with your code and run the cell; the `ex.qN.check(...)` line of the cell "
    "checks your answer. Where a cell says `# YOUR PREDICTION HERE`, write your guess before you run on: "
    "the cells below reveal the answer. "
    "A cell left unfinished does not stop the notebook: the lessons go on with the course's tested code. "
    "The full notebook with solutions is [`../{name}`](../{name})."
)

_SOLUTION = re.compile(rf"^([ \t]*){re.escape(BEGIN)}[^\n]*\n.*?^[ \t]*{re.escape(END)}[^\n]*(\n|$)", re.S | re.M)


GUESS_STUB = "...  # YOUR PREDICTION HERE: replace ... with your guess, then run the cell"


def _guessed_names(block: str) -> list[str] | None:
    """The names a block binds when it is only ``name = value`` lines (a prediction's guess), else None."""
    import ast

    try:
        statements = ast.parse(block).body
    except SyntaxError:
        return None
    names = []
    for statement in statements:
        if not (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            return None
        names.append(statement.targets[0].id)
    return names or None


def strip_solutions(source: str) -> tuple[str, bool]:
    """Replace each solution block; return the new source and whether a block sat at top level.

    A block inside a function becomes ``# YOUR CODE HERE`` and ``raise NotImplementedError()``. A
    top-level block that only assigns names (the guess of a predict-before-you-run cell) becomes
    ``name = ...`` with a note: the cell runs, and ``ex.pN.predict(...)`` asks for the guess.
    Any other top-level block is stubbed like the others and reported (the cell stops there).
    """
    top_level = False

    def replace(match):
        nonlocal top_level
        indent = match.group(1)
        if indent == "":
            block = match.group(0).split("\n", 1)[1].rsplit(END, 1)[0]
            guessed = _guessed_names(block)
            if guessed:
                return "\n".join(f"{name} = {GUESS_STUB}" for name in guessed) + match.group(2)
        top_level = top_level or indent == ""
        return f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError(){match.group(2)}"

    if source.count(BEGIN) != source.count(END):
        raise ValueError(
            f"Unbalanced solution markers in a cell: {source.count(BEGIN)} '{BEGIN}' vs {source.count(END)} '{END}'."
        )
    return _SOLUTION.sub(replace, source), top_level


_MARKER_PROSE = re.compile(
    r"between\s+`### BEGIN SOLUTION`\s+and\s+`### END SOLUTION`"
    r"(\s*\(in the exercise\s+copy:\s+replace\s+`raise NotImplementedError\(\)`\))?"
)
_MARKER_PROSE_COPY = "where it says `# YOUR CODE HERE` (replace `raise NotImplementedError()` with your code)"
_EXERCISE = re.compile(r"\bex\.q\d+\.")
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def student_prose(source: str) -> str:
    """Markdown for the copy: the solution markers it does not have are not mentioned."""
    source = _MARKER_PROSE.sub(_MARKER_PROSE_COPY, source)
    return source.replace("`### BEGIN SOLUTION`", "`# YOUR CODE HERE`").replace("`### END SOLUTION`", "the check line")


def _kept_outputs(outputs):
    """Outputs a copy keeps, without widget views (their state is not saved in the copy)."""
    kept = []
    for output in copy.deepcopy(outputs):
        data = output.get("data")
        if data is not None and _WIDGET_VIEW in data:
            data.pop(_WIDGET_VIEW)
            if not data:
                continue
        kept.append(output)
    return kept


def drop_check_output(source: str) -> str:
    """A cell's source without its ``# NBVAL_CHECK_OUTPUT`` line: nbval must not compare outputs in a copy."""
    return "\n".join(line for line in source.split("\n") if line.strip() != CHECK_OUTPUT)


def make_student_notebook(notebook, name: str):
    """The exercise copy of a course notebook (a new object; the input is not changed)."""
    student = copy.deepcopy(notebook)
    before_exercises = True
    for cell in student.cells:
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace(
                colab_url(f"notebooks/{name}"), colab_url(f"notebooks/{STUDENT_DIR}/{name}")
            )
            cell.source = student_prose(cell.source)
            continue
        if cell.cell_type != "code":
            continue
        has_solution = BEGIN in cell.source
        before_exercises = before_exercises and not has_solution and not _EXERCISE.search(cell.source)
        source, top_level = strip_solutions(cell.source)
        cell.source = drop_check_output(source)
        if before_exercises:  # a lesson cell before any exercise: as the course ran it (nbval wants its count)
            cell.outputs = _kept_outputs(cell.outputs)
        else:
            cell.outputs = []
            cell.execution_count = None
        tags = [t for t in cell.metadata.get("tags", []) if t != "raises-exception"]
        if top_level:
            tags.append("raises-exception")
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
        cell.metadata.pop("execution", None)
    student.metadata.pop("widgets", None)  # saved widget state belongs to the run, not to the exercise copy
    note = nbformat.v4.new_markdown_cell(STUDENT_NOTE.format(name=name))
    note.id = "student-copy-note"
    student.cells.insert(1, note)
    return student


def student_notebook_text(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    return nbformat.writes(make_student_notebook(notebook, path.name)) + "\n"


def _has_learner_work(path: Path) -> bool:
    """True when a student copy on disk was run or edited by a learner.

    Generated copies have no outputs and no execution counts from their first exercise on (they
    keep the lesson cells before it as the course ran them), so regenerating them loses nothing;
    a copy whose exercise cells a learner has run or answered must not be overwritten.
    """
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception:  # unreadable: leave it alone too
        return True
    before_exercises = True
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        before_exercises = (
            before_exercises and "# YOUR CODE HERE" not in cell.source and not _EXERCISE.search(cell.source)
        )
        if not before_exercises and (cell.get("outputs") or cell.get("execution_count")):
            return True
    return False


def write_student_notebooks(
    directory: str | os.PathLike = "notebooks", only=None, *, force: bool = False
) -> list[Path]:
    """Write ``<directory>/student/NN_*.ipynb`` for every course notebook (or those in ``only``).

    A student copy that a learner has run (it holds outputs) is not overwritten: a
    ``ValueError`` names it. With ``force=True`` it is first saved as ``NN_*.ipynb.backup``.
    """
    directory = Path(directory)
    sources = [p for p in course_notebooks(directory) if not only or p.name in only or p.stem in only]
    if only and not sources:
        raise ValueError(f"No course notebook matches {list(only)}; give names such as 03_encoder.ipynb.")
    target = directory / STUDENT_DIR
    target.mkdir(exist_ok=True)
    updates = {target / p.name: student_notebook_text(p) for p in sources}
    worked = [
        out
        for out, text in updates.items()
        if out.exists() and out.read_text(encoding="utf-8") != text and _has_learner_work(out)
    ]
    if worked and not force:
        names = ", ".join(str(p) for p in worked)
        raise ValueError(
            f"Not overwriting {names}: it holds a learner's work (outputs of a run). Copy it elsewhere first, "
            "or pass --force to save it as .ipynb.backup and write a fresh copy."
        )
    for out in worked:
        out.replace(out.with_name(out.name + ".backup"))
    for out, text in updates.items():
        out.write_text(text, encoding="utf-8")
    return list(updates)

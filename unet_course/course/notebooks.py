"""Notebook tooling: Colab badges, the shared setup cell, student copies, execution.

- Colab badges and the Colab install line are built from :data:`unet_course.REPOSITORY`;
  ``tests/test_notebooks.py`` checks that every notebook carries exactly these.
- Student copies: every code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is
  replaced by ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` (nbgrader's
  convention), and a note says this is the exercise copy. Prose that names the markers is
  reworded for the copy. Outputs are kept for the cells that hold no solution and come before
  the first exercise (so "the figure above" still shows one; execution counts cleared, widget
  views dropped), and cleared from there on.
- Execution: ``execute`` runs a notebook top to bottom in a fresh kernel (``make notebooks``).
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

import nbformat

from unet_course import BRANCH, REPOSITORY

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUDENT_DIR = "student"
CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"


def colab_url(relative_path: str) -> str:
    """Open-in-Colab address of a notebook, from its path in the repository."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{relative_path}"


def badge_markdown(relative_path: str) -> str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(relative_path)})"


#: The first code cell of every notebook.
SETUP_CELL = f"""# Setup. On Colab, first install the course (about a minute); everywhere, check the
# environment and seed every random number generator.
import sys

if "google.colab" in sys.modules:
    %pip install --quiet "unet-course @ git+https://github.com/{REPOSITORY}@{BRANCH}"

from unet_course import config

config.setup()"""


STUDENT_NOTE = (
    "> **This is the exercise copy.** The solutions are removed: wherever you see `# YOUR CODE HERE`, "
    "replace `raise NotImplementedError()` with your code and run the cell; the `ex.qN.check(...)` line of the cell "
    "checks your answer. "
    "A cell left unfinished does not stop the notebook: the lessons go on with the course's tested code. "
    "The full notebook with solutions is [`../{name}`](../{name})."
)

_SOLUTION = re.compile(rf"^([ \t]*){re.escape(BEGIN)}[^\n]*\n.*?^[ \t]*{re.escape(END)}[^\n]*(\n|$)", re.S | re.M)


def strip_solutions(source: str) -> tuple[str, bool]:
    """Replace each solution block; return the new source and whether a block sat at top level."""
    top_level = False

    def replace(match):
        nonlocal top_level
        indent = match.group(1)
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
        # checked outputs are not compared in the copy (nbval must not compare them)
        source = "\n".join(line for line in source.split("\n") if line.strip() != CHECK_OUTPUT)
        cell.source = source
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


def course_notebooks(directory: str | os.PathLike = "notebooks") -> list[Path]:
    """The course notebooks (``NN_name.ipynb``), in order."""
    return sorted(p for p in Path(directory).glob("[0-9][0-9]_*.ipynb"))


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


_LOCAL_PATH = re.compile(r"(/work/|/tmp/|/root/|/home/[^/\s]+/|/Users/[^/\s]+/|\.venv/lib|site-packages/)")


def problems(notebook) -> list[str]:
    """What makes an executed notebook unfit to commit: error outputs, local paths, broken order."""
    found = []
    counts = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        counts.append(cell.execution_count)
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"cell {index}: error output {output.get('ename')}: {output.get('evalue')}")
            text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
            match = _LOCAL_PATH.search(text)
            if match:
                found.append(f"cell {index}: output shows a local path ({match.group(0)}...)")
            if output.output_type == "stream" and output.get("name") == "stderr" and "Traceback" in text:
                found.append(f"cell {index}: a traceback on stderr")
    if counts != list(range(1, len(counts) + 1)):
        found.append(f"execution counts are not 1..{len(counts)}: {counts[:10]}")
    return found


def execute(path: str | os.PathLike, *, fast: bool = False, timeout: int = 600, write: bool = True):
    """Run a notebook top to bottom in a fresh kernel, in its own folder.

    Full mode unless ``fast``; ``timeout`` is in seconds per cell. A run that times out is
    tried once more in a new kernel: on a busy machine the kernel and the client now and then
    miss each other at start-up and then wait for ever. The executed notebook is written back
    in place when ``write`` and it has no problems (see :func:`problems`); otherwise a
    ``RuntimeError`` lists them and the file on disk is left as it was.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    path = Path(path)
    saved = os.environ.get("UNET_COURSE_FAST")
    os.environ["UNET_COURSE_FAST"] = "1" if fast else "0"
    try:
        for attempt in (1, 2):
            notebook = nbformat.read(path, as_version=4)
            client = NotebookClient(
                notebook,
                timeout=timeout,
                startup_timeout=120,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            )
            try:
                client.execute()
                break
            except CellTimeoutError:
                if attempt == 2:
                    raise
                print(f"{path.name}: a cell ran longer than {timeout} s; trying once more in a new kernel", flush=True)
    finally:
        if saved is None:
            os.environ.pop("UNET_COURSE_FAST", None)
        else:
            os.environ["UNET_COURSE_FAST"] = saved
    issues = problems(notebook)
    if issues:
        raise RuntimeError(f"{path} is not fit to commit:\n  " + "\n  ".join(issues))
    if write:
        nbformat.write(notebook, path)
    return notebook

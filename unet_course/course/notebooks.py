"""Notebook tooling: Colab badges, the shared setup cell, student copies, execution.

- Colab badges and the Colab install line are built from :data:`unet_course.REPOSITORY` and
  :data:`unet_course.RELEASE` (a tag); ``tests/test_course_notebooks.py`` and
  ``tests/test_colab.py`` check that every notebook and the README carry exactly these, and
  :func:`sync_colab_links` (``unet-course colab-links``) rewrites them after either changes.
- Student copies: every code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` is
  replaced by ``# YOUR CODE HERE`` and ``raise NotImplementedError()`` (nbgrader's
  convention), and a note says this is the exercise copy. Prose that names the markers is
  reworded for the copy. Outputs are kept for the cells that hold no solution and come before
  the first exercise (so "the figure above" still shows one; execution counts cleared, widget
  views dropped), and cleared from there on.
- Testing a copy cheaply: ``student_check_plan`` gives the part of a copy that nbval's run of the
  course notebook does not cover (its exercise cells, and the cells that call ``ex.``), as a
  reduced notebook with the imports those cells need, or says why the whole copy must run.
- Execution: ``execute`` runs a notebook top to bottom in a fresh kernel (``make notebooks``).
"""

from __future__ import annotations

import ast
import copy
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from unet_course import RELEASE, REPOSITORY

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUDENT_DIR = "student"
CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"


#: Where every Colab link of the course starts: the repository at the release tag.
COLAB_PREFIX = f"https://colab.research.google.com/github/{REPOSITORY}/blob/{RELEASE}/"
#: The Colab install line of the setup cell: the package at the same tag.
COLAB_INSTALL = f'%pip install --quiet "unet-course @ git+https://github.com/{REPOSITORY}@{RELEASE}"'


def colab_url(relative_path: str) -> str:
    """Open-in-Colab address of a notebook, from its path in the repository."""
    return f"{COLAB_PREFIX}{relative_path}"


def badge_markdown(relative_path: str) -> str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(relative_path)})"


#: The first code cell of every notebook.
SETUP_CELL = f"""# Setup. On Colab, first install the course (about a minute); everywhere, check the
# environment and seed every random number generator.
import sys

if "google.colab" in sys.modules:
    {COLAB_INSTALL}

from unet_course import config

config.setup()"""


_ANY_COLAB_PREFIX = re.compile(r"https://colab\.research\.google\.com/github/[^/\s)]+/[^/\s)]+/blob/[^/\s)]+/")
_ANY_COLAB_INSTALL = re.compile(r'%pip install --quiet "unet-course @ git\+https://github\.com/[^"@]+@[^"]+"')


def colab_links(text: str) -> str:
    """``text`` with every Colab link and Colab install line pointed at the current release."""
    text = _ANY_COLAB_PREFIX.sub(COLAB_PREFIX, text)
    return _ANY_COLAB_INSTALL.sub(COLAB_INSTALL, text)


def sync_colab_links(root=".") -> list[Path]:
    """Point the Colab badges and setup cells of every notebook, and the README, at the release.

    After a change of :data:`unet_course.REPOSITORY` (a fork) or of the version (a release),
    this rewrites the cell sources of the course notebooks under ``root/notebooks`` (student
    copies too; see :func:`course_notebooks`) and
    ``root/README.md``; outputs are not touched (the Colab install line only runs on Colab).
    Returns the files it changed.
    """
    root = Path(root)
    changed = []
    # the course's NN_name notebooks only: a learner's own notebooks beside them are left alone
    for path in course_notebooks(root / "notebooks") + course_notebooks(root / "notebooks" / STUDENT_DIR):
        notebook = nbformat.read(path, as_version=4)
        before = [cell.source for cell in notebook.cells]
        for cell in notebook.cells:
            cell.source = colab_links(cell.source)
        if [cell.source for cell in notebook.cells] != before:
            nbformat.write(notebook, path)
            changed.append(path)
    readme = root / "README.md"
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        if colab_links(text) != text:
            readme.write_text(colab_links(text), encoding="utf-8")
            changed.append(readme)
    return changed


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
#: An error or warning line of TensorFlow's C++ log (absl format: "E0000 00:00:..."), which a
#: kernel prints on stderr: noise a learner cannot act on, or a problem to fix in the code.
_NATIVE_LOG = re.compile(r"^[EWF]\d{4} \d\d:\d\d:\d\d", re.M)


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
            if output.output_type == "stream" and output.get("name") == "stderr" and _NATIVE_LOG.search(text):
                found.append(f"cell {index}: a TensorFlow log line on stderr ({text.strip()[:60]}...)")
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


# ---------------------------------------------------------------- student copies, tested cheaply
# A student copy differs from its course notebook only in its exercise cells (solutions replaced by
# stubs); nbval's run of the course notebook already covers every other cell. To show that the copy
# runs to the end with every exercise unfinished, it is enough to run its exercise cells (and the cells
# that call the exercise module) in a kernel that holds what they read, when what they read comes from
# imports. :func:`student_check_plan` builds that reduced notebook, or says why the whole copy must run.


def _python(source: str) -> str:
    """A cell's code as plain Python (IPython magics turned into calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return source
    return TransformerManager().transform_cell(source)


def _import_alias(statement, alias) -> tuple[str, tuple]:
    """The name one alias of an import statement binds, and what it binds it to."""
    if isinstance(statement, ast.Import):
        return alias.asname or alias.name.split(".")[0], ("import", alias.name, alias.asname)
    return alias.asname or alias.name, ("from", statement.level, statement.module, alias.name)


@dataclass
class _CellNames:
    """What a code cell reads before binding it, what it binds at top level, and how (imports)."""

    free: set = field(default_factory=set)
    bound: set = field(default_factory=set)
    imports: dict = field(default_factory=dict)  # name -> set of import keys
    other: set = field(default_factory=set)  # names bound otherwise than by an import
    statements: list = field(default_factory=list)  # the top-level import statements
    star: bool = False


def _table_names(code: str, mode: str = "exec") -> tuple[set, set]:
    """(reads, binds) of module-level code: the globals it reads and the globals it may set."""
    import symtable

    table = symtable.symtable(code, "<cell>", mode)
    reads, binds = set(), set()
    for symbol in table.get_symbols():
        if symbol.is_referenced():
            reads.add(symbol.get_name())
        if symbol.is_assigned() or symbol.is_imported():
            binds.add(symbol.get_name())
    children = list(table.get_children())
    while children:  # functions, lambdas, classes, comprehensions: the globals they read or set
        child = children.pop()
        children.extend(child.get_children())
        for symbol in child.get_symbols():
            if symbol.is_global() and symbol.is_referenced():
                reads.add(symbol.get_name())
            if symbol.is_declared_global() and symbol.is_assigned():
                binds.add(symbol.get_name())
    return reads, binds


def _flow(statements, names: _CellNames, definite: set) -> set:
    """Walk statements in order: ``names.free`` gets each name read before the cell surely set it,
    ``names.bound`` every name the cell may set; returns the names surely set afterwards."""
    definite = set(definite)

    def read(node, mode="eval"):
        reads, _ = _table_names(ast.unparse(node), mode)
        names.free.update(reads - definite)

    def bind(target) -> set:
        reads, binds = _table_names(f"{ast.unparse(target)} = None")
        names.free.update(reads - definite)
        names.bound.update(binds)
        names.other.update(binds)
        return binds

    for statement in statements:
        if isinstance(statement, (ast.For, ast.AsyncFor)):
            read(statement.iter)
            inner = definite | bind(statement.target)
            _flow(statement.body, names, inner)
            _flow(statement.orelse, names, definite)
        elif isinstance(statement, ast.While):
            read(statement.test)
            _flow(statement.body, names, definite)
            _flow(statement.orelse, names, definite)
        elif isinstance(statement, ast.If):
            read(statement.test)
            definite = _flow(statement.body, names, definite) & _flow(statement.orelse, names, definite)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            for item in statement.items:
                read(item.context_expr)
                if item.optional_vars is not None:
                    definite |= bind(item.optional_vars)
            definite = _flow(statement.body, names, definite)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            after_body = _flow(statement.body, names, definite)
            _flow(statement.orelse, names, after_body)
            for handler in statement.handlers:
                if handler.type is not None:
                    read(handler.type)
                caught = {handler.name} if handler.name else set()
                names.bound.update(caught)
                names.other.update(caught)
                _flow(handler.body, names, definite | caught)
            definite = _flow(statement.finalbody, names, definite)
        else:  # a simple statement, or one read as a whole (def, class, match)
            reads, binds = _table_names(ast.unparse(statement))
            names.free.update(reads - definite)
            names.bound.update(binds)
            definite |= binds
            if isinstance(statement, (ast.Import, ast.ImportFrom)):
                if any(alias.name == "*" for alias in statement.names):
                    names.star = True
                    continue
                names.statements.append(statement)
                for alias in statement.names:
                    name, key = _import_alias(statement, alias)
                    names.imports.setdefault(name, set()).add(key)
            else:
                names.other.update(binds)
    return definite


def _cell_names(source: str) -> _CellNames:
    """Names of one cell (``SyntaxError`` for code that is not Python)."""
    names = _CellNames()
    _flow(ast.parse(_python(source)).body, names, set())
    return names


def _lesson_copy_source(source: str) -> str:
    """What the student copy makes of a cell without a solution (as :func:`make_student_notebook` does)."""
    return "\n".join(line for line in source.split("\n") if line.strip() != CHECK_OUTPUT)


def cells_needed(notebook, targets) -> list[int]:
    """The code cells (indices among the code cells) that running ``targets`` needs, in order.

    The first cell (the setup) and the targets, then, for every name a kept cell reads before
    binding it: the last earlier cell that binds it and, unless only imports bind the name, every
    cell between the two that reads it too (it may change the object: ``model.fit`` binds nothing
    but trains ``model``); and so on for the cells added. State a cell leaves elsewhere (inside
    modules, on disk) is not followed: a slice shows that the targets run, not that they print the
    same numbers as the whole notebook. ``SyntaxError`` for a cell that is not Python.
    """
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    names = [_cell_names(c.source) for c in cells]
    import_only = {n for x in names for n in x.bound} - {n for x in names for n in x.other}
    keep = {0, *targets}
    stack = sorted(keep)
    while stack:
        i = stack.pop()
        for name in names[i].free:
            binders = [j for j in range(i) if name in names[j].bound]
            if not binders:
                continue  # a builtin, or set by code the analysis does not see
            wanted = {binders[-1]}
            if name not in import_only:
                wanted |= {j for j in range(binders[-1] + 1, i) if name in names[j].free}
            for j in sorted(wanted - keep):
                keep.add(j)
                stack.append(j)
    return sorted(keep)


def sliced_notebook(notebook, targets):
    """A notebook of the :func:`cells_needed` by ``targets``, outputs cleared; returns it and the kept indices."""
    keep = cells_needed(notebook, targets)
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    sliced = nbformat.v4.new_notebook(metadata=copy.deepcopy(notebook.metadata))
    for i in keep:
        sliced.cells.append(nbformat.v4.new_code_cell(cells[i].source, metadata=copy.deepcopy(cells[i].metadata)))
    return sliced, keep


_USES_EXERCISES = re.compile(r"\bex\.")


@dataclass
class StudentCheckPlan:
    """How to show that a student copy runs to the end with every exercise unfinished.

    ``notebook``: the reduced notebook to run (None when the whole copy must run); ``cells``: for
    each of its code cells, the index of the copy's code cell it comes from; ``kinds``: for each,
    ``"setup"``, ``"exercise"``, ``"calls ex"``, ``"reads an exercise"`` (a lesson cell that reads
    what one of those set) or ``"imports"`` (the import statements of a lesson cell); ``exercises``:
    the copy's code-cell indices of the exercise cells; ``mismatches``: lesson cells of the copy that
    are not the course's cell at the same position (nbval's run of the course does not cover them);
    ``full_run``: why the reduced notebook would not show it (None if it does).
    """

    notebook: object = None
    cells: list = field(default_factory=list)
    kinds: list = field(default_factory=list)
    exercises: list = field(default_factory=list)
    mismatches: list = field(default_factory=list)
    full_run: str | None = None


def student_check_plan(course, student) -> StudentCheckPlan:
    """The reduced notebook that shows a student copy runs to the end, or why the whole copy must run.

    The copy's code cells must be the course's, position by position: an exercise cell (a course cell
    with a solution) is the copy's stub; every other cell must have the course cell's source (less its
    ``# NBVAL_CHECK_OUTPUT`` line) and tags, so nbval's run of the course notebook ran it. The reduced
    notebook keeps, in order, the setup cell and every cell whose run in the copy may differ from the
    course's: the exercise cells, the cells that use ``ex.`` (checks, hints) and the lesson cells that
    read a name one of those set last (the course's solution and the copy's stub leave different
    state); of every other cell, it keeps the top-level imports of names that the notebook binds only
    by that same import. It shows what the whole copy would when every name a kept cell reads was last
    set, before it, by a kept cell or such an import; otherwise ``full_run`` says why. A NameError in
    the reduced run (code the analysis does not see, such as ``exec``) also calls for the whole copy;
    the caller runs it. Not replayed: state that lesson cells leave inside modules (random seeds,
    Keras settings); the exercise checks run the learner's function on their own inputs.
    """
    plan = StudentCheckPlan()
    copy_cells = [c for c in student.cells if c.cell_type == "code"]
    course_cells = [c for c in course.cells if c.cell_type == "code"]
    if len(copy_cells) != len(course_cells):
        plan.mismatches.append(f"the copy has {len(copy_cells)} code cells, the course notebook {len(course_cells)}")
        return plan
    exercise = [BEGIN in c.source for c in course_cells]
    plan.exercises = [i for i, is_exercise in enumerate(exercise) if is_exercise]
    for i, (mine, theirs) in enumerate(zip(copy_cells, course_cells)):
        if exercise[i]:
            continue
        if mine.source != _lesson_copy_source(theirs.source):
            plan.mismatches.append(f"code cell {i}: its source is not the course notebook's")
        if mine.metadata.get("tags", []) != theirs.metadata.get("tags", []):
            plan.mismatches.append(
                f"code cell {i}: tags {mine.metadata.get('tags', [])} vs the course's {theirs.metadata.get('tags', [])}"
            )
    if plan.mismatches:
        return plan

    try:
        names = [_cell_names(c.source) for c in copy_cells]
        # an exercise cell sets what its solution sets in the course and what its stub sets in the copy
        solved = {i: _cell_names(course_cells[i].source) for i in plan.exercises}
    except SyntaxError as error:
        plan.full_run = f"a cell is not Python the analysis can read ({error.msg}, line {error.lineno})"
        return plan
    if any(n.star for n in names) or any(n.star for n in solved.values()):
        plan.full_run = "a cell imports * (the names it binds are unknown)"
        return plan
    top_level = [i for i in plan.exercises if strip_solutions(course_cells[i].source)[1]]
    if top_level:
        plan.full_run = f"code cell {top_level[0]} has a solution at top level (the cell stops at the stub)"
        return plan

    def sets(i: int) -> _CellNames:
        if i not in solved:
            return names[i]
        both = _CellNames()
        for part in (names[i], solved[i]):
            both.bound |= part.bound
            both.other |= part.other
            for name, keys in part.imports.items():
                both.imports.setdefault(name, set()).update(keys)
        return both

    binders: dict[str, list[int]] = {}
    for i in range(len(copy_cells)):
        for name in sets(i).bound:
            binders.setdefault(name, []).append(i)
    hoistable = set()
    for name, cells in binders.items():
        keys = set().union(*(sets(i).imports.get(name, set()) for i in cells))
        if len(keys) == 1 and not any(name in sets(i).other for i in cells):
            hoistable.add(name)  # bound only by one and the same import, wherever it is bound

    def last_binder(name: str, before: int):
        earlier = [j for j in binders.get(name, []) if j < before]
        return earlier[-1] if earlier else None

    def changed_by(i: int):
        """The cells that last set what cell ``i`` reads (bar the imports, the same in the copy and the course)."""
        for name in names[i].free - hoistable:
            j = last_binder(name, i)
            if j is not None:
                yield j

    # kept: the setup cell, and every cell whose run in the copy may differ from the course's: the exercise
    # cells, the cells that call the exercise module, and the lesson cells that read what one of those set
    kinds = [""] * len(copy_cells)
    for i, cell in enumerate(copy_cells):
        if i == 0:
            kinds[i] = "setup"
        elif exercise[i]:
            kinds[i] = "exercise"
        elif _USES_EXERCISES.search(cell.source):
            kinds[i] = "calls ex"
        elif any(kinds[j] not in ("", "setup") for j in changed_by(i)):
            kinds[i] = "reads an exercise"
    for i in range(len(copy_cells)):
        if not kinds[i]:
            continue
        for name in sorted(names[i].free):
            j = last_binder(name, i)
            if j is not None and not kinds[j] and name not in hoistable:
                plan.full_run = f"code cell {i} ({kinds[i]}) reads {name!r}, which lesson cell {j} sets"
                return plan

    reduced = nbformat.v4.new_notebook(metadata=copy.deepcopy(student.metadata))
    for i, cell in enumerate(copy_cells):
        if kinds[i]:
            source, kind = cell.source, kinds[i]
        else:
            statements = []
            for statement in names[i].statements:
                aliases = [a for a in statement.names if _import_alias(statement, a)[0] in hoistable]
                if aliases:
                    hoisted = copy.copy(statement)
                    hoisted.names = aliases
                    statements.append(ast.unparse(hoisted))
            if not statements:
                continue
            source, kind = "\n".join(statements), "imports"
        reduced.cells.append(nbformat.v4.new_code_cell(source, metadata=copy.deepcopy(cell.metadata)))
        plan.cells.append(i)
        plan.kinds.append(kind)
    plan.notebook = reduced
    return plan

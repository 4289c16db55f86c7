"""Notebook slicing: the cells that running some cells needs, and a student copy's reduced check run.

:func:`cells_needed` follows the names a kept cell reads back to the cells that set them (the
browser tests run a notebook sliced to its widget cells, :func:`sliced_notebook`).

A student copy differs from its course notebook only in its exercise cells (solutions replaced by
stubs); nbval's run of the course notebook already covers every other cell. To show that the copy
runs to the end with every exercise unfinished, it is enough to run its exercise cells (and the cells
that call the exercise module) in a kernel that holds what they read, when what they read comes from
imports. :func:`student_check_plan` builds that reduced notebook, or says why the whole copy must run.
"""

from __future__ import annotations

import ast
import copy
import functools
import re
from dataclasses import dataclass, field

import nbformat

from unet_course.course import BEGIN
from unet_course.course.student import drop_check_output, strip_solutions


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


#: a cell that uses an exercise or a prediction (``ex.q1.check``, ``ex.q2.hint``, ``ex.p1.predict``): its run in the
#: copy differs from the course's; a cell that only calls a reference function (``ex.mean_iou(...)``) does not
_USES_EXERCISES = re.compile(r"\bex\.[qp]\d+\.")
#: ``ex.pN.reveal(answer)``: a lesson cell (it reads the lesson's answer; in the copy it only says that no
#: guess was recorded), run by nbval in the course notebook
_REVEAL = re.compile(r"\bex\.p\d+\.reveal\(")


#: calls a copied constant may make: builtins that compute, never load or train
_CHEAP_CALLS = frozenset(
    "abs all any bool dict enumerate float frozenset int len list max min range reversed round set sorted str sum "
    "tuple zip".split()
)


def _cheap(value) -> bool:
    """Whether an expression only computes from literals and names (no call but a builtin of ``_CHEAP_CALLS``)."""
    for node in ast.walk(value):
        if isinstance(node, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)):
            return False
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _CHEAP_CALLS):
            return False
    return True


@functools.lru_cache(maxsize=256)
def _top_level(source: str) -> tuple:
    """A cell's top-level statements, each as ``(statement, its code, the globals it reads, the globals it sets)``."""
    found = []
    for statement in ast.parse(_python(source)).body:
        code = ast.unparse(statement)
        reads, binds = _table_names(code)
        found.append((statement, code, frozenset(reads), frozenset(binds)))
    return tuple(found)


def _definitions(source: str, name: str) -> set | None:
    """The top-level statements of a cell that define ``name`` cheaply, with those of the cell they read.

    A definition is a ``def``, a ``class``, an import or an assignment of a :func:`_cheap` value; None
    when the name is set otherwise (by a loop, a ``with``, an expensive call), which calls for the whole copy.
    """
    statements = _top_level(source)
    wanted, todo = set(), [(name, len(statements))]
    while todo:
        target, before = todo.pop()
        binders = [k for k in range(before) if target in statements[k][3]]
        if not binders:
            continue  # set in an earlier cell (the caller follows it) or a builtin
        k = binders[-1]
        if k in wanted:
            continue
        statement, _, reads, _ = statements[k]
        if isinstance(statement, (ast.Import, ast.ImportFrom)) and all(a.name != "*" for a in statement.names):
            pass
        elif isinstance(statement, (ast.FunctionDef, ast.ClassDef)) and not statement.decorator_list:
            pass
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if not (all(isinstance(t, ast.Name) for t in targets) and _cheap(statement.value)):
                return None
        else:
            return None
        wanted.add(k)
        todo += [(read, k) for read in reads]
    return wanted


def _definition_reads(source: str, wanted: set) -> set:
    """The names the copied statements read that none of them binds (set by earlier cells, or builtins)."""
    reads, binds = set(), set()
    for k in sorted(wanted):
        _, _, r, b = _top_level(source)[k]
        reads |= r - binds - b  # a function may call itself
        binds |= b
    return reads


@dataclass
class StudentCheckPlan:
    """How to show that a student copy runs to the end with every exercise unfinished.

    ``notebook``: the reduced notebook to run (None when the whole copy must run); ``cells``: for
    each of its code cells, the index of the copy's code cell it comes from; ``kinds``: for each,
    ``"setup"``, ``"exercise"``, ``"calls ex"``, ``"reads an exercise"`` (a lesson cell that reads
    what one of those set), ``"imports"`` (the import statements of a lesson cell) or ``"definitions"``
    (its imports and the functions, classes and constants a kept cell reads from it); ``exercises``:
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
        if mine.source != drop_check_output(theirs.source):
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
        elif _USES_EXERCISES.search(_REVEAL.sub("", cell.source)):
            kinds[i] = "calls ex"
        elif any(kinds[j] not in ("", "setup") for j in changed_by(i)):
            kinds[i] = "reads an exercise"
    # what a kept cell reads from a lesson cell: a definition that is cheap to repeat (a function, a
    # class, a constant) is copied from that cell; anything else calls for the whole copy
    copied: dict[int, set] = {}  # lesson cell -> indices of its top-level statements to copy

    def copy_definition(name: str, i: int, reader: str) -> str | None:
        """Copy what binds ``name`` for cell ``i`` (None), or say why the whole copy must run."""
        j = last_binder(name, i)
        if j is None or kinds[j] or name in hoistable:
            return None
        statements = _definitions(copy_cells[j].source, name)
        if statements is None:
            return f"{reader} reads {name!r}, which lesson cell {j} sets"
        copied.setdefault(j, set()).update(statements)
        for read in _definition_reads(copy_cells[j].source, statements):
            why = copy_definition(read, j, reader)
            if why:
                return why
        return None

    for i in range(len(copy_cells)):
        if not kinds[i]:
            continue
        for name in sorted(names[i].free):
            why = copy_definition(name, i, f"code cell {i} ({kinds[i]})")
            if why:
                plan.full_run = why
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
            kind = "imports"
            if i in copied:
                top = _top_level(cell.source)
                statements += [top[k][1] for k in sorted(copied[i]) if top[k][1] not in statements]
                kind = "definitions"
            if not statements:
                continue
            source = "\n".join(statements)
        reduced.cells.append(nbformat.v4.new_code_cell(source, metadata=copy.deepcopy(cell.metadata)))
        plan.cells.append(i)
        plan.kinds.append(kind)
    plan.notebook = reduced
    return plan

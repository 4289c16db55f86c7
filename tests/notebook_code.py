"""Run the teaching code of a course notebook inside a test.

The notebooks write some functions from scratch to teach them ("define each thing once"):
tests compare those teaching versions with the package's tested ones. ``notebook_namespace``
executes the code cells that define the requested names (and nothing else: no training,
no figures), after an optional preamble of imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _defines(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: not a definition cell
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def notebook_namespace(
    notebook: str, names, preamble: str = "import numpy as np\nimport keras\nfrom keras import layers, ops\n"
) -> dict:
    """Execute the cells of ``notebooks/<notebook>.ipynb`` that define any of ``names``.

    Returns the namespace; raises ``LookupError`` when a name is defined by no cell.
    """
    path = NOTEBOOKS / (notebook if notebook.endswith(".ipynb") else f"{notebook}.ipynb")
    nb = nbformat.read(path, as_version=4)
    namespace: dict = {}
    exec(preamble, namespace)
    wanted = set(names)
    found = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        defined = _defines(cell.source) & wanted
        if defined:
            # only the definitions of the cell, not the calls around them (checks, prints)
            tree = ast.parse(cell.source)
            tree.body = [
                n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))
            ]
            exec(compile(tree, str(path), "exec"), namespace)
            found |= defined
    missing = wanted - found
    if missing:
        raise LookupError(f"{path.name} defines no {sorted(missing)}")
    return namespace

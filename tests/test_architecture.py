"""The package's architecture: data -> models -> losses/metrics -> training -> inference -> evaluation ->
viz; analysis only reads models; deploy sits on inference; course/, exercises/, widgets/ and cli sit on
top. No lower layer imports a higher one, no module imports itself back through others (no circle),
and inside training/ the arrows run one way. Imports are read with ``ast``, those at the top of a
module and those inside its functions alike."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "unet_course"

# what each part may import from the package (besides itself, config and _validation)
ALLOWED = {
    "data": set(),
    "models": {"data"},
    "analysis": {"models"},
    "losses": {"data", "models"},
    "metrics": {"data", "models"},
    "training": {"data", "models", "losses", "metrics"},
    "inference": {"data", "models"},
    "deploy": {"data", "models", "analysis", "losses", "metrics", "inference"},
    "evaluation": {"data", "models", "losses", "metrics", "inference"},
    "viz": {"data", "models", "analysis", "metrics", "evaluation"},
}

# training/, lowest first: a module imports only modules before it
TRAINING_ORDER = ["recipes", "build", "callbacks", "distribute", "run_setup", "fit", "replicas_experiment"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, source: str | None = None) -> set[str]:
    """The package's modules that module ``name`` imports, anywhere in its code (or in ``source``)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    source = path.read_text(encoding="utf-8") if source is None else source
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from .x import y
                base = ".".join(
                    package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                )
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # unet_course.x.y.function -> unet_course.x.y
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def _part(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_no_lower_layer_imports_a_higher_one(part):
    modules = [m for m in MODULES if _part(m) == part]
    assert modules, part
    for module in modules:
        wrong = {_part(t) for t in GRAPH[module]} - ALLOWED[part] - {part, "config", "_validation", ""}
        assert not wrong, f"{module} imports {sorted(wrong)}, a higher layer than {part}"


def _circle_from(start: str):
    """A path start -> ... -> start through the package's imports, or None."""
    stack, seen = [(start, [start])], set()
    while stack:
        module, path = stack.pop()
        for target in GRAPH[module]:
            if target == start:
                return [*path, start]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*path, target]))
    return None


def test_no_import_circle():
    circles = []
    for module in MODULES:
        circle = _circle_from(module)
        if circle:
            circles.append(" -> ".join(circle))
    assert not circles, "import circles:\n" + "\n".join(sorted(circles))


def test_the_arrows_inside_training_run_one_way():
    present = sorted(m.rpartition(".")[2] for m in MODULES if m.startswith("unet_course.training."))
    assert sorted(TRAINING_ORDER) == present, "add the new training module to TRAINING_ORDER"
    for index, name in enumerate(TRAINING_ORDER):
        later = {f"unet_course.training.{n}" for n in TRAINING_ORDER[index:]}
        upward = GRAPH[f"unet_course.training.{name}"] & (later | {"unet_course.training"})
        assert not upward, f"training/{name}.py imports {sorted(upward)}: only modules before it in TRAINING_ORDER"


def test_the_import_reader_sees_imports_inside_functions():
    # the old circle, written back: distribute importing fit inside a function is found
    source = "import os\n\ndef f():\n    from unet_course.training.fit import train\n    from . import recipes\n"
    found = _imports("unet_course.training.distribute", source)
    assert found == {"unet_course.training.fit", "unet_course.training.recipes"}

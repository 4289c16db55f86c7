"""The package's layers: data -> models -> losses/metrics -> training -> inference -> evaluation -> viz;
analysis only reads models; course/, exercises/, widgets/ and cli sit on top. No lower layer imports a higher one."""

import re
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
    "evaluation": {"data", "models", "losses", "metrics", "inference"},
    "viz": {"data", "models", "analysis", "metrics", "evaluation"},
}


def _imports(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    found = set(re.findall(r"^\s*from unet_course\.(\w+)", text, re.M))
    found |= set(re.findall(r"^\s*import unet_course\.(\w+)", text, re.M))
    found |= {
        m
        for group in re.findall(r"^\s*from unet_course import ([\w, ]+)", text, re.M)
        for m in re.split(r",\s*", group)
    }
    return found - {"config", "_validation", "REPOSITORY", "RELEASE"}


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_no_lower_layer_imports_a_higher_one(part):
    files = [PACKAGE / f"{part}.py"] if (PACKAGE / f"{part}.py").exists() else sorted((PACKAGE / part).rglob("*.py"))
    assert files, part
    for path in files:
        wrong = _imports(path) - ALLOWED[part] - {part}
        assert not wrong, f"{path.relative_to(PACKAGE.parent)} imports {sorted(wrong)}, a higher layer than {part}"

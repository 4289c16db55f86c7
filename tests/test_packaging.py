"""The two ways to install agree: pyproject.toml (pip, Colab) and environment.yml (conda)."""

import re
from pathlib import Path

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parent.parent


def _split(requirement: str) -> tuple[str, str]:
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)", requirement)
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"])
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    listed = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, str):
            name, spec = _split(entry)
            if name not in ("python", "pip"):
                listed[name] = spec
        else:  # the pip: section, for what conda-forge does not have (and the course itself, -e .)
            for requirement in entry["pip"]:
                if not requirement.startswith("-e"):
                    name, spec = _split(requirement)
                    listed[name] = spec
    assert listed == wanted


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = text.split("```")[1]
    assert "make lab" in first_block and "make test" in first_block
    assert "make test" in (ROOT / ".ci" / "run").read_text()

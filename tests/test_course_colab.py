"""Colab: every badge and setup cell (notebooks, student copies, README) opens and installs one release tag.

The tag is ``unet_course.RELEASE`` (``v`` + the version in ``pyproject.toml``), built with
``unet_course.REPOSITORY`` into the badges and the install line; ``unet-course colab-links``
rewrites them all after a fork or a release. Colab itself is not reachable from the tests.
"""

import re
import shutil
from pathlib import Path

import nbformat
import pytest
import tomllib

import unet_course
from unet_course.course import colab

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STUDENT = sorted((ROOT / "notebooks" / "student").glob("[0-9][0-9]_*.ipynb"))
COLAB_URL = re.compile(r"https://colab\.research\.google\.com/github/[^)\s\"\\]+")


def test_the_release_is_the_packages_version_as_a_tag():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert unet_course.__version__ == version
    assert unet_course.RELEASE == f"v{version}"
    assert re.fullmatch(r"v\d+\.\d+\.\d+", unet_course.RELEASE), "a release tag, not a branch"
    assert f'git+https://github.com/{unet_course.REPOSITORY}@{unet_course.RELEASE}"' in colab.SETUP_CELL
    assert "@main" not in colab.SETUP_CELL


@pytest.mark.parametrize("path", NOTEBOOKS + STUDENT, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_every_colab_link_and_install_line_uses_the_release(path):
    nb = nbformat.read(path, as_version=4)
    sources = "\n".join(cell.source for cell in nb.cells)
    urls = COLAB_URL.findall(sources)
    assert urls, f"{path.name} has no Colab badge"
    assert all(url.startswith(colab.COLAB_PREFIX) for url in urls), (
        f"{path.name}: {urls}; run `unet-course colab-links`"
    )
    setup = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert colab.COLAB_INSTALL in setup.source, f"{path.name}: run `unet-course colab-links`"


def test_the_readme_badges_use_the_release_and_open_existing_notebooks():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    urls = COLAB_URL.findall(text)
    assert len(urls) >= len(NOTEBOOKS)
    for url in urls:
        assert url.startswith(colab.COLAB_PREFIX), f"{url}; run `unet-course colab-links`"
        assert (ROOT / url[len(colab.COLAB_PREFIX) :]).is_file(), url


def test_colab_links_rewrites_an_old_reference_and_nothing_else(tmp_path):
    (tmp_path / "notebooks" / "student").mkdir(parents=True)
    course = tmp_path / "notebooks" / "00_welcome_and_setup.ipynb"
    shutil.copy(NOTEBOOKS[0], course)
    shutil.copy(STUDENT[0], tmp_path / "notebooks" / "student" / NOTEBOOKS[0].name)
    old_badge = "https://colab.research.google.com/github/someone/fork/blob/main/"
    old_install = '%pip install --quiet "unet-course @ git+https://github.com/someone/fork@main"'
    nb = nbformat.read(course, as_version=4)
    outputs_before = [cell.get("outputs") for cell in nb.cells]
    nb.cells[0].source = nb.cells[0].source.replace(colab.COLAB_PREFIX, old_badge)
    setup = next(cell for cell in nb.cells if cell.cell_type == "code")
    setup.source = setup.source.replace(colab.COLAB_INSTALL, old_install)
    nbformat.write(nb, course)
    (tmp_path / "README.md").write_text(
        f"[![Open In Colab](badge.svg)]({old_badge}notebooks/00_welcome_and_setup.ipynb)\n"
    )
    learners = tmp_path / "notebooks" / "my_notes.ipynb"  # not a course notebook: left as it is
    learners.write_text(course.read_text())
    learners_before = learners.read_bytes()

    changed = colab.sync_colab_links(tmp_path)

    assert changed == [course, tmp_path / "README.md"]  # the student copy was already right
    assert learners.read_bytes() == learners_before
    fixed = nbformat.read(course, as_version=4)
    assert fixed.cells[0].source == nbformat.read(NOTEBOOKS[0], as_version=4).cells[0].source
    assert next(c for c in fixed.cells if c.cell_type == "code").source == colab.SETUP_CELL
    assert [cell.get("outputs") for cell in fixed.cells] == outputs_before
    assert colab.COLAB_PREFIX + "notebooks/00_welcome_and_setup.ipynb" in (tmp_path / "README.md").read_text()
    assert colab.sync_colab_links(tmp_path) == []  # a second run has nothing to do

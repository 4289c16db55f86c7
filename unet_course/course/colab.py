"""Colab: the badges, the shared setup cell and its install line, all built from the release.

Colab badges and the Colab install line are built from :data:`unet_course.REPOSITORY` and
:data:`unet_course.RELEASE` (a tag); ``tests/test_course_colab.py`` checks that every notebook
and the README carry exactly these, and :func:`sync_colab_links` (``unet-course colab-links``)
rewrites them after either changes.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from unet_course import RELEASE, REPOSITORY
from unet_course.course import STUDENT_DIR, course_notebooks

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

"""Instructor tooling, apart from the ML code: the course's notebooks as files, and their tools.

- :mod:`~unet_course.course.colab`: Colab badges, the shared setup cell, ``unet-course colab-links``
- :mod:`~unet_course.course.student`: the exercise copies in ``notebooks/student/``
- :mod:`~unet_course.course.execution`: running a notebook top to bottom, and what makes a run unfit to commit
- :mod:`~unet_course.course.slicing`: the cells a set of cells needs (a notebook sliced to them), and
  the reduced run that shows a student copy runs to the end
- :mod:`~unet_course.course.grading`: ``unet-course grade``

This module holds what they share: where the notebooks are and the markers in them.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The markers of a solution in a course notebook (nbgrader's convention).
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
#: The folder of the exercise copies, inside the notebooks' folder.
STUDENT_DIR = "student"
#: The first line of a cell whose output nbval compares.
CHECK_OUTPUT = "# NBVAL_CHECK_OUTPUT"


def course_notebooks(directory: str | os.PathLike = "notebooks") -> list[Path]:
    """The course notebooks (``NN_name.ipynb``), in order."""
    return sorted(p for p in Path(directory).glob("[0-9][0-9]_*.ipynb"))

"""The course commands: check, student-notebooks, colab-links, run-notebooks and grade.

Each takes the parsed command line (:func:`unet_course.cli.main` builds the parser) and returns
the exit status; a ``ValueError`` of the course tools is one line ``unet-course: ...`` and status 2.
"""

from __future__ import annotations

import sys
from pathlib import Path


def check(args) -> int:
    """``unet-course check``: the environment (versions, backend, devices)."""
    from unet_course import config

    config.setup()
    return 0


def student_notebooks(args) -> int:
    """``unet-course student-notebooks``: regenerate the exercise copies in notebooks/student/."""
    from unet_course.course.student import write_student_notebooks

    try:
        written = write_student_notebooks(args.notebooks, only=args.only or None, force=args.force)
    except ValueError as error:
        print(f"unet-course: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


def colab_links(args) -> int:
    """``unet-course colab-links``: point every Colab badge and setup cell at the release."""
    from unet_course import RELEASE, REPOSITORY
    from unet_course.course.colab import sync_colab_links

    changed = sync_colab_links(args.root)
    for path in changed:
        print(f"rewrote the Colab links of {path}")
    print(f"every Colab badge and setup cell points at {REPOSITORY} {RELEASE} ({len(changed)} file(s) changed)")
    return 0


def run_notebooks(args) -> int:
    """``unet-course run-notebooks``: execute notebooks top to bottom, in place; go on after a failure."""
    from unet_course.course import course_notebooks
    from unet_course.course.execution import execute

    paths = [Path(p) for p in args.paths] or course_notebooks(args.notebooks)
    failed = 0
    for path in paths:
        print(f"running {path} ({'FAST' if args.fast else 'full'} mode) ...", flush=True)
        try:
            execute(path, fast=args.fast, timeout=args.timeout)
        except Exception as error:  # report and go on with the next notebook
            failed += 1
            print(f"FAILED {path}: {error}", file=sys.stderr)
    return 1 if failed else 0


def grade(args) -> int:
    """``unet-course grade``: run a class's notebooks, write a CSV of exercise results."""
    from unet_course.course.grading import grade_class

    try:
        rows = grade_class(args.student_dir, args.output, timeout=args.timeout, fast=not args.full)
    except ValueError as error:
        print(f"unet-course: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(rows)} rows to {args.output}")
    return 0

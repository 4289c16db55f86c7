"""The ``unet-course`` command.

    unet-course check                     print the environment (versions, backend, devices)
    unet-course student-notebooks         regenerate notebooks/student/ from the course notebooks
    unet-course run-notebooks [PATH...]   execute notebooks top to bottom, in place (full mode)
    unet-course grade STUDENT_DIR         run a class's notebooks, write a CSV of exercise results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _check(args) -> int:
    from unet_course import config

    config.setup()
    return 0


def _student(args) -> int:
    from unet_course.course.notebooks import write_student_notebooks

    try:
        written = write_student_notebooks(args.notebooks, only=args.only or None, force=args.force)
    except ValueError as error:
        print(f"unet-course: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


def _run(args) -> int:
    from unet_course.course.notebooks import course_notebooks, execute

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


def _grade(args) -> int:
    from unet_course.course.grading import grade_class

    try:
        rows = grade_class(args.student_dir, args.output, timeout=args.timeout, fast=not args.full)
    except ValueError as error:
        print(f"unet-course: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(rows)} rows to {args.output}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="unet-course", description="Tools of the unet-course U-Net course.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="print versions, backend and devices").set_defaults(func=_check)
    student = sub.add_parser("student-notebooks", help="regenerate the exercise copies in notebooks/student/")
    student.add_argument("--notebooks", default="notebooks", help="folder of the course notebooks")
    student.add_argument("only", nargs="*", help="only these notebooks (file names), default all")
    student.add_argument("--force", action="store_true", help="overwrite copies a learner has run, after saving them as .ipynb.backup")
    student.set_defaults(func=_student)
    run = sub.add_parser("run-notebooks", help="execute notebooks top to bottom, in place")
    run.add_argument("paths", nargs="*", help="notebooks to run (default: every course notebook)")
    run.add_argument("--notebooks", default="notebooks")
    run.add_argument("--fast", action="store_true", help="FAST mode (for trying things; commit full runs)")
    run.add_argument("--timeout", type=int, default=600, help="seconds per cell (a timed-out run is retried once)")
    run.set_defaults(func=_run)
    grade = sub.add_parser("grade", help="grade a folder of submissions: STUDENT_DIR/<learner>/NN_*.ipynb")
    grade.add_argument("student_dir")
    grade.add_argument("--output", default="grades.csv", help="CSV to write (default grades.csv)")
    grade.add_argument("--timeout", type=int, default=600, help="seconds per notebook")
    grade.add_argument("--full", action="store_true", help="run in full mode instead of FAST mode")
    grade.set_defaults(func=_grade)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Exercises with feedback: one module per notebook (``ex00``, ``ex01``, ...).

In a notebook::

    from unet_course.exercises import ex00 as ex
    ex.q1.check(foreground_fraction)   # verdict: correct, or the likely mistake
    ex.q1.hint()                       # a nudge
    ex.q1.solution()                   # one correct answer

A check runs the learner's code on several inputs and compares behaviour with the
reference, never the exact code. Whatever the learner's code does (return ``None``,
raise ``NotImplementedError`` or any other error, return the wrong type or shape), the
learner gets a sentence that says what to fix, never a raw stack trace.

For grading, set ``UNET_COURSE_GRADE_LOG`` to a file: every check appends one JSON line
(exercise, passed, message) to it. ``unet-course grade`` uses this.
"""

from __future__ import annotations

import inspect
import json
import os
import textwrap
import traceback
from dataclasses import dataclass, field
from typing import Callable

GRADE_LOG_ENV = "UNET_COURSE_GRADE_LOG"


class Mistake(Exception):
    """Raised by a checker with a message for the learner."""


class NotDone(Exception):
    """The learner's answer is still the ``raise NotImplementedError()`` placeholder."""


def _short_error(error: BaseException) -> str:
    """The learner-facing description of an error raised inside their code."""
    frames = traceback.extract_tb(error.__traceback__)
    # the innermost frame from the learner's notebook cell (not from the course or libraries)
    own = [f for f in frames if "ipykernel" in f.filename or f.filename.startswith("<")]
    where = f" (line {own[-1].lineno} of your cell: `{(own[-1].line or '').strip()}`)" if own else ""
    return f"{type(error).__name__}: {error}{where}"


def call(function, *args, describe: str = "", **kwargs):
    """Call the learner's ``function``; turn what can go wrong into a ``Mistake``.

    ``describe`` says what the inputs were, for the message ("on a 4x4 mask of zeros").
    """
    if function is None:
        raise Mistake("You passed None. Pass your function itself, e.g. check(my_function), without calling it.")
    if not callable(function):
        raise Mistake(f"Expected a function, got {type(function).__name__} {function!r:.60}. Pass the function, not its result.")
    try:
        result = function(*args, **kwargs)
    except NotImplementedError:
        raise NotDone() from None
    except Exception as error:  # the learner's code failed: say how, briefly
        on = f" {describe}" if describe else ""
        raise Mistake(f"Your function raised {_short_error(error)}{on}.") from None
    if result is None:
        raise Mistake("Your function returned None. Did you forget the `return` statement?")
    return result


@dataclass
class Exercise:
    """One exercise: a checker, a hint and a reference solution."""

    name: str
    title: str
    checker: Callable
    hint_text: str
    reference: Callable | str
    notebook: str = ""
    _last: tuple | None = field(default=None, repr=False)

    def check(self, answer=None) -> None:
        """Run the checker on ``answer`` and print the verdict (also logged when grading)."""
        passed, message = self._run(answer)
        self._last = (passed, message)
        mark = "✅" if passed else "❌"
        print(f"{mark} {self.name} ({self.title}): {message}")
        if not passed:
            print(f"   Try again, or ask for help: {self._handle()}.hint() gives a hint, {self._handle()}.solution() shows an answer.")
        self._log(passed, message)

    def _handle(self) -> str:
        return f"ex.{self.name}"

    def _run(self, answer) -> tuple[bool, str]:
        try:
            message = self.checker(answer)
        except NotDone:
            return False, "not yet implemented: replace `raise NotImplementedError()` with your code and run the cell again."
        except Mistake as mistake:
            return False, f"not yet. {mistake}"
        except Exception as error:  # a bug in a checker must not hide behind the learner's answer
            return False, f"the checker itself failed ({type(error).__name__}: {error}). Please report this to the course."
        return True, message or "correct, well done!"

    def _log(self, passed: bool, message: str) -> None:
        path = os.environ.get(GRADE_LOG_ENV)
        if not path:
            return
        record = {"notebook": self.notebook, "exercise": self.name, "passed": passed, "message": message}
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")

    def hint(self) -> None:
        print(f"💡 {self.name}: {self.hint_text}")

    def solution(self) -> None:
        """Print one correct answer (the reference the checker compares with)."""
        source = self.reference if isinstance(self.reference, str) else inspect.getsource(self.reference)
        print(f"One solution to {self.name} ({self.title}):\n")
        print(textwrap.dedent(source).strip())


def exercise(name: str, title: str, *, hint: str, reference, notebook: str):
    """Decorator that turns a checker function into an :class:`Exercise`."""

    def wrap(checker):
        return Exercise(name=name, title=title, checker=checker, hint_text=hint, reference=reference, notebook=notebook)

    return wrap


def exercises_of(module) -> list[Exercise]:
    """The exercises a module defines, in order of their names (q1, q2, ...)."""
    found = [value for value in vars(module).values() if isinstance(value, Exercise)]
    return sorted(found, key=lambda e: (len(e.name), e.name))

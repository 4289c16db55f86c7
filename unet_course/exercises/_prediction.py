"""Predict before you run: a learner's guess, recorded before the cell that shows the answer.

A lesson asks a question whose answer the next cell prints (a shape, a parameter count, which
of two runs wins). Guessing first is what makes the printed number teach something; recording
the guess is what keeps the guess honest. In a notebook::

    guess = 448                 # the learner's prediction, before running the next cell
    ex.p1.predict(guess)        # prints "recorded"; nothing is revealed yet

    ...                         # the lesson cell that computes the answer
    ex.p1.reveal(count)         # compares the recorded guess with the answer, and explains

A :class:`Prediction` judges like a teacher: ``explain`` maps a wrong guess to the mistake it
probably reveals ("you counted the weights but not the biases"). ``unet-course grade`` logs a
reveal like a check (``exercise`` ``"p1"``), so an instructor sees who predicted and how well.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from unet_course.exercises._core import Verdict, log_verdict

_UNSET = object()


def _close(guess, actual, tolerance: float) -> bool:
    try:
        guess, actual = float(guess), float(actual)
    except (TypeError, ValueError):
        return guess == actual
    return math.isclose(guess, actual, rel_tol=tolerance, abs_tol=0.0) if tolerance else guess == actual


@dataclass
class Prediction:
    """A predict-before-you-run question (see the module docstring).

    - ``question``: the question, as the notebook asks it.
    - ``tolerance``: a relative tolerance for numbers (0.1: within 10%); 0 means exact.
    - ``explain(guess, actual)``: the likely mistake behind a wrong guess, or ``None``.
    - ``choices``: for a multiple-choice question, the accepted answers (checked at ``predict``).
    """

    name: str
    question: str
    notebook: str = ""
    tolerance: float = 0.0
    explain: Callable | None = None
    choices: tuple = ()
    _guess: object = field(default=_UNSET, repr=False)

    def predict(self, guess) -> None:
        """Record ``guess`` (before the answer is shown); says so, reveals nothing."""
        if guess is None or guess is Ellipsis:
            print(f"✏️ {self.name}: write your prediction first ({self.question}), then run this cell.")
            return
        if self.choices and guess not in self.choices:
            options = ", ".join(repr(c) for c in self.choices)
            print(f"✏️ {self.name}: answer with one of {options}; you gave {guess!r}.")
            return
        self._guess = guess
        print(f"✏️ {self.name}: your prediction {guess!r} is recorded. Run on: a cell below shows the answer.")

    @property
    def recorded(self) -> bool:
        return self._guess is not _UNSET

    def verdict(self, actual) -> Verdict:
        """How the recorded guess compares with ``actual`` (no printing)."""
        if not self.recorded:
            return Verdict(False, f"no prediction was recorded before the answer. The answer is {actual!r}.")
        guess = self._guess
        if _close(guess, actual, self.tolerance):
            return Verdict(True, f"you predicted {guess!r}; the answer is {actual!r}. Right.")
        reason = self.explain(guess, actual) if self.explain is not None else None
        text = f"you predicted {guess!r}; the answer is {actual!r}."
        return Verdict(False, f"{text} {reason}" if reason else f"{text} Look at the cell above to see why.")

    def reveal(self, actual) -> None:
        """Compare the recorded guess with ``actual`` and print the verdict (logged when grading)."""
        passed, message = self.verdict(actual)
        print(f"{'✅' if passed else '🔎'} {self.name} ({self.question}): {message}")
        self._log(passed, message)

    def _log(self, passed: bool, message: str) -> None:
        log_verdict(self.notebook, self.name, passed, message)


def predictions_of(module) -> list[Prediction]:
    """The predictions a module defines, in order of their names (p1, p2, ...)."""
    found = [value for value in vars(module).values() if isinstance(value, Prediction)]
    return sorted(found, key=lambda p: (len(p.name), p.name))

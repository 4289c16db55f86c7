"""Exercises with feedback: one module per notebook (``ex00``, ``ex01``, ...); the engine is in
:mod:`unet_course.exercises._core`.

In a notebook::

    from unet_course.exercises import ex00 as ex
    ex.q1.check(foreground_fraction)   # verdict: correct, or the likely mistake
    ex.q1.hint()                       # a nudge; call again for the next hint
    ex.q1.solution()                   # one correct answer
    ex.p1.predict(guess)               # predict before you run: the guess is recorded ...
    ex.p1.reveal(answer)               # ... and judged by the cell that shows the answer

``ex.q1.verdict(answer)`` returns the :class:`Verdict` without printing (tests, grading).
"""

from unet_course.exercises._core import (
    GRADE_LOG_ENV,
    Case,
    Exercise,
    Mistake,
    NotDone,
    Verdict,
    call,
    check_cases,
    exercise,
    exercises_of,
    same,
)
from unet_course.exercises._prediction import Prediction, predictions_of

__all__ = [
    "GRADE_LOG_ENV",
    "Case",
    "Exercise",
    "Mistake",
    "NotDone",
    "Prediction",
    "Verdict",
    "call",
    "check_cases",
    "exercise",
    "exercises_of",
    "predictions_of",
    "same",
]

"""Exercises of notebook 00 (welcome and setup): first steps with masks."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Case, Mistake, exercise

NOTEBOOK = "00_welcome_and_setup"


def foreground_fraction(mask):
    """Fraction of the pixels of ``mask`` that are not background (class 0)."""
    return float(np.mean(np.asarray(mask) != 0))


def classes_present(mask):
    """Sorted list of the class ids that occur in ``mask``."""
    return sorted(int(v) for v in np.unique(mask))


def _examples():
    square = np.zeros((8, 8), dtype=np.uint8)
    square[2:6, 2:6] = 2  # 16 of 64 pixels: 0.25
    mixed = np.zeros((6, 10), dtype=np.uint8)  # not square, so rows vs columns mistakes show
    mixed[0, :] = 1
    mixed[1:3, 0:2] = 3
    empty = np.zeros((4, 4), dtype=np.uint8)
    full = np.full((3, 5), 1, dtype=np.uint8)
    return {
        "an 8x8 mask with a 4x4 square of class 2": square,
        "a 6x10 mask with classes 0, 1 and 3": mixed,
        "a 4x4 mask of background only": empty,
        "a 3x5 mask with no background": full,
    }


def _fraction_cases():
    cases = []
    for label, mask in _examples().items():
        count, size = int(np.sum(mask != 0)), mask.size
        cases.append(
            Case(
                label,
                (mask,),
                mistakes=(
                    (
                        float(count),
                        "On {label} you returned {got}: that is the number of foreground pixels. "
                        f"Divide by the total number of pixels ({size}).",
                    ),
                    (
                        1 - foreground_fraction(mask),
                        "On {label} you returned {got}, the background fraction. "
                        "Foreground means every class except 0.",
                    ),
                    (
                        float(np.mean(mask == 1)),
                        "On {label} you returned {got}: you counted class 1 only. "
                        "Foreground is every class except 0 (here {expected}).",
                    ),
                    (
                        float(np.mean(mask)),
                        "On {label} you returned {got}, the mean of the class ids. Class ids are labels, "
                        "not amounts: count the pixels != 0 instead.",
                    ),
                ),
                otherwise=f"On {{label}} you returned {{got}}, but {count} of {size} pixels are foreground: {{expected}}.",
            )
        )
    return cases


def _as_float(got, case):
    try:
        return float(got)
    except (TypeError, ValueError):
        raise Mistake(
            f"On {case.label} your function returned {type(got).__name__} {got!r:.60}; "
            "return one number between 0 and 1."
        ) from None


q1 = exercise(
    "q1",
    "foreground fraction",
    notebook=NOTEBOOK,
    reference=foreground_fraction,
    hint=(
        "Compare the mask with 0 to get True where a pixel is foreground.",
        "The mean of booleans is the fraction of True: np.mean(mask != 0), as a float.",
    ),
    cases=_fraction_cases,
    coerce=_as_float,
    success="correct! You will meet this number again in notebook 02, where a tiny foreground fraction makes "
    "pixel accuracy misleading.",
)


def _classes_cases():
    cases = []
    for label, mask in _examples().items():
        expected = classes_present(mask)
        cases.append(
            Case(
                label,
                (mask,),
                mistakes=(
                    (
                        lambda got, expected=expected: sorted(set(got)) == expected,
                        "On {label} you returned {got}: each class must appear once, in increasing order.",
                    ),
                    (
                        [v for v in expected if v != 0],
                        "On {label} you left out the background: 0 is a class too ({expected}).",
                    ),
                ),
            )
        )
    return cases


def _as_int_list(got, case):
    if isinstance(got, (int, np.integer)):
        expected = classes_present(case.args[0])
        raise Mistake(
            f"On {case.label} you returned the single number {got}; return the list of class ids, "
            f"e.g. {expected}. (len() of it would be the count.)"
        )
    try:
        return [int(v) for v in np.asarray(got).ravel()]
    except (TypeError, ValueError):
        raise Mistake(
            f"On {case.label} your function returned {type(got).__name__}; return a list of whole numbers "
            f"such as {classes_present(case.args[0])}."
        ) from None


q2 = exercise(
    "q2",
    "classes present",
    notebook=NOTEBOOK,
    reference=classes_present,
    hint=(
        "np.unique(mask) returns the distinct values of an array, already sorted.",
        "Turn them into a list of ints: [int(v) for v in np.unique(mask)].",
    ),
    cases=_classes_cases,
    coerce=_as_int_list,
    success="correct!",
)

"""Exercises of notebook 00 (welcome and setup): first steps with masks."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, call, exercise

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
    return {"an 8x8 mask with a 4x4 square of class 2": square, "a 6x10 mask with classes 0, 1 and 3": mixed,
            "a 4x4 mask of background only": empty, "a 3x5 mask with no background": full}


@exercise("q1", "foreground fraction", notebook=NOTEBOOK, reference=foreground_fraction,
          hint="Compare the mask with 0 to get True where a pixel is foreground; the mean of booleans is the fraction of True.")
def q1(answer):
    for label, mask in _examples().items():
        expected = foreground_fraction(mask)
        got = call(answer, mask.copy(), describe=f"on {label}")
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Mistake(f"On {label} your function returned {type(got).__name__} {got!r:.60}; return one number between 0 and 1.") from None
        if np.isclose(got, expected):
            continue
        count = int(np.sum(mask != 0))
        if np.isclose(got, count):
            raise Mistake(f"On {label} you returned {got:g}: that is the number of foreground pixels. Divide by the total number of pixels ({mask.size}).")
        if np.isclose(got, 1 - expected):
            raise Mistake(f"On {label} you returned {got:g}, the background fraction. Foreground means every class except 0.")
        if np.isclose(got, np.mean(mask == 1)) and not np.isclose(expected, np.mean(mask == 1)):
            raise Mistake(f"On {label} you returned {got:g}: you counted class 1 only. Foreground is every class except 0 (here {expected:g}).")
        if np.isclose(got, float(np.mean(mask))) or np.isclose(got, float(mask.sum()) / mask.size):
            raise Mistake(f"On {label} you returned {got:g}, the mean of the class ids. Class ids are labels, not amounts: count the pixels != 0 instead.")
        raise Mistake(f"On {label} you returned {got:g}, but {count} of {mask.size} pixels are foreground: {expected:g}.")
    return "correct! You will meet this number again in notebook 02, where a tiny foreground fraction makes pixel accuracy misleading."


@exercise("q2", "classes present", notebook=NOTEBOOK, reference=classes_present,
          hint="np.unique(mask) returns the distinct values of an array, already sorted. Turn them into a list of ints.")
def q2(answer):
    for label, mask in _examples().items():
        expected = classes_present(mask)
        got = call(answer, mask.copy(), describe=f"on {label}")
        if isinstance(got, (int, np.integer)):
            raise Mistake(f"On {label} you returned the single number {got}; return the list of class ids, e.g. {expected}. (len() of it would be the count.)")
        try:
            values = [int(v) for v in np.asarray(got).ravel()]
        except (TypeError, ValueError):
            raise Mistake(f"On {label} your function returned {type(got).__name__}; return a list of whole numbers such as {expected}.") from None
        if values == expected:
            continue
        if sorted(set(values)) == expected:
            raise Mistake(f"On {label} you returned {values[:10]}{'...' if len(values) > 10 else ''}: each class must appear once, in increasing order.")
        if values == [v for v in expected if v != 0]:
            raise Mistake(f"On {label} you left out the background: 0 is a class too ({expected}).")
        raise Mistake(f"On {label} you returned {values[:10]}, expected {expected}.")
    return "correct!"

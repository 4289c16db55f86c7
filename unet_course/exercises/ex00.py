"""Exercises of notebook 00 (welcome and setup): first steps with masks."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Case, Mistake, exercise
from unet_course.exercises._core import distinct

NOTEBOOK = "00_welcome_and_setup"


def foreground_fraction(mask):
    """Fraction of the pixels of ``mask`` that are not background (class 0)."""
    return float(np.mean(np.asarray(mask) != 0))


def classes_present(mask):
    """Sorted list of the class ids that occur in ``mask``."""
    return sorted(int(v) for v in np.unique(mask))


def _examples():
    """Masks with and without background and with and without each class, none of them square."""
    square = np.zeros((8, 8), dtype=np.uint8)
    square[2:6, 2:6] = 2  # 16 of 64 pixels: 0.25; no class 1
    mixed = np.zeros((6, 10), dtype=np.uint8)  # not square, so rows vs columns mistakes show
    mixed[0, :] = 1
    mixed[1:3, 0:2] = 3  # classes 0, 1 and 3; class 2 absent
    empty = np.zeros((4, 4), dtype=np.uint8)
    full = np.full((3, 5), 1, dtype=np.uint8)  # no background
    return {  # the first mask tells the typical mistakes apart: each gives another number on it
        "a 6x10 mask with classes 0, 1 and 3": mixed,
        "an 8x8 mask with a 4x4 square of class 2": square,
        "a 4x4 mask of background only": empty,
        "a 3x5 mask with no background": full,
    }


# ---------------------------------------------------------------- q1: foreground fraction


def _fraction_cases():
    cases = []
    for label, mask in _examples().items():
        count, size, rows = int(np.sum(mask != 0)), mask.size, mask.shape[0]
        fraction = count / size
        mistakes = [
            (
                float(count // size),
                f"On {{label}} you returned {{got}}, but {count} of its {size} pixels are foreground ({fraction:g}). "
                f"If you divided with //: that is integer division, which drops the fraction ({count} // {size} = "
                f"{count // size}); divide with /.",
            ),
            (
                float(count),
                "On {label} you returned {got}: that is the number of foreground pixels. "
                f"Divide it by the total number of pixels ({size}).",
            ),
            (
                count / rows,
                f"On {{label}} you returned {{got}} = {count} / {rows}: you divided by the number of rows "
                f"(len(mask) is {rows}). Divide by the number of pixels, mask.size = {size}.",
            ),
            (
                100 * fraction,
                "On {label} you returned {got}: a percentage. Return a fraction between 0 and 1 ({expected}).",
            ),
            (
                1 - fraction,
                "On {label} you returned {got}, the background fraction. Foreground means every class except 0.",
            ),
        ]
        foreground_classes = {int(v) for v in np.unique(mask)} - {0}
        if 1 in foreground_classes and len(foreground_classes) > 1:  # only there "class 1 only" is a cause
            mistakes.append(
                (
                    float(np.mean(mask == 1)),
                    "On {label} you returned {got}: you counted class 1 only. "
                    "Foreground is every class except 0 (here {expected}).",
                )
            )
        if any(v > 1 for v in foreground_classes):  # only there the mean of the ids differs from the fraction
            mistakes.append(
                (
                    float(np.mean(mask)),
                    "On {label} you returned {got}, the mean of the class ids. Class ids are labels, "
                    "not amounts: count the pixels that are not 0 instead.",
                )
            )
        cases.append(
            Case(
                label,
                (mask,),
                mistakes=distinct(mistakes, fraction),
                otherwise=f"On {{label}} you returned {{got}}, but {count} of the {size} pixels are foreground: "
                f"{{expected}}.",
            )
        )
    return cases


def _as_float(got, case):
    if isinstance(got, (str, bytes, bool, np.bool_)):
        raise Mistake(
            f"On {case.label} your function returned {type(got).__name__} {got!r:.60}; "
            "return one number between 0 and 1."
        )
    try:
        return float(np.asarray(got).reshape(()))  # a number, also a 0-d array
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
        "Which pixels are foreground? Comparing the whole mask with 0 gives one True or False per pixel.",
        "A fraction is a count divided by a total: how many pixels are True, out of how many pixels in all? "
        "(True counts as 1 and False as 0 when you add or average them.)",
    ),
    cases=_fraction_cases,
    coerce=_as_float,
    success="correct! You will meet this number again in notebook 02, where a tiny foreground fraction makes "
    "pixel accuracy misleading.",
)


# ---------------------------------------------------------------- q2: classes present


def _classes_cases():
    cases = []
    for label, mask in _examples().items():
        expected = classes_present(mask)
        mistakes = [
            (
                lambda got, expected=expected: len(got) > len(set(got)) and sorted(set(got)) == expected,
                "On {label} you returned a list with repeated ids ({got}): list each class once.",
            ),
            (
                lambda got, expected=expected: sorted(got) == expected,
                "On {label} you returned {got}: the right classes, but not in increasing order. Sort them.",
            ),
            (
                [v for v in expected if v != 0],
                "On {label} you left out the background: 0 is a class too ({expected}).",
            ),
            (
                sorted({0, *expected}),
                "On {label} you returned {got}, but this mask has no background pixel: list only the ids that "
                "occur ({expected}).",
            ),
            (
                list(range(max(expected) + 1)),
                "On {label} you returned {got}: every id from 0 to the largest. Not every id in between occurs "
                "(this mask has {expected}): list the values the mask contains.",
            ),
        ]
        cases.append(Case(label, (mask,), mistakes=distinct(mistakes, expected)))
    return cases


def _as_int_list(got, case):
    expected = classes_present(case.args[0])
    if isinstance(got, (int, np.integer)):
        raise Mistake(
            f"On {case.label} you returned the single number {got}; return the list of class ids, "
            f"e.g. {expected}. (len() of it would be the count.)"
        )
    if isinstance(got, tuple) and len(got) == 2 and all(np.ndim(part) == 1 for part in got):
        raise Mistake(
            f"On {case.label} you returned two arrays (np.unique(..., return_counts=True) gives the values and their "
            "counts); return only the list of class ids."
        )
    try:
        values = np.asarray(got)
        if values.ndim != 1 or values.dtype.kind not in "biuf" or not np.all(values == np.round(values)):
            raise ValueError
        return [int(v) for v in values]
    except (TypeError, ValueError):
        raise Mistake(
            f"On {case.label} your function returned {type(got).__name__} {got!r:.60}; return a list of whole "
            f"numbers such as {expected}."
        ) from None


q2 = exercise(
    "q2",
    "classes present",
    notebook=NOTEBOOK,
    reference=classes_present,
    hint=(
        "You need each value that occurs in the mask once, in increasing order, background included: a set of "
        "values, not a count per pixel.",
        "NumPy has a function for the unique elements of an array, already sorted. It returns a NumPy array of small "
        "integers (here uint8); the exercise asks for a list of ints.",
    ),
    cases=_classes_cases,
    coerce=_as_int_list,
    success="correct!",
)


# ---------------------------------------------------------------- q3: foreground fraction of each image


def foreground_per_image(masks):
    """Foreground fraction of each mask of a batch ``(N, H, W)``: an array of ``N`` numbers."""
    return np.mean(np.asarray(masks) != 0, axis=(1, 2))


def _batch_examples():
    """Batches whose N, H and W all differ, so a reduction over the wrong axis gives another shape."""
    three = np.zeros((3, 4, 6), dtype=np.uint8)
    three[0, 1:3, 1:4] = 2  # 6 of 24 pixels: 0.25
    three[1] = 1  # all foreground: 1.0
    three[1, 0, :] = 0  # ... but the first row: 18 of 24 = 0.75
    # image 2: background only, 0.0
    five = np.zeros((5, 2, 3), dtype=np.uint8)
    for i in range(5):
        five[i].reshape(-1)[: i + 1] = 3 if i % 2 else 1  # 1 to 5 foreground pixels of 6
    return {
        "a batch of 3 masks of 4x6 pixels (one with a small object, one almost full, one background only)": three,
        "a batch of 5 masks of 2x3 pixels": five,
        "a batch of 1 mask of 4x6 pixels": three[:1],
    }


def _per_image_cases():
    cases = []
    for label, masks in _batch_examples().items():
        n, h, w = masks.shape
        foreground = masks != 0
        expected = foreground_per_image(masks)
        mistakes = [
            (
                foreground.sum(axis=(1, 2)).astype(float),
                f"On {{label}} you returned {{got}}: the number of foreground pixels of each image. Divide each by "
                f"the number of pixels of one image ({h} x {w} = {h * w}).",
            ),
            (
                foreground.sum(axis=(1, 2)) / masks.size,
                f"On {{label}} you returned {{got}}: you divided each image's count by the pixels of the whole batch "
                f"({masks.size}). A fraction of one image is out of that image's {h * w} pixels.",
            ),
            (
                1 - expected,
                "On {label} you returned {got}, the background fraction of each image. Foreground is every class "
                "except 0.",
            ),
            (
                100 * expected,
                "On {label} you returned {got}: percentages. Return fractions between 0 and 1 ({expected}).",
            ),
        ]
        if np.any(masks > 1):
            mistakes.append(
                (
                    np.mean(masks, axis=(1, 2)),
                    "On {label} you returned {got}, the mean of the class ids of each image. Class ids are labels, "
                    "not amounts: count the pixels that are not 0.",
                )
            )
        cases.append(
            Case(
                label,
                (masks,),
                mistakes=distinct(mistakes, expected),
                otherwise=f"On {{label}} you returned {{got}}; the foreground fractions of the {n} images are "
                "{expected}.",
            )
        )
    return cases


def _as_fractions(got, case):
    """One number per image: a list, a tuple or an array of shape (N,). Wrong shapes name the axis mistake."""
    masks = case.args[0]
    n, h, w = masks.shape
    try:
        values = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Mistake(
            f"On {case.label} your function returned {type(got).__name__} {got!r:.60}; return {n} numbers, "
            "one per image (a list or a NumPy array)."
        ) from None
    if values.shape == (n,):
        return values
    if values.shape == ():
        raise Mistake(
            f"On {case.label} you returned one number ({float(values):g}): the fraction of the whole batch, all "
            f"images pooled. The task asks for one fraction per image: {n} numbers."
        )
    if values.shape == (h, w):
        raise Mistake(
            f"On {case.label} you returned shape {values.shape}, one number per pixel position: you reduced the "
            f"image axis (axis 0) and kept height and width. Keep axis 0 and reduce the two axes inside an image: "
            f"shape ({n},)."
        )
    if values.shape in ((n, w), (n, h)):
        kept = "columns" if values.shape == (n, w) else "rows"
        raise Mistake(
            f"On {case.label} you returned shape {values.shape}: one number per image and per {kept[:-1]}, so you "
            f"reduced only one of the two axes inside an image (the {kept} are still there). Reduce both."
        )
    if values.shape == masks.shape:
        raise Mistake(
            f"On {case.label} you returned shape {values.shape}, one value per pixel (True/False or 0/1?). "
            "Average them over each image."
        )
    raise Mistake(f"On {case.label} you returned shape {values.shape}; expected ({n},), one fraction per image.")


q3 = exercise(
    "q3",
    "foreground fraction of each image",
    notebook=NOTEBOOK,
    reference=foreground_per_image,
    hint=(
        "A batch (N, H, W) holds N masks. You want one number per mask: which axis runs over the masks, and which "
        "axes run inside one mask?",
        "NumPy reductions such as np.mean take an axis argument, which can also be a tuple of axes: reduce every "
        "axis inside a mask and keep the other. (A loop over the masks that calls your foreground_fraction works "
        "too.)",
    ),
    cases=_per_image_cases,
    coerce=_as_fractions,
    success="correct! One number per image is what notebook 02 calls a per-image score; one number for the whole "
    "batch is a pooled one. They answer different questions.",
)

"""Exercises of notebook 02 (metrics): IoU, Dice and mean IoU from scratch, with the
course's empty-mask policy (``unet_course.metrics.EMPTY_SCORE``)."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, call, exercise
from unet_course.metrics import EMPTY_SCORE

NOTEBOOK = "02_metrics"

CONVENTION = (
    f"IoU of two empty masks should follow the course's convention: nothing to find and nothing found "
    f"scores {EMPTY_SCORE} (see 02_metrics, 'Empty masks')."
)
DICE_CONVENTION = CONVENTION.replace("IoU of", "Dice of")


def iou(y_true, y_pred):
    """IoU of two binary masks; 1.0 when both are empty."""
    a, b = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    union = np.sum(a | b)
    return 1.0 if union == 0 else float(np.sum(a & b) / union)


def dice(y_true, y_pred):
    """Dice of two binary masks; 1.0 when both are empty."""
    a, b = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    total = np.sum(a) + np.sum(b)
    return 1.0 if total == 0 else float(2 * np.sum(a & b) / total)


def mean_iou(y_true, y_pred, num_classes):
    """Mean over classes 0..num_classes-1 of the IoU of each class; a class absent from both scores 1.0."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean([iou(y_true == k, y_pred == k) for k in range(num_classes)]))


# --------------------------------------------------------------------------------------
# examples
# --------------------------------------------------------------------------------------


def _binary_examples():
    """(label, y_true, y_pred) as 0/1 uint8 arrays; not square, so rows vs columns mistakes show."""
    a = np.zeros((6, 8), dtype=np.uint8)
    b = np.zeros((6, 8), dtype=np.uint8)
    a[1:4, 1:5] = 1  # 12 pixels
    b[2:5, 3:7] = 1  # 12 pixels, 4 in common: IoU 4/20, Dice 8/24
    c = np.zeros((5, 7), dtype=np.uint8)
    c[0:2, 0:7] = 1  # 14 pixels
    d = np.zeros((5, 7), dtype=np.uint8)
    d[1, 2:4] = 1  # 2 pixels, both inside c: IoU 2/14
    rng = np.random.default_rng(2)
    e = (rng.random((2, 9, 9)) < 0.4).astype(np.uint8)  # a batch of two: pooled over all pixels
    f = (rng.random((2, 9, 9)) < 0.3).astype(np.uint8)
    empty = np.zeros((4, 5), dtype=np.uint8)
    one = empty.copy()
    one[2, 3] = 1
    return [
        ("two overlapping 3x4 rectangles on a 6x8 grid", a, b),
        ("a 2-pixel prediction inside a 14-pixel object", c, d),
        ("a batch of two random 9x9 masks", e, f),
        ("two identical masks", a, a.copy()),
        ("an empty truth and a 1-pixel prediction", empty, one),
        ("a 1-pixel object and an empty prediction", one, empty.copy()),
    ]


def _as_float(got, label):
    try:
        value = float(np.asarray(got).reshape(()))  # one number, also from a 0-d array or tensor
    except (TypeError, ValueError):
        raise Mistake(
            f"On {label} your function returned {type(got).__name__} {got!r:.60}; return one number between 0 and 1."
        ) from None
    return value


def _run_empty(answer, name, convention):
    empty = np.zeros((4, 5), dtype=np.uint8)
    label = "two empty masks (no foreground pixel in either)"
    try:
        with np.errstate(all="ignore"):
            got = call(answer, empty, empty.copy(), describe=f"on {label}")
    except Mistake as mistake:
        raise Mistake(f"{mistake} {convention}") from None
    value = _as_float(got, label)
    if not np.isclose(value, EMPTY_SCORE):
        what = "NaN (0 divided by 0)" if np.isnan(value) else f"{value:g}"
        raise Mistake(
            f"On {label} you returned {what}. {convention} Test whether the denominator is 0 before dividing."
        )


def _bool_int_consistency(answer, name, a, b):
    """The same masks as bool and as 0/1 integers must give the same score."""
    with np.errstate(all="ignore"):
        as_int = _as_float(
            call(answer, a.astype(np.int64), b.astype(np.int64), describe="on 0/1 integer masks"), "0/1 integer masks"
        )
        as_bool = _as_float(
            call(answer, a.astype(bool), b.astype(bool), describe="on boolean (True/False) masks"), "boolean masks"
        )
    if not np.isclose(as_int, as_bool):
        raise Mistake(
            f"The same masks give {as_bool:.4f} as booleans but {as_int:.4f} as 0/1 integers. With booleans `+` is OR and "
            f"`*` is AND, with integers `+` adds (1 + 1 = 2). Convert both masks with .astype(bool) first, then use & and |."
        )


def _check_binary_metric(answer, name, reference, diagnose, convention):
    for label, y_true, y_pred in _binary_examples():
        if not y_true.any() and not y_pred.any():
            continue
        expected = reference(y_true, y_pred)
        with np.errstate(all="ignore"):
            got = _as_float(call(answer, y_true.copy(), y_pred.copy(), describe=f"on {label}"), label)
        if np.isclose(got, expected):
            continue
        if np.isnan(got):
            raise Mistake(f"On {label} you returned NaN, expected {expected:.4f}. Only two empty masks give 0/0.")
        diagnose(label, y_true.astype(bool), y_pred.astype(bool), got, expected)
        raise Mistake(f"On {label} you returned {got:.4f}, expected {expected:.4f}.")
    _run_empty(answer, name, convention)
    a, b = _binary_examples()[0][1:]
    _bool_int_consistency(answer, name, a, b)


def _sizes(a, b):
    inter, union = np.sum(a & b), np.sum(a | b)
    return inter, union, np.sum(a) + np.sum(b), a.size


def _common_mistakes(label, got, expected, a, b):
    inter, union, total, pixels = _sizes(a, b)
    if np.isclose(got, 100 * expected):
        raise Mistake(
            f"On {label} you returned {got:g}: a percentage. Return a fraction between 0 and 1 ({expected:.4f})."
        )
    if np.isclose(got, np.mean(a == b)) and not np.isclose(expected, np.mean(a == b)):
        raise Mistake(
            f"On {label} you returned {got:.4f}, the pixel accuracy: it counts matching background pixels too. "
            "Count only the foreground (True) pixels."
        )
    if np.isclose(got, inter):
        raise Mistake(f"On {label} you returned {got:g}: the number of overlapping pixels. Divide it.")


@exercise(
    "q1",
    "IoU from scratch",
    notebook=NOTEBOOK,
    reference=iou,
    hint="Turn both masks into booleans. The intersection is np.sum(a & b), the union np.sum(a | b). "
    "When the union is 0 both masks are empty: return 1.0, the course's convention.",
)
def q1(answer):
    def diagnose(label, a, b, got, expected):
        inter, union, total, pixels = _sizes(a, b)
        _common_mistakes(label, got, expected, a, b)
        if np.isclose(got, inter / total):
            raise Mistake(
                f"On {label} you returned {got:.4f} = intersection / (|A| + |B|): you divided by the sum of the two "
                f"masks, which counts the overlap twice. Divide by the union |A ∪ B| = |A| + |B| - |A ∩ B| ({union})."
            )
        if np.isclose(got, 2 * inter / total):
            raise Mistake(
                f"On {label} you returned {got:.4f}: that is the Dice coefficient, 2|A ∩ B| / (|A| + |B|). "
                "IoU divides the intersection by the union."
            )
        if union and np.isclose(got, union / max(inter, 1e-12)):
            raise Mistake(
                f"On {label} you returned {got:.4f}: union / intersection, upside down. IoU = intersection / union."
            )
        if np.isclose(got, inter / pixels):
            raise Mistake(
                f"On {label} you returned {got:.4f} = intersection / number of pixels. Divide by the union instead."
            )
        if np.sum(a) and np.isclose(got, inter / np.sum(a)):
            raise Mistake(
                f"On {label} you returned {got:.4f} = intersection / |A| (the recall): divide by the union of both masks."
            )

    _check_binary_metric(answer, "IoU", iou, diagnose, CONVENTION)
    return "correct! Your IoU handles overlaps, batches, booleans and empty masks."


@exercise(
    "q2",
    "Dice from scratch",
    notebook=NOTEBOOK,
    reference=dice,
    hint="Dice = 2 |A ∩ B| / (|A| + |B|): twice the overlap, divided by the foreground pixels of both masks. "
    "When |A| + |B| is 0 both masks are empty: return 1.0, the course's convention.",
)
def q2(answer):
    def diagnose(label, a, b, got, expected):
        inter, union, total, pixels = _sizes(a, b)
        _common_mistakes(label, got, expected, a, b)
        if np.isclose(got, expected / 2):
            raise Mistake(
                f"On {label} you returned {got:.4f}, half of {expected:.4f}: you forgot the factor 2 in "
                "Dice = 2 |A ∩ B| / (|A| + |B|)."
            )
        if np.isclose(got, inter / union):
            raise Mistake(f"On {label} you returned {got:.4f}: that is the IoU. Dice = 2 |A ∩ B| / (|A| + |B|).")
        if np.isclose(got, 2 * inter / union):
            raise Mistake(
                f"On {label} you returned {got:.4f} = 2 |A ∩ B| / |A ∪ B|: you divided by the union. "
                f"Dice divides by the sum of the two masks, |A| + |B| ({total})."
            )
        if np.isclose(got, inter / pixels) or np.isclose(got, 2 * inter / (2 * pixels)):
            raise Mistake(
                f"On {label} you returned {got:.4f}: you divided by the number of pixels in both images, as the "
                f"article's sentence says. Divide by the number of foreground pixels in both masks, |A| + |B| ({total})."
            )

    _check_binary_metric(answer, "Dice", dice, diagnose, DICE_CONVENTION)
    return "correct! Check it against the identity Dice = 2 IoU / (1 + IoU) with your IoU."


def _multiclass_examples():
    y_true = np.array([[0, 0, 1, 1, 2], [0, 2, 2, 1, 1], [0, 0, 0, 2, 2]], dtype=np.uint8)
    y_pred = np.array([[0, 1, 1, 1, 2], [0, 2, 0, 1, 2], [0, 0, 0, 2, 2]], dtype=np.uint8)
    return [
        ("3x5 masks with classes 0, 1, 2 and num_classes=3", y_true, y_pred, 3),
        ("the same masks with num_classes=4 (class 3 absent from both)", y_true, y_pred, 4),
        (
            "masks where class 1 is only predicted, never true (num_classes=3)",
            np.where(y_true == 1, 0, y_true),
            y_pred,
            3,
        ),
    ]


@exercise(
    "q3",
    "mean IoU over classes",
    notebook=NOTEBOOK,
    reference=mean_iou,
    hint="Loop over every class k in range(num_classes), compute the IoU of (y_true == k) and (y_pred == k) "
    "with the empty-mask rule (1.0 when k is in neither mask), then average the num_classes numbers.",
)
def q3(answer):
    for label, y_true, y_pred, num_classes in _multiclass_examples():
        expected = mean_iou(y_true, y_pred, num_classes)
        with np.errstate(all="ignore"):
            got = _as_float(call(answer, y_true.copy(), y_pred.copy(), num_classes, describe=f"on {label}"), label)
        if np.isclose(got, expected):
            continue
        scores = [iou(y_true == k, y_pred == k) for k in range(num_classes)]
        present = [s for k, s in enumerate(scores) if np.any(y_true == k) or np.any(y_pred == k)]
        if np.isnan(got):
            raise Mistake(
                f"On {label} you returned NaN: a class absent from both masks gives 0/0. "
                f"Such a class scores {EMPTY_SCORE} in this course (see 02_metrics)."
            )
        if len(present) < num_classes and np.isclose(got, np.mean(present)):
            raise Mistake(
                f"On {label} you returned {got:.4f}: you averaged only over the classes present, as "
                f"keras.metrics.MeanIoU does. The course averages over all {num_classes} classes and scores a class "
                f"absent from both masks {EMPTY_SCORE} ({expected:.4f})."
            )
        if np.isclose(got, np.mean(scores[1:])):
            raise Mistake(
                f"On {label} you returned {got:.4f}, the mean over the foreground classes only. "
                "Include the background, class 0."
            )
        if np.isclose(got, float(np.mean(y_true == y_pred))):
            raise Mistake(
                f"On {label} you returned {got:.4f}, the pixel accuracy. Compute one IoU per class, then average."
            )
        if np.isclose(got, iou(y_true > 0, y_pred > 0)):
            raise Mistake(
                f"On {label} you returned {got:.4f}, the IoU of 'any foreground': compare each class k on its own."
            )
        raise Mistake(
            f"On {label} you returned {got:.4f}, expected {expected:.4f} (per-class IoU: "
            f"{', '.join(f'{s:.3f}' for s in scores)})."
        )
    return "correct! This is unet_course.metrics.mean_iou."

"""Exercises of notebook 02 (metrics): IoU, Dice and mean IoU from scratch, with the
course's empty-mask policy (``unet_course.metrics.EMPTY_SCORE``)."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Case, Mistake, exercise
from unet_course.exercises._core import distinct
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
    """(label, y_true, y_pred): 0/1 uint8 unless the label says otherwise; not square, so rows vs
    columns mistakes show; with a batch where pooling and per-image averaging differ."""
    a = np.zeros((6, 8), dtype=np.uint8)
    b = np.zeros((6, 8), dtype=np.uint8)
    a[1:4, 1:5] = 1  # 12 pixels
    b[2:5, 3:8] = 1  # 15 pixels (|A| != |B|, so recall, precision and Dice differ), 4 in common: IoU 4/23
    c = np.zeros((5, 7), dtype=np.uint8)
    c[0:2, 0:7] = 1  # 14 pixels
    d = np.zeros((5, 7), dtype=np.uint8)
    d[1, 2:4] = 1  # 2 pixels, both inside c: IoU 2/14
    big_and_tiny_true = np.zeros((2, 6, 8), dtype=np.uint8)  # image 0: a large object found well
    big_and_tiny_pred = np.zeros((2, 6, 8), dtype=np.uint8)  # image 1: a 1-pixel object missed
    big_and_tiny_true[0, 0:5, 0:6] = 1
    big_and_tiny_pred[0, 1:5, 0:6] = 1
    big_and_tiny_true[1, 2, 2] = 1
    big_and_tiny_pred[1, 2, 3] = 1
    empty = np.zeros((4, 5), dtype=np.uint8)
    one = empty.copy()
    one[2, 3] = 1
    return [
        ("a 3x4 and a 3x5 rectangle overlapping on a 6x8 grid", a, b),
        ("a 2-pixel prediction inside a 14-pixel object", c, d),
        (
            "a batch of two 6x8 masks, pooled (image 0: a 30-pixel object, 24 pixels found; "
            "image 1: a 1-pixel object missed)",
            big_and_tiny_true,
            big_and_tiny_pred,
        ),
        ("two identical masks", a, a.copy()),
        ("the rectangles as boolean (True/False) masks", a.astype(bool), b.astype(bool)),
        ("the rectangles as 0/1 int64 masks", a.astype(np.int64), b.astype(np.int64)),
        ("an empty truth and a 1-pixel prediction", empty, one),
        ("a 1-pixel object and an empty prediction", one, empty.copy()),
        ("two empty masks (no foreground pixel in either)", empty, empty.copy()),
    ]


def _as_float(got, case):
    if isinstance(got, (str, bytes, bool, np.bool_)):
        raise Mistake(
            f"On {case.label} your function returned {type(got).__name__} {got!r:.60}; "
            "return one number between 0 and 1."
        )
    values = None
    try:
        values = np.asarray(got, dtype=float)
        return float(values.reshape(()))  # one number, also from a 0-d array or tensor
    except (TypeError, ValueError):
        pass
    first = case.args[0]
    if values is not None and np.ndim(first) == 3 and values.shape == (len(first),):
        raise Mistake(
            f"On {case.label} you returned {len(first)} numbers, one per image. The course pools a batch: count the "
            "pixels of all images together and return one score."
        )
    if values is not None and values.size > 1:
        raise Mistake(
            f"On {case.label} you returned an array of shape {values.shape}; return one number, summed over all pixels."
        )
    raise Mistake(
        f"On {case.label} your function returned {type(got).__name__} {got!r:.60}; return one number between 0 and 1."
    )


def _sizes(y_true, y_pred):
    a, b = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    return int(np.sum(a & b)), int(np.sum(a | b)), int(np.sum(a)), int(np.sum(b)), a.size


def _per_image(metric, y_true, y_pred):
    return float(np.mean([metric(t, p) for t, p in zip(y_true, y_pred)]))


def _nan(got) -> bool:
    return bool(np.isnan(got))


def _binary_cases(metric, name, convention, specific):
    """The cases of q1 (IoU) and q2 (Dice): ``specific(a, b, label) -> [(wrong, message), ...]``."""
    cases = []
    for label, y_true, y_pred in _binary_examples():
        expected = metric(y_true, y_pred)
        inter, union, size_a, size_b, pixels = _sizes(y_true, y_pred)
        if union == 0:  # two empty masks: the convention
            cases.append(
                Case(
                    label,
                    (y_true, y_pred),
                    mistakes=(
                        (
                            _nan,
                            f"On {{label}} you returned NaN (0 divided by 0). {convention} Test whether the "
                            "denominator is 0 before dividing.",
                        ),
                        (0.0, f"On {{label}} you returned 0. {convention}"),
                    ),
                    otherwise=f"On {{label}} you returned {{got}}. {convention}",
                    on_error=f"{convention} Test whether the denominator is 0 before dividing.",
                )
            )
            continue
        wraps = (
            " If you subtract masks: these are uint8, where 0 - 1 wraps around to 255; convert them first."
            if np.asarray(y_true).dtype == np.uint8
            else ""
        )
        mistakes = [
            (_nan, f"On {{label}} you returned NaN, expected {expected:.4f}. Only two empty masks give 0/0."),
            (
                100 * expected,
                "On {label} you returned {got}: a percentage. Return a fraction between 0 and 1 ({expected}).",
            ),
        ]
        if inter == 0 and (size_a == 0 or size_b == 0):
            mistakes.append(
                (
                    EMPTY_SCORE,
                    f"On {{label}} you returned {{got}}, the score of two empty masks. Here only one mask is empty: "
                    f"nothing is in common, so {name} is 0. Give {EMPTY_SCORE} only when both masks are empty.",
                )
            )
        accuracy = float(np.mean(np.asarray(y_true).astype(bool) == np.asarray(y_pred).astype(bool)))
        mistakes.append(
            (
                accuracy,
                "On {label} you returned {got}, the pixel accuracy: it counts the matching background pixels too. "
                "Count only the foreground (True) pixels.",
            )
        )
        if inter > 1:
            mistakes.append(
                (
                    float(inter),
                    "On {label} you returned {got}: the number of overlapping pixels. "
                    f"Divide it ({name} is a ratio).",
                )
            )
        if np.ndim(y_true) == 3:
            mistakes.append(
                (
                    _per_image(metric, y_true, y_pred),
                    f"On {{label}} you returned {{got}}, the mean of the two images' {name} scores. The course pools a "
                    f"batch: count the pixels of all images together, then divide once ({{expected}}). Averaging per "
                    "image lets the missed 1-pixel object weigh as much as the large one.",
                )
            )
        mistakes += specific(y_true, y_pred, inter, union, size_a, size_b, pixels)
        mistakes.append(
            (
                lambda got: got < 0 or got > 1,
                f"On {{label}} you returned {{got}}, outside 0..1: {name} is a ratio of pixel counts, between 0 "
                f"and 1 (here {{expected}}).{wraps}",
            )
        )
        formula = (
            f"|A ∩ B| / |A ∪ B| = {inter} / {union}"
            if metric is iou
            else f"2 |A ∩ B| / (|A| + |B|) = {2 * inter} / {size_a + size_b}"
        )
        cases.append(
            Case(
                label,
                (y_true, y_pred),
                mistakes=distinct(mistakes, expected),
                otherwise=f"On {{label}} you returned {{got}}. Here |A| = {size_a}, |B| = {size_b}, |A ∩ B| = {inter} "
                f"and |A ∪ B| = {union} pixels, so {name} = {formula} = {{expected}}.",
                on_error=(
                    "These masks are booleans: NumPy refuses `-` on booleans and reads `+` as OR; convert them with "
                    ".astype(bool) and use & and |, or .astype(int) before doing arithmetic."
                    if np.asarray(y_true).dtype == bool
                    else None
                ),
            )
        )
    return cases


def _iou_specific(y_true, y_pred, inter, union, size_a, size_b, pixels):
    total = size_a + size_b
    mistakes = []
    if np.asarray(y_true).dtype == bool:
        mistakes.append(
            (
                inter / (union - inter) if union > inter else np.inf,
                "On {label} you returned {got} = |A ∩ B| / (|A ∪ B| - |A ∩ B|). If your union is sum(a + b) - "
                "sum(a * b): on booleans `+` is OR, so sum(a + b) already is the union. Convert with .astype(bool) "
                "and use & and |, or .astype(int) first.",
            )
        )
    mistakes += [
        (
            inter / total,
            f"On {{label}} you returned {{got}} = |A ∩ B| / (|A| + |B|): you divided by the sum of the two masks, "
            f"which counts the overlap twice. Divide by the union |A ∪ B| = |A| + |B| - |A ∩ B| ({union}).",
        ),
        (
            2 * inter / total,
            "On {label} you returned {got}: that is the Dice coefficient, 2 |A ∩ B| / (|A| + |B|). "
            "IoU divides the intersection by the union.",
        ),
        (
            inter / pixels,
            f"On {{label}} you returned {{got}} = |A ∩ B| / number of pixels ({pixels}). "
            f"Divide by the union instead ({union}).",
        ),
    ]
    if inter:
        mistakes.append(
            (
                union / inter,
                "On {label} you returned {got}: union / intersection, upside down. IoU = intersection / union.",
            )
        )
    if size_a:
        mistakes.append(
            (
                inter / size_a,
                "On {label} you returned {got} = |A ∩ B| / |A|, the recall: you divided by the true mask only. "
                "Divide by the union of both masks.",
            )
        )
    if size_b:
        mistakes.append(
            (
                inter / size_b,
                "On {label} you returned {got} = |A ∩ B| / |B|, the precision: you divided by the predicted mask "
                "only. Divide by the union of both masks.",
            )
        )
    return mistakes


def _dice_specific(y_true, y_pred, inter, union, size_a, size_b, pixels):
    total = size_a + size_b
    mistakes = []
    if np.asarray(y_true).dtype == bool:
        mistakes.append(
            (
                2 * inter / union,
                "On {label} you returned {got} = 2 |A ∩ B| / |A ∪ B|. If you computed |A| + |B| as sum(a + b): on "
                "booleans `+` is OR, so that is the union. Count each mask on its own: np.sum(a) + np.sum(b).",
            )
        )
    mistakes += [
        (
            inter / total,
            "On {label} you returned {got}, half of {expected}: you forgot the factor 2 in "
            "Dice = 2 |A ∩ B| / (|A| + |B|).",
        ),
        (inter / union, "On {label} you returned {got}: that is the IoU. Dice = 2 |A ∩ B| / (|A| + |B|)."),
        (
            2 * inter / union,
            f"On {{label}} you returned {{got}} = 2 |A ∩ B| / |A ∪ B|: you divided by the union. "
            f"Dice divides by the sum of the two masks, |A| + |B| ({total}).",
        ),
        (
            inter / pixels,
            f"On {{label}} you returned {{got}}: you divided by the number of pixels in both images, as the "
            f"article's sentence says. Divide by the number of foreground pixels in both masks, |A| + |B| ({total}).",
        ),
    ]
    return mistakes


q1 = exercise(
    "q1",
    "IoU from scratch",
    notebook=NOTEBOOK,
    reference=iou,
    hint=(
        "IoU = |A ∩ B| / |A ∪ B|: the number of pixels that are foreground in both masks, divided by the number "
        "that are foreground in at least one.",
        "Make both masks boolean first; then 'in both' and 'in at least one' are the logical operators & and |, "
        "and np.sum counts the True pixels of any shape, a batch included.",
        "Two empty masks make the union 0: decide that case before you divide, with the course's convention.",
    ),
    cases=lambda: _binary_cases(iou, "IoU", CONVENTION, _iou_specific),
    coerce=_as_float,
    success="correct! Your IoU handles overlaps, batches, booleans and empty masks.",
)


q2 = exercise(
    "q2",
    "Dice from scratch",
    notebook=NOTEBOOK,
    reference=dice,
    hint=(
        "Dice = 2 |A ∩ B| / (|A| + |B|): twice the overlap, divided by the foreground pixels of the two masks "
        "counted separately.",
        "As for IoU: boolean masks, & for the overlap, and one np.sum per mask for |A| and |B|. "
        "Two empty masks make the denominator 0: use the course's convention there.",
    ),
    cases=lambda: _binary_cases(dice, "Dice", DICE_CONVENTION, _dice_specific),
    coerce=_as_float,
    success="correct! Check it against the identity Dice = 2 IoU / (1 + IoU) with your IoU.",
)


# --------------------------------------------------------------------------------------
# q3: mean IoU
# --------------------------------------------------------------------------------------


def _multiclass_examples():
    y_true = np.array([[0, 0, 1, 1, 2], [0, 2, 2, 1, 1], [0, 0, 0, 2, 2]], dtype=np.uint8)
    y_pred = np.array([[0, 1, 1, 1, 2], [0, 2, 0, 1, 2], [0, 0, 0, 1, 2]], dtype=np.uint8)  # 2 pixels 1 <-> 2
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


def _mean_iou_cases():
    cases = []
    for label, y_true, y_pred, num_classes in _multiclass_examples():
        expected = mean_iou(y_true, y_pred, num_classes)
        scores = [iou(y_true == k, y_pred == k) for k in range(num_classes)]
        present = [k for k in range(num_classes) if np.any(y_true == k) or np.any(y_pred == k)]
        absent = [k for k in range(num_classes) if k not in present]
        per_class = ", ".join(f"class {k}: {s:.3f}" for k, s in enumerate(scores))
        mistakes = [
            (
                _nan,
                f"On {{label}} you returned NaN: class {absent[0] if absent else '?'} is absent from both masks, "
                f"and 0/0 is NaN. Such a class scores {EMPTY_SCORE} in this course (see 02_metrics).",
            )
        ]
        if absent:
            mistakes += [
                (
                    float(np.mean([scores[k] for k in present])),
                    f"On {{label}} you returned {{got}}: you averaged only over the classes present, as "
                    f"keras.metrics.MeanIoU does. The course averages over all {num_classes} classes and scores a "
                    f"class absent from both masks {EMPTY_SCORE} ({{expected}}).",
                ),
                (
                    float(np.mean([scores[k] if k in present else 0.0 for k in range(num_classes)])),
                    f"On {{label}} you returned {{got}}: you gave class {absent[0]}, absent from both masks, the "
                    f"score 0. The course's rule scores it {EMPTY_SCORE}: nothing to find and nothing found.",
                ),
            ]
        mistakes += [
            (
                float(np.mean(scores[1:])),
                "On {label} you returned {got}, the mean over the foreground classes only. "
                "Include the background, class 0.",
            ),
            (
                float(np.mean(y_true == y_pred)),
                "On {label} you returned {got}, the pixel accuracy. Compute one IoU per class, then average them.",
            ),
            (
                iou(y_true > 0, y_pred > 0),
                "On {label} you returned {got}, the IoU of 'any foreground' against background: compare each class k "
                "on its own (y_true == k with y_pred == k).",
            ),
        ]
        cases.append(
            Case(
                label,
                (y_true, y_pred, num_classes),
                mistakes=distinct(mistakes, expected),
                otherwise=f"On {{label}} you returned {{got}}, expected {{expected}}: the IoU of each class is "
                f"{per_class}, and their mean is {{expected}}.",
            )
        )
    return cases


def _as_mean(got, case):
    num_classes = case.args[2]
    try:
        values = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        values = None
    if values is not None and values.ndim == 1 and values.size == num_classes and num_classes > 1:
        raise Mistake(
            f"On {case.label} you returned {values.size} numbers, one IoU per class. Return their mean, one number."
        )
    return _as_float(got, case)


q3 = exercise(
    "q3",
    "mean IoU over classes",
    notebook=NOTEBOOK,
    reference=mean_iou,
    hint=(
        "Reduce the problem to one you solved: for one class k, the masks y_true == k and y_pred == k are binary "
        "masks, and you know their IoU.",
        "Do that for every k in range(num_classes), not only the classes you see, then average. A class in neither "
        "mask has an empty union: it follows the same rule as two empty masks.",
    ),
    cases=_mean_iou_cases,
    coerce=_as_mean,
    success="correct! This is unet_course.metrics.mean_iou.",
)

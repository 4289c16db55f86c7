"""Exercises of notebook 02 (metrics): IoU, Dice, the foreground Dice of one-hot batches and mean IoU from
scratch, with the course's empty-mask policy (``unet_course.metrics.EMPTY_SCORE``); the predictions p1 and p2
(what "background everywhere" scores)."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Case, Mistake, Prediction, exercise
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
        "Make both masks boolean first; then 'in both' and 'in at least one' are logical operations, and a sum "
        "counts the True pixels of any shape, a batch included.",
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
        "As for IoU: boolean masks, a logical AND for the overlap, and each mask counted on its own for |A| and "
        "|B|. Two empty masks make the denominator 0: use the course's convention there.",
    ),
    cases=lambda: _binary_cases(dice, "Dice", DICE_CONVENTION, _dice_specific),
    coerce=_as_float,
    success="correct! Check it against the identity Dice = 2 IoU / (1 + IoU) with your IoU.",
)


# --------------------------------------------------------------------------------------
# q4: mean IoU
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


q4 = exercise(
    "q4",
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


# --------------------------------------------------------------------------------------
# q3: the foreground Dice of a batch of one-hot masks, per image
# --------------------------------------------------------------------------------------


def foreground_dice(y_true, y_pred):
    """Mean Dice over the images and the foreground classes (channels 1..C-1) of one-hot batches
    ``(N, H, W, C)``: one Dice per image and class, summed over height and width only; a class absent from both
    masks of an image scores ``EMPTY_SCORE``."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    intersection = np.sum(y_true * y_pred, axis=(1, 2))  # (N, C)
    total = np.sum(y_true, axis=(1, 2)) + np.sum(y_pred, axis=(1, 2))
    scores = np.where(total > 0, 2 * intersection / np.maximum(total, 1e-12), EMPTY_SCORE)
    return float(np.mean(scores[:, 1:]))


def _dice_table(y_true, y_pred, axes, smooth=0.0, eps=0.0, empty=EMPTY_SCORE):
    """Dice per image (or pooled) and per class, with the given axes and the variants learners write."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    intersection = np.sum(y_true * y_pred, axis=axes)
    total = np.sum(y_true, axis=axes) + np.sum(y_pred, axis=axes)
    if smooth or eps:
        return (2 * intersection + smooth) / (total + smooth + eps)
    with np.errstate(all="ignore"):
        return np.where(total > 0, 2 * intersection / np.where(total > 0, total, 1), empty)


def _one_hot(ids, num_classes):
    return np.eye(num_classes, dtype="float32")[np.asarray(ids)]


def _foreground_examples():
    """(label, y_true, y_pred) one-hot float32 batches; N, H, W and C differ, so axis mix-ups give other numbers."""
    two_true = np.zeros((3, 6, 8), dtype=int)
    two_pred = np.zeros((3, 6, 8), dtype=int)
    two_true[0, 1:4, 1:5] = 1  # 12 pixels, 8 of them found, 2 false positives
    two_pred[0, 1:3, 1:6] = 1
    two_true[1, 2:4, 2:4] = 1  # 4 pixels, missed
    # image 2: no object, none predicted
    three_true = np.zeros((2, 5, 7), dtype=int)
    three_pred = np.zeros((2, 5, 7), dtype=int)
    three_true[0, 0:2, 0:3], three_pred[0, 0:2, 0:2] = 1, 1  # class 1: 6 pixels, 4 found
    three_true[0, 3:5, 3:7], three_pred[0, 3:5, 2:7] = 2, 2  # class 2: 8 pixels, all found, 2 more
    three_true[1, 1:4, 1:4], three_pred[1, 1:4, 2:5] = 1, 1  # image 1: class 1 only, class 2 in neither mask
    wrong_true = np.zeros((2, 4, 6), dtype=int)
    wrong_pred = np.zeros((2, 4, 6), dtype=int)
    wrong_true[0, 1:3, 1:4], wrong_pred[0, 1:3, 1:4] = 1, 1  # found exactly
    wrong_pred[1, 2, 2] = 1  # image 1: empty truth, one wrong pixel
    return [
        (
            "a batch of 3 one-hot masks with 2 channels (image 0: an object partly found; image 1: an object "
            "missed; image 2: no object, none predicted)",
            _one_hot(two_true, 2),
            _one_hot(two_pred, 2),
        ),
        (
            "a batch of 2 one-hot masks with 3 channels (image 0: classes 1 and 2; image 1: class 1 only, class 2 "
            "in neither mask)",
            _one_hot(three_true, 3),
            _one_hot(three_pred, 3),
        ),
        (
            "a batch of 2 one-hot masks with 2 channels (image 0: an object found exactly; image 1: no object, "
            "one wrong pixel predicted)",
            _one_hot(wrong_true, 2),
            _one_hot(wrong_pred, 2),
        ),
    ]


def _foreground_cases():
    cases = []
    for label, y_true, y_pred in _foreground_examples():
        per_image = _dice_table(y_true, y_pred, (1, 2))
        expected = float(np.mean(per_image[:, 1:]))
        present = (y_true.sum(axis=(1, 2)) + y_pred.sum(axis=(1, 2)))[:, 1:] > 0
        only_truth_empty = (y_true.sum(axis=(1, 2))[:, 1:] == 0) & present
        mistakes = [
            (
                _nan,
                f"On {{label}} you returned NaN: a class absent from both masks of an image gives 0 / 0. The course's "
                f"rule scores such a pair {EMPTY_SCORE} (nothing to find, nothing found); decide it before you divide.",
            ),
            (
                float(np.mean(_dice_table(y_true, y_pred, (1, 2, 3)))),
                "On {label} you returned {got}: you summed over the channel axis too (axis=[1, 2, 3], the article's "
                "choice). On one-hot masks that counts every right background pixel as overlap: it is the pixel "
                "accuracy. Sum over height and width only, axis=[1, 2], to get one Dice per image and class.",
            ),
            (
                float(np.mean(per_image)),
                "On {label} you returned {got}: you averaged over all channels, background (channel 0) included. "
                "The background is large and easy and lifts every score; average the foreground channels only "
                "(1, 2, ...).",
            ),
            (
                float(np.mean(per_image[:, 0])),
                "On {label} you returned {got}, the Dice of channel 0: that is the background. The foreground "
                "channels are 1, 2, ...",
            ),
            (
                float(np.mean(_dice_table(y_true, y_pred, (0, 1, 2))[1:])),
                "On {label} you returned {got}: you pooled the pixels of all images (summed over the batch axis too) "
                "and then scored each class once. The task asks for one Dice per image, axis=[1, 2], averaged over "
                "the images, so that a missed small object counts as much as a large one.",
            ),
            (
                float(np.mean(np.where(present, per_image[:, 1:], 0.0))),
                f"On {{label}} you returned {{got}}: an image where a class is in neither mask scored 0 instead of "
                f"{EMPTY_SCORE}. A small term added to the denominator (like + 1e-7) does that: it keeps 0 / 0 away "
                "but turns it into 0. Nothing to find and nothing found is a perfect answer: test for that case and "
                "give it the course's score.",
            ),
            (
                float(np.mean(_dice_table(y_true, y_pred, (1, 2), smooth=1.0)[:, 1:])),
                "On {label} you returned {got}: a smoothing term (+ 1 in the numerator and the denominator) gives "
                f"the empty pair its {EMPTY_SCORE}, but it changes every other score too: a missed object of k "
                "pixels scores 1 / (k + 1) instead of 0. Compute the exact Dice and treat the empty pair apart.",
            ),
            (
                float(np.mean(per_image[:, 1:][present])) if present.any() else np.nan,
                "On {label} you returned {got}: you left out the images where a class is in neither mask (a NaN "
                f"skipped by nanmean, or a mask of the pairs present). The course's rule scores such a pair "
                f"{EMPTY_SCORE} and keeps it in the mean ({{expected}}).",
            ),
        ]
        if only_truth_empty.any():
            mistakes.append(
                (
                    float(np.mean(np.where(only_truth_empty, EMPTY_SCORE, per_image[:, 1:]))),
                    f"On {{label}} you returned {{got}}: you gave {EMPTY_SCORE} to an image whose truth is empty but "
                    "whose prediction is not. Only two empty masks score 1.0; a wrong pixel on an empty image "
                    "scores 0.",
                )
            )
        if y_true.shape[-1] > 2:
            mistakes += [
                (
                    float(np.mean(per_image[:, 1])),
                    "On {label} you returned {got}, the Dice of channel 1 only. With more classes, every channel "
                    "from 1 on is foreground: average them all.",
                ),
                (
                    float(
                        np.mean(
                            _dice_table(
                                y_true[..., 1:].sum(-1, keepdims=True), y_pred[..., 1:].sum(-1, keepdims=True), (1, 2)
                            )
                        )
                    ),
                    "On {label} you returned {got}: you merged the foreground classes into one (any class but 0). "
                    "Score each class on its own, then average the classes.",
                ),
            ]
        mistakes.append(
            (
                float(np.mean(per_image[1:])),
                "On {label} you returned {got}: you sliced [1:] on the first axis of the (images, classes) table, "
                "which drops the first image and keeps the background. The classes are the last axis: [:, 1:].",
            )
        )
        cases.append(
            Case(
                label,
                (y_true, y_pred),
                mistakes=distinct(mistakes, expected),
                otherwise="On {label} you returned {got}; expected {expected}: one Dice per image and foreground "
                "class (sums over height and width), 1.0 where a class is in neither mask, then their mean.",
                on_error="The inputs are float32 one-hot arrays of shape (N, H, W, C).",
            )
        )
    return cases


def _as_dice(got, case):
    n, channels = case.args[0].shape[0], case.args[0].shape[-1]
    try:
        values = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        values = None
    if values is not None and values.ndim == 2 and values.shape in ((n, channels), (n, channels - 1)):
        raise Mistake(
            f"On {case.label} you returned shape {values.shape}: one Dice per image and class. Return their mean, "
            "one number."
        )
    if values is not None and values.ndim == 1 and values.size == n and n > 1:
        raise Mistake(f"On {case.label} you returned {n} numbers, one per image. Return their mean, one number.")
    if values is not None and values.ndim == 1 and values.size in (channels, channels - 1):
        raise Mistake(
            f"On {case.label} you returned {values.size} numbers, one per class. Return one number: the mean over "
            "the images and the foreground classes."
        )
    return _as_float(got, case)


q3 = exercise(
    "q3",
    "foreground Dice of a batch, per image",
    notebook=NOTEBOOK,
    reference=foreground_dice,
    hint=(
        "One Dice per image and per class: the sums run over the axes inside one image (height and width) and "
        "over nothing else, neither the channels nor the batch. Then only the foreground classes count.",
        "Build the intersections and the mask sizes as arrays of shape (images, classes); where a size total is "
        "0, the class is in neither mask: give it the course's score before dividing. Then average the columns "
        "of the foreground classes.",
    ),
    cases=_foreground_cases,
    coerce=_as_dice,
    success="correct! One score per image and class, the background left out, the empty pairs scored by the "
    "rule: a model that finds nothing now scores 0.",
)


# --------------------------------------------------------------------------------------
# predict before you run
# --------------------------------------------------------------------------------------


def _near(guess, value, tolerance=0.02):
    return abs(guess - value) <= tolerance


def _as_number(guess):
    try:
        return float(guess)
    except (TypeError, ValueError):
        return None


def _explain_accuracy(guess, actual):
    guess = _as_number(guess)
    if guess is None:
        return "Answer with a number between 0 and 1."
    foreground = 1 - actual
    if guess > 1 and _near(guess / 100, actual, 0.005):
        return f"Right number, but as a percentage: answer with a fraction ({actual:.4f})."
    if _near(guess, foreground, 0.002):
        return "That is the foreground fraction: the pixels this model gets wrong. It gets all the others right."
    if _near(guess, 0.0, 0.05):
        return (
            "You judged the model by the objects it finds (none). Pixel accuracy counts every pixel it gets right, "
            f"and it gets every background pixel right: 1 - the foreground fraction ({foreground:.2%})."
        )
    if _near(guess, 0.5, 0.1):
        return (
            "You averaged the two classes (background all right, object all wrong). Pixel accuracy counts pixels, "
            "not classes, and almost every pixel is background."
        )
    return f"Every background pixel is right and only the {foreground:.2%} object pixels are wrong."


def _explain_two_channel_dice(guess, actual):
    guess = _as_number(guess)
    if guess is None:
        return "Answer with a number between 0 and 1."
    if guess > 1 and _near(guess / 100, actual, 0.005):
        return f"Right number, but as a percentage: answer with a fraction ({actual:.4f})."
    if _near(guess, 0.0, 0.05):
        return (
            "0 is the Dice of the object channel alone. Summed over both channels (axis=[1, 2, 3]), the background "
            "channel counts too: every background pixel is a 1 in both masks, an overlap."
        )
    if _near(guess, 0.5, 0.1):
        return (
            "You averaged a Dice per channel (background about 1, object 0). The article's function sums over the "
            "channels before it divides: 2 x (right pixels) / (2 x all pixels), the pixel accuracy."
        )
    if guess >= 0.999:
        return (
            "Not quite 1: the missed object pixels are in neither intersection. It is 2 x (right pixels) / "
            "(2 x all pixels): exactly the pixel accuracy."
        )
    return "Count what y_true * y_pred sums to over both channels: every pixel whose class is right."


p1 = Prediction(
    "p1",
    "the pixel accuracy of 'background everywhere' on the 200 imbalanced images (a fraction)",
    notebook=NOTEBOOK,
    tolerance=0.005,
    explain=_explain_accuracy,
)

p2 = Prediction(
    "p2",
    "the article's dice_coef (smooth=0) of 'background everywhere' on the two-channel one-hot masks",
    notebook=NOTEBOOK,
    tolerance=0.005,
    explain=_explain_two_channel_dice,
)

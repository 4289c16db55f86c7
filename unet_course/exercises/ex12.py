"""Exercises of notebook 12 (street scenes, CamVid): per-class IoU with a void label, SegNet's
median-frequency weights from class counts, reading a confusion matrix, and mean IoU from a
confusion matrix; one predict-before-you-run question (the scores of a model that predicts
Road everywhere)."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Case, Mistake, Prediction, exercise

NOTEBOOK = "12_street_scenes_camvid"


# --------------------------------------------------------------------------------------
# reference answers
# --------------------------------------------------------------------------------------


def per_class_iou(mask, prediction, num_classes, ignore_index):
    """IoU of each class ``0 .. num_classes - 1`` over the pixels whose true label is not
    ``ignore_index``; ``nan`` for a class in neither the (labelled) truth nor the prediction."""
    mask, prediction = np.asarray(mask).ravel(), np.asarray(prediction).ravel()
    keep = mask != ignore_index  # void pixels count neither as right nor as wrong
    mask, prediction = mask[keep], prediction[keep]
    ious = np.full(num_classes, np.nan)
    for c in range(num_classes):
        intersection = np.sum((mask == c) & (prediction == c))
        union = np.sum((mask == c) | (prediction == c))
        if union:
            ious[c] = intersection / union
    return ious


def median_frequency_weights(counts):
    """SegNet's class weights (Eigen & Fergus 2015) from ``counts``, an array ``(images, classes)``
    of labelled pixels of each class in each image: ``freq(c)`` = pixels of class c divided by the
    labelled pixels of the images where c is present; ``weight(c) = median(freq) / freq(c)``."""
    counts = np.asarray(counts, dtype=np.float64)
    pixels = counts.sum(axis=1)  # labelled pixels of each image
    present = counts > 0
    with np.errstate(divide="ignore", invalid="ignore"):  # a class in no image: frequency nan, weight nan
        freq = counts.sum(axis=0) / (present * pixels[:, None]).sum(axis=0)
        return np.nanmedian(freq) / freq


def worst_confusion(matrix, class_names):
    """``(true class, predicted class, share)``: the off-diagonal cell of the confusion matrix
    (rows: true class, columns: predicted) with the largest share of its true class's pixels."""
    matrix = np.asarray(matrix, dtype=np.float64)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)  # each row: where that class's pixels went
    np.fill_diagonal(shares, -1.0)  # the right answers are not confusions
    true, predicted = np.unravel_index(np.argmax(shares), shares.shape)
    return class_names[true], class_names[predicted], float(shares[true, predicted])


def mean_iou_from_confusion(matrix):
    """Mean IoU over the classes present (in the truth or the prediction) of a confusion matrix
    (rows: true class, columns: predicted), as ``evaluate_predictions`` reports it."""
    matrix = np.asarray(matrix, dtype=np.float64)
    intersection = np.diag(matrix)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - intersection
    present = union > 0
    return float(np.mean(intersection[present] / union[present]))


# --------------------------------------------------------------------------------------
# q1: per-class IoU with a void label
# --------------------------------------------------------------------------------------


def _iou_variant(mask, prediction, num_classes, ignore_index, kind):
    mask, prediction = np.asarray(mask).ravel(), np.asarray(prediction).ravel()
    if kind != "void_counted":
        keep = mask != ignore_index
        mask, prediction = mask[keep], prediction[keep]
    out = np.full(num_classes, np.nan)
    for c in range(num_classes):
        tp = np.sum((mask == c) & (prediction == c))
        if kind == "precision":
            denominator = np.sum(prediction == c)
        elif kind == "recall":
            denominator = np.sum(mask == c)
        else:
            denominator = np.sum((mask == c) | (prediction == c))
        if kind == "zero_absent":
            out[c] = tp / denominator if denominator else 0.0
        elif denominator:
            out[c] = tp / denominator
    return out


def _q1_cases():
    void = 11
    # 2 rows of 6: true [0 0 1 1 11 11 / 2 2 2 11 0 1], predicted [0 1 1 1 0 2 / 2 2 0 2 0 1]
    mask = np.array([[0, 0, 1, 1, void, void], [2, 2, 2, void, 0, 1]])
    prediction = np.array([[0, 1, 1, 1, 0, 2], [2, 2, 0, 2, 0, 1]])
    rng = np.random.default_rng(12)
    big_mask = rng.integers(0, 5, size=(20, 30))
    big_mask[rng.random(big_mask.shape) < 0.2] = 255
    big_prediction = np.where(rng.random(big_mask.shape) < 0.6, big_mask % 255, rng.integers(0, 5, size=(20, 30)))
    big_prediction[big_prediction > 4] = 0
    cases = []
    for label, args in (
        ("a 2x6 mask with 3 void pixels (ignore_index=11), 4 classes (class 3 nowhere)", (mask, prediction, 4, void)),
        ("a random 20x30 mask of 5 classes with 20% void (ignore_index=255)", (big_mask, big_prediction, 5, 255)),
    ):
        variants = {kind: _iou_variant(*args, kind) for kind in ("void_counted", "precision", "recall", "zero_absent")}
        cases.append(
            Case(
                label,
                args=args,
                mistakes=(
                    (
                        variants["void_counted"],
                        "On {label} your IoUs are {got}, expected {expected}: you counted the void pixels. A void "
                        "pixel has no true class, so whatever the model predicts there is neither right nor wrong: "
                        "drop the pixels whose true label is ignore_index (from the truth AND the prediction) first.",
                    ),
                    (
                        variants["precision"],
                        "On {label} you returned {got}: true positives / predicted pixels of the class (its "
                        "precision). IoU divides by the union: pixels that are the class in the truth OR the "
                        "prediction.",
                    ),
                    (
                        variants["recall"],
                        "On {label} you returned {got}: true positives / true pixels of the class (its recall, "
                        "the per-class accuracy SegNet averages into 'class average accuracy'). IoU divides by the "
                        "union, which also counts the pixels wrongly predicted as the class.",
                    ),
                    (
                        variants["zero_absent"],
                        "On {label} you returned {got}, expected {expected}: a class in neither the truth nor the "
                        "prediction has an empty union, and its IoU is undefined (nan), not 0: a 0 would pull the "
                        "mean IoU down for a class the model was never asked about.",
                    ),
                ),
            )
        )
    return cases


def _per_class_values(got, case, count, what, why):
    """``got`` as ``count`` floats (one per class), or the :class:`Mistake` that says what to return."""
    try:
        values = np.asarray(got, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise Mistake(f"On {case.label} your function returned {got!r:.60}; return one {what} per class.") from None
    if values.size != count:
        raise Mistake(
            f"On {case.label} you returned {values.size} values; expected {count}, one {what} per class {why}."
        )
    return values


def _q1_coerce(got, case):
    num_classes = case.args[2]
    why = f"0..{num_classes - 1} (void is not a class: it gets no IoU)"
    return _per_class_values(got, case, num_classes, "IoU", why)


q1 = exercise(
    "q1",
    "per-class IoU with a void label",
    notebook=NOTEBOOK,
    reference=per_class_iou,
    cases=_q1_cases,
    coerce=_q1_coerce,
    hint=(
        "Void pixels have no true class: leave them out before counting anything.",
        "Keep the pixels where the mask is not ignore_index; then for each class, IoU = |truth and prediction| / "
        "|truth or prediction|, and nan when that union is empty.",
    ),
    success=(
        "correct! Void pixels are left out of both the truth and the prediction, as evaluate_predictions("
        "..., ignore_index=11) does, and a class that is nowhere gets nan, not 0, so that mean IoU averages "
        "only the classes there are."
    ),
)


# --------------------------------------------------------------------------------------
# q2: SegNet's median-frequency weights
# --------------------------------------------------------------------------------------


def _weights_variant(counts, kind):
    counts = np.asarray(counts, dtype=np.float64)
    pixels = counts.sum(axis=1)
    present = counts > 0
    if kind == "global":
        freq = counts.sum(axis=0) / counts.sum()
    else:
        freq = counts.sum(axis=0) / (present * pixels[:, None]).sum(axis=0)
    if kind == "mean":
        return np.mean(freq) / freq
    if kind == "inverted":
        return freq / np.median(freq)
    if kind == "inverse":
        return 1.0 / freq
    return np.median(freq) / freq


def _q2_cases():
    # 4 images x 3 classes; class 2 only in the third image
    small = np.array([[60, 40, 0], [80, 20, 0], [50, 30, 20], [70, 30, 0]])
    rng = np.random.default_rng(3)
    big = rng.integers(0, 500, size=(12, 6)) * (rng.random((12, 6)) < 0.6)
    big[:, 0] += 2000  # one common class, in every image
    cases = []
    for label, counts in (
        ("4 images x 3 classes ([[60, 40, 0], [80, 20, 0], [50, 30, 20], [70, 30, 0]]; class 2 in one image)", small),
        ("12 random images x 6 classes, some classes absent from some images", big),
    ):
        cases.append(
            Case(
                label,
                args=(counts,),
                mistakes=(
                    (
                        _weights_variant(counts, "global"),
                        "On {label} you returned {got}, expected {expected}: you divided each class's pixels by "
                        "ALL the pixels. SegNet divides by the pixels of the images where the class is present: a "
                        "class that appears in few images is not made rarer by the images it is absent from.",
                    ),
                    (
                        _weights_variant(counts, "mean"),
                        "On {label} you returned {got}: you divided the MEAN frequency by each class's. It is the "
                        "median: the class of median frequency gets weight 1, and one very common class (road) "
                        "does not move the scale.",
                    ),
                    (
                        _weights_variant(counts, "inverted"),
                        "On {label} you returned {got}: upside down (freq / median). A rare class must get a "
                        "LARGE weight: median(freq) / freq(c).",
                    ),
                    (
                        _weights_variant(counts, "inverse"),
                        "On {label} you returned {got}: 1 / freq(c), without the median. The ratios between the "
                        "classes are right, but the scale is not: median(freq) / freq(c) gives the class of median "
                        "frequency a weight of 1, so the loss keeps its usual size.",
                    ),
                ),
            )
        )
    return cases


def _q2_coerce(got, case):
    classes = np.asarray(case.args[0]).shape[1]
    return _per_class_values(got, case, classes, "weight", "(the columns of counts; the rows are the images)")


q2 = exercise(
    "q2",
    "SegNet's median-frequency weights",
    notebook=NOTEBOOK,
    reference=median_frequency_weights,
    cases=_q2_cases,
    coerce=_q2_coerce,
    compare=lambda got, expected: np.allclose(got, expected, rtol=1e-6),
    hint=(
        "A class's frequency counts only the images where the class appears; the median of the frequencies sets "
        "the scale.",
        "freq(c) = (pixels of class c over all images) / (labelled pixels of the images whose count of c is above "
        "0); weight(c) = median(freq) / freq(c).",
    ),
    success=(
        "correct! This is 'median frequency balancing' (Eigen & Fergus 2015) as SegNet's training prototxt uses "
        "it: the class of median frequency weighs 1, rarer classes more, road and sky less."
    ),
)


# --------------------------------------------------------------------------------------
# q3: reading a confusion matrix
# --------------------------------------------------------------------------------------

_NAMES4 = ("Building", "Pole", "Road", "Pavement")


def _q3_cases():
    # rows: true class. Largest count off the diagonal: Road -> Pavement (300); largest SHARE of a
    # class's pixels: Pole -> Building (60 of 100).
    matrix = np.array(
        [
            [5000, 20, 30, 150],  # Building
            [60, 30, 5, 5],  # Pole
            [10, 0, 9000, 300],  # Road
            [100, 5, 250, 1400],  # Pavement
        ]
    )
    rng = np.random.default_rng(5)
    names6 = ("Sky", "Tree", "Car", "Sign", "Fence", "Bicyclist")
    big = rng.integers(0, 50, size=(6, 6)) + np.diag([4000, 3000, 900, 60, 300, 80])
    big[4, 1] = 290  # Fence -> Tree: many pixels, but a smaller share than ...
    big[3, 1] = 200  # ... Sign -> Tree
    cases = []
    for label, m, names in (
        ("a 4-class matrix (Building, Pole, Road, Pavement)", matrix, _NAMES4),
        ("a 6-class matrix", big, names6),
    ):
        m = np.asarray(m, dtype=np.int64)
        off = m.astype(float).copy()
        np.fill_diagonal(off, -1)
        i, j = np.unravel_index(np.argmax(off), off.shape)
        by_count = (names[i], names[j])
        col_share = m / np.maximum(m.sum(axis=0, keepdims=True), 1)
        np.fill_diagonal(col_share, -1)
        i, j = np.unravel_index(np.argmax(col_share), col_share.shape)
        by_column = (names[i], names[j])
        row_share = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
        i, j = np.unravel_index(np.argmax(row_share), row_share.shape)
        with_diagonal = (names[i], names[j])
        transposed = worst_confusion(m.T, names)[:2]
        cases.append(
            Case(
                label,
                args=(m, names),
                mistakes=(
                    (
                        lambda got, w=with_diagonal: got[:2] == w and w[0] == w[1],
                        "On {label} you returned {got}: a class 'confused' with itself. The diagonal holds the "
                        "right answers; look only at the cells off it.",
                    ),
                    (
                        lambda got, w=transposed: got[:2] == w,
                        "On {label} you returned {got}: true and predicted swapped. Rows are the TRUE class, "
                        "columns the predicted one (evaluate_predictions' convention): matrix[t, p] counts pixels "
                        "of class t predicted as p.",
                    ),
                    (
                        lambda got, w=by_count: got[:2] == w,
                        "On {label} you returned {got}: the largest COUNT off the diagonal. Large classes have "
                        "large counts everywhere; divide each row by its sum first, so that each cell is the share "
                        "of that true class's pixels predicted as the other class.",
                    ),
                    (
                        lambda got, w=by_column: got[:2] == w,
                        "On {label} you returned {got}: you divided by the column sums (the pixels PREDICTED as "
                        "each class). The question is where a true class's pixels go: divide each row by its sum.",
                    ),
                ),
            )
        )
    return cases


def _q3_coerce(got, case):
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise Mistake(
            f"On {case.label} you returned {got!r:.80}; return a tuple (true class name, predicted class name, share)."
        )
    true, predicted, share = got
    names = case.args[1]
    if true not in names or predicted not in names:
        raise Mistake(
            f"On {case.label} you returned names {true!r} and {predicted!r}; return the names from class_names "
            f"({', '.join(names)}), not their indices."
        )
    try:
        share = float(share)
    except (TypeError, ValueError):
        raise Mistake(f"On {case.label} the share {share!r} is not a number.") from None
    return (true, predicted, share)


def _q3_compare(got, expected):
    return got[:2] == expected[:2] and abs(got[2] - expected[2]) < 1e-6


q3 = exercise(
    "q3",
    "reading a confusion matrix",
    notebook=NOTEBOOK,
    reference=worst_confusion,
    cases=_q3_cases,
    coerce=_q3_coerce,
    compare=_q3_compare,
    hint=(
        "A rare class can lose most of its pixels to another class in a cell whose count is small: compare "
        "shares of each true class, not counts.",
        "Divide each row (a true class) by its sum, ignore the diagonal, and take the largest remaining cell: "
        "its row is the true class, its column the predicted one.",
    ),
    success=(
        "correct! Row-normalised, the matrix says where each true class's pixels go: a thin class such as "
        "Pole loses most of its pixels to the large class it stands in front of, a confusion a raw count hides."
    ),
)


# --------------------------------------------------------------------------------------
# q4: mean IoU from a confusion matrix
# --------------------------------------------------------------------------------------


def _q4_cases():
    # 4 classes; class 3 in neither truth nor prediction (its row and column are 0)
    m = np.array([[50, 10, 0, 0], [5, 20, 5, 0], [0, 0, 10, 0], [0, 0, 0, 0]])
    intersection = np.diag(m).astype(float)
    union = m.sum(0) + m.sum(1) - intersection
    with_zero = float(np.mean(np.where(union > 0, intersection / np.maximum(union, 1), 0.0)))
    accuracy = float(np.trace(m) / m.sum())
    recall = np.diag(m) / np.maximum(m.sum(1), 1)
    class_average = float(np.mean(recall[m.sum(1) > 0]))
    # class 2 predicted but never true: present (its union is not empty), IoU 0
    m2 = np.array([[30, 0, 6], [4, 12, 2], [0, 0, 0]])
    i2 = np.diag(m2).astype(float)
    u2 = m2.sum(0) + m2.sum(1) - i2
    only_true = float(np.mean((i2 / u2)[m2.sum(1) > 0]))
    common = (
        (
            lambda got, v=accuracy: abs(got - v) < 1e-9,
            "On {label} you returned {got}: the pixel accuracy (trace / sum). Mean IoU scores each class on its "
            "own, IoU = diagonal / (row sum + column sum - diagonal), then averages the classes.",
        ),
        (
            lambda got, v=class_average: abs(got - v) < 1e-9,
            "On {label} you returned {got}: the mean of diagonal / row sum, the per-class recall (SegNet's 'class "
            "average accuracy'). IoU also counts the pixels wrongly predicted as the class: divide by row sum + "
            "column sum - diagonal.",
        ),
    )
    return [
        Case(
            "a 4-class matrix where class 3 is in neither the truth nor the prediction",
            args=(m,),
            mistakes=(
                (
                    lambda got, v=with_zero: abs(got - v) < 1e-9,
                    "On {label} you returned {got}, expected {expected}: you averaged over all 4 classes, giving "
                    "class 3 an IoU of 0. It is in neither the truth nor the prediction: its IoU is undefined, and "
                    "evaluate_predictions leaves it out of the mean.",
                ),
                *common,
            ),
        ),
        Case(
            "a 3-class matrix where class 2 is predicted but never true",
            args=(m2,),
            mistakes=(
                (
                    lambda got, v=only_true: abs(got - v) < 1e-9,
                    "On {label} you returned {got}, expected {expected}: you left out class 2 because it is not "
                    "in the truth. It IS in the prediction (its column is not empty): a model that invents a "
                    "class is wrong there, so it counts, with IoU 0.",
                ),
                *common,
            ),
        ),
    ]


def _q4_coerce(got, case):
    try:
        return float(got)
    except (TypeError, ValueError):
        raise Mistake(f"On {case.label} you returned {got!r:.60}; return one number, the mean IoU.") from None


q4 = exercise(
    "q4",
    "mean IoU from a confusion matrix",
    notebook=NOTEBOOK,
    reference=mean_iou_from_confusion,
    cases=_q4_cases,
    coerce=_q4_coerce,
    compare=lambda got, expected: abs(got - expected) < 1e-9,
    hint=(
        "Everything IoU needs is in the matrix: the diagonal, the row sums (truth) and the column sums "
        "(prediction). Then decide which classes take part in the mean.",
        "IoU(c) = m[c, c] / (row sum + column sum - m[c, c]); average it over the classes whose union is not "
        "empty (in the truth or in the prediction).",
    ),
    success=(
        "correct! Mean IoU from the matrix: each class's IoU, averaged over the classes in the truth or the "
        "prediction, as evaluate_predictions reports it."
    ),
)


# --------------------------------------------------------------------------------------
# p1: the scores of a model that predicts Road everywhere
# --------------------------------------------------------------------------------------


def _p1_explain(guess, actual):
    try:
        guess = float(guess)
    except (TypeError, ValueError):
        return "Answer with a number between 0 and 1."
    road_share = actual * 11  # the road's IoU is its share; the other 10 classes score 0
    if abs(guess - road_share) <= 0.2 * road_share:
        return (
            "That is about the Road's share of the labelled pixels: the model's pixel accuracy, and the Road's own "
            "IoU. Mean IoU averages the 11 classes, and the 10 others score 0: divide by 11."
        )
    if abs(guess) < 0.01:
        return (
            "Not 0: the Road class itself is right wherever the road is, so its IoU is the road's share of the "
            "pixels; it is the other 10 classes that score 0."
        )
    if abs(guess - 1 / 11) <= 0.02:
        return (
            "1/11 would be right if the Road's IoU were 1. It is the road's share of the pixels: every other "
            "pixel is predicted as Road too, and joins the union."
        )
    return None


p1 = Prediction(
    "p1",
    "the mean IoU on the validation split of a model that predicts Road for every pixel",
    notebook=NOTEBOOK,
    tolerance=0.25,
    explain=_p1_explain,
)

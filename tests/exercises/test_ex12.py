"""Exercises of notebook 12: the references pass and agree with the package, other correct answers
pass, typical mistakes get their message; the prediction explains the usual wrong guesses."""

import numpy as np
import pytest

from unet_course.data.camvid import MEDIAN_FREQUENCY_WEIGHTS
from unet_course.evaluation import evaluate_predictions
from unet_course.exercises import ex12 as ex


def _run(exercise, answer):
    verdict = exercise._run(answer)
    return verdict.passed, verdict.message


# --------------------------------------------------------------------------------------
# q1: per-class IoU with a void label
# --------------------------------------------------------------------------------------


def test_q1_reference_passes_and_agrees_with_the_package():
    passed, message = _run(ex.q1, ex.per_class_iou)
    assert passed, message
    rng = np.random.default_rng(0)
    mask = rng.integers(0, 12, size=(30, 40))  # 11 classes + void 11
    prediction = rng.integers(0, 11, size=(30, 40))
    ours = ex.per_class_iou(mask, prediction, 11, 11)
    theirs = evaluate_predictions(mask, prediction, 11, ignore_index=11)["per_class_iou"]
    np.testing.assert_allclose(ours, [np.nan if v is None else v for v in theirs.values()])


def test_q1_other_correct_answers_pass():
    def from_confusion(mask, prediction, num_classes, ignore_index):
        keep = mask != ignore_index
        matrix = np.bincount(mask[keep] * num_classes + prediction[keep], minlength=num_classes * num_classes).reshape(
            num_classes, num_classes
        )
        tp = np.diag(matrix)
        union = matrix.sum(0) + matrix.sum(1) - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(union > 0, tp / union, np.nan)

    def as_list(mask, prediction, num_classes, ignore_index):
        return list(ex.per_class_iou(mask, prediction, num_classes, ignore_index))

    for answer in (from_confusion, as_list):
        passed, message = _run(ex.q1, answer)
        assert passed, message


def _iou_counting_void(mask, prediction, num_classes, ignore_index):
    mask, prediction = np.asarray(mask).ravel(), np.asarray(prediction).ravel()
    out = []
    for c in range(num_classes):
        union = np.sum((mask == c) | (prediction == c))
        out.append(np.sum((mask == c) & (prediction == c)) / union if union else np.nan)
    return out


def _iou_precision(mask, prediction, num_classes, ignore_index):
    keep = mask != ignore_index
    mask, prediction = mask[keep], prediction[keep]
    return [
        np.sum((mask == c) & (prediction == c)) / np.sum(prediction == c) if np.sum(prediction == c) else np.nan
        for c in range(num_classes)
    ]


def _iou_zero_absent(mask, prediction, num_classes, ignore_index):
    return np.nan_to_num(ex.per_class_iou(mask, prediction, num_classes, ignore_index), nan=0.0)


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (_iou_counting_void, "you counted the void pixels"),
        (_iou_precision, "its precision"),
        (_iou_zero_absent, "undefined (nan), not 0"),
        (lambda m, p, n, i: ex.per_class_iou(m, p, n + 1, i), "expected 4, one IoU per class"),
    ],
)
def test_q1_mistakes_get_their_message(answer, words):
    passed, message = _run(ex.q1, answer)
    assert not passed
    assert words in message, message


# --------------------------------------------------------------------------------------
# q2: median-frequency weights
# --------------------------------------------------------------------------------------


def test_q2_reference_passes_and_is_worked_by_hand():
    passed, message = _run(ex.q2, ex.median_frequency_weights)
    assert passed, message
    # [[60, 40, 0], [80, 20, 0], [50, 30, 20], [70, 30, 0]]: freq = 260/400, 120/400, 20/100; median 0.3
    counts = [[60, 40, 0], [80, 20, 0], [50, 30, 20], [70, 30, 0]]
    np.testing.assert_allclose(ex.median_frequency_weights(counts), [0.3 / 0.65, 1.0, 1.5])


def test_q2_reproduces_the_order_of_segnets_weights():
    # not their values (those come from CamVid's full-resolution masks), but a rare class must weigh more
    weights = np.asarray(MEDIAN_FREQUENCY_WEIGHTS)
    assert weights.argmax() == 6 and weights.argmin() == 3  # SignSymbol highest, Road lowest


def test_q2_other_correct_answers_pass():
    def loops(counts):
        counts = np.asarray(counts, dtype=float)
        freqs = []
        for c in range(counts.shape[1]):
            rows = counts[:, c] > 0
            freqs.append(counts[rows, c].sum() / counts[rows].sum())
        return [float(np.median(freqs) / f) for f in freqs]

    passed, message = _run(ex.q2, loops)
    assert passed, message


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("global", "by ALL the pixels"),
        ("mean", "MEAN frequency"),
        ("inverted", "upside down"),
        ("inverse", "without the median"),
    ],
)
def test_q2_mistakes_get_their_message(kind, words):
    passed, message = _run(ex.q2, lambda counts: ex._weights_variant(counts, kind))
    assert not passed
    assert words in message, message


def test_q2_wrong_axis_is_named():
    passed, message = _run(ex.q2, lambda counts: ex.median_frequency_weights(np.asarray(counts).T))
    assert not passed and "one weight per class" in message


# --------------------------------------------------------------------------------------
# q3: reading a confusion matrix
# --------------------------------------------------------------------------------------


def test_q3_reference_passes_and_finds_pole_in_building():
    passed, message = _run(ex.q3, ex.worst_confusion)
    assert passed, message
    case = ex._q3_cases()[0]
    assert ex.worst_confusion(*case.args) == ("Pole", "Building", 0.6)


def test_q3_other_correct_answers_pass():
    def loops(matrix, class_names):
        best = None
        for t, row in enumerate(matrix):
            total = sum(row)
            for p, count in enumerate(row):
                if t != p and total and (best is None or count / total > best[2]):
                    best = (class_names[t], class_names[p], count / total)
        return best

    passed, message = _run(ex.q3, loops)
    assert passed, message
    passed, message = _run(ex.q3, lambda m, n: list(ex.worst_confusion(m, n)))
    assert passed, message


def _largest_count(matrix, class_names):
    m = np.asarray(matrix, dtype=float).copy()
    np.fill_diagonal(m, -1)
    t, p = np.unravel_index(np.argmax(m), m.shape)
    return class_names[t], class_names[p], float(m[t, p] / np.asarray(matrix)[t].sum())


def _with_diagonal(matrix, class_names):
    m = np.asarray(matrix, dtype=float)
    shares = m / m.sum(1, keepdims=True)
    t, p = np.unravel_index(np.argmax(shares), m.shape)
    return class_names[t], class_names[p], float(shares[t, p])


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (_largest_count, "largest COUNT off the diagonal"),
        (_with_diagonal, "confused' with itself"),
        (lambda m, n: ex.worst_confusion(np.asarray(m).T, n), "true and predicted swapped"),
        (lambda m, n: (1, 0, 0.6), "not their indices"),
        (lambda m, n: ("Pole", "Building"), "return a tuple"),
    ],
)
def test_q3_mistakes_get_their_message(answer, words):
    passed, message = _run(ex.q3, answer)
    assert not passed
    assert words in message, message


# --------------------------------------------------------------------------------------
# q4: mean IoU from a confusion matrix
# --------------------------------------------------------------------------------------


def test_q4_reference_passes_and_agrees_with_the_package():
    passed, message = _run(ex.q4, ex.mean_iou_from_confusion)
    assert passed, message
    rng = np.random.default_rng(1)
    mask = rng.integers(0, 6, size=(25, 25))
    prediction = np.where(rng.random(mask.shape) < 0.7, mask, rng.integers(0, 5, size=mask.shape))
    report = evaluate_predictions(mask, prediction, 7)  # class 6 nowhere, class 5 only in the truth
    assert ex.mean_iou_from_confusion(report["confusion_matrix"]) == pytest.approx(report["mean_iou"])


def test_q4_other_correct_answers_pass():
    def loops(matrix):
        matrix = np.asarray(matrix)
        ious = []
        for c in range(len(matrix)):
            union = matrix[c].sum() + matrix[:, c].sum() - matrix[c, c]
            if union:
                ious.append(matrix[c, c] / union)
        return sum(ious) / len(ious)

    passed, message = _run(ex.q4, loops)
    assert passed, message


def _all_classes(matrix):
    m = np.asarray(matrix, dtype=float)
    union = m.sum(0) + m.sum(1) - np.diag(m)
    return float(np.mean(np.where(union > 0, np.diag(m) / np.maximum(union, 1), 0)))


def _only_true(matrix):
    m = np.asarray(matrix, dtype=float)
    union = m.sum(0) + m.sum(1) - np.diag(m)
    keep = m.sum(1) > 0
    return float(np.mean(np.diag(m)[keep] / union[keep]))


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (_all_classes, "averaged over all 4 classes"),
        (lambda m: float(np.trace(m) / np.sum(m)), "pixel accuracy"),
        (lambda m: float(np.mean(np.diag(m)[np.sum(m, 1) > 0] / np.sum(m, 1)[np.sum(m, 1) > 0])), "recall"),
        (_only_true, "predicted but never true"),
        (lambda m: "0.5", None),
    ],
)
def test_q4_mistakes_get_their_message(answer, words):
    passed, message = _run(ex.q4, answer)
    assert not passed
    if words:
        assert words in message, message


# --------------------------------------------------------------------------------------
# p1: the scores of an all-Road model
# --------------------------------------------------------------------------------------


def _reveal(guess, actual):
    ex.p1._guess = guess
    try:
        return ex.p1.verdict(actual)
    finally:
        ex.p1._guess = ex.p1.__class__.__dataclass_fields__["_guess"].default


def test_p1_right_guess():
    actual = 0.30 / 11
    assert _reveal(0.028, actual).passed


@pytest.mark.parametrize(
    ("guess", "words"),
    [(0.30, "divide by 11"), (0.0, "Not 0"), (1 / 11, "1/11 would be right")],
)
def test_p1_wrong_guesses_are_explained(guess, words):
    verdict = _reveal(guess, 0.30 / 11)
    assert not verdict.passed
    assert words in verdict.message, verdict.message

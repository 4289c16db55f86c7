"""Exercises of notebook 02: the references pass, the typical mistakes get the message meant for them."""

import numpy as np
import pytest

from unet_course.exercises import ex02 as ex


def _not_done(*args):
    raise NotImplementedError()


# --------------------------------------------------------------------------------------
# q1: IoU
# --------------------------------------------------------------------------------------


def test_q1_reference_passes(capsys):
    ex.q1.check(ex.iou)
    assert "✅" in capsys.readouterr().out


def test_q1_integer_only_solution_passes():
    def iou_ints(y_true, y_pred):  # another correct way: arithmetic on 0/1 integers
        a, b = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
        intersection = np.sum(a * b)
        union = np.sum(a) + np.sum(b) - intersection
        return 1.0 if union == 0 else intersection / union

    passed, message = ex.q1.verdict(iou_ints)
    assert passed, message


@pytest.mark.parametrize(
    "answer, phrase",
    [
        # dividing by the sum of the masks instead of the union
        (lambda t, p: np.sum(t * p) / (np.sum(t) + np.sum(p)), "sum of the two masks"),
        # Dice instead of IoU
        (lambda t, p: 2 * np.sum(t * p) / (np.sum(t) + np.sum(p)), "Dice coefficient"),
        # NaN on two empty masks (0/0 with NumPy integers)
        (lambda t, p: np.sum(np.logical_and(t, p)) / np.sum(np.logical_or(t, p)), "course's convention"),
        # ZeroDivisionError on two empty masks (Python ints)
        (lambda t, p: int(np.sum(np.logical_and(t, p))) / int(np.sum(np.logical_or(t, p))), "course's convention"),
        # 0 on two empty masks
        (lambda t, p: 0.0 if not np.any(t) and not np.any(p) else ex.iou(t, p), "course's convention"),
        # union = sum(a + b) - intersection: right on 0/1 integers, wrong on booleans (where + is OR)
        (
            lambda t, p: (lambda a, b: 1.0 if not (a | b).any() else np.sum(a & b) / (np.sum(a + b) - np.sum(a & b)))(
                np.asarray(t), np.asarray(p)
            ),
            "booleans",
        ),
        # union / intersection
        (lambda t, p: np.sum(np.logical_or(t, p)) / max(np.sum(np.logical_and(t, p)), 1), "upside down"),
        # pixel accuracy
        (lambda t, p: float(np.mean(np.asarray(t) == np.asarray(p))), "pixel accuracy"),
        # percentage
        (lambda t, p: 100 * ex.iou(t, p), "percentage"),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = ex.q1.verdict(answer)
    assert not passed
    assert phrase in message, message


def test_q1_none_and_not_implemented_give_feedback():
    passed, message = ex.q1.verdict(None)
    assert not passed and "None" in message
    passed, message = ex.q1.verdict(_not_done)
    assert not passed and "not yet implemented" in message
    passed, message = ex.q1.verdict(lambda t, p: None)
    assert not passed and "return" in message


# --------------------------------------------------------------------------------------
# q2: Dice
# --------------------------------------------------------------------------------------


def test_q2_reference_passes(capsys):
    ex.q2.check(ex.dice)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda t, p: np.sum(t * p) / (np.sum(t) + np.sum(p)), "factor 2"),
        (lambda t, p: ex.iou(t, p), "that is the IoU"),
        (lambda t, p: 2 * np.sum(np.logical_and(t, p)) / max(np.sum(np.logical_or(t, p)), 1), "divided by the union"),
        (lambda t, p: 2 * np.sum(np.logical_and(t, p)) / (np.size(t) + np.size(p)), "number of pixels in both images"),
        (
            lambda t, p: 2 * np.sum(np.logical_and(t, p)) / (np.sum(t) + np.sum(p)),
            "Dice of two empty masks should follow the course's convention",
        ),
    ],
)
def test_q2_typical_mistakes(answer, phrase):
    passed, message = ex.q2.verdict(answer)
    assert not passed
    assert phrase in message, message


def test_q2_none_and_not_implemented_give_feedback():
    assert "None" in ex.q2.verdict(None)[1]
    assert "not yet implemented" in ex.q2.verdict(_not_done)[1]


# --------------------------------------------------------------------------------------
# q3: mean IoU
# --------------------------------------------------------------------------------------


def test_q3_reference_passes(capsys):
    ex.q3.check(ex.mean_iou)
    assert "✅" in capsys.readouterr().out


def test_q3_course_function_passes():
    from unet_course import metrics

    assert ex.q3.verdict(metrics.mean_iou)[0]


def _present_only(t, p, n):
    t, p = np.asarray(t), np.asarray(p)
    return float(np.mean([ex.iou(t == k, p == k) for k in range(n) if np.any(t == k) or np.any(p == k)]))


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_present_only, "keras.metrics.MeanIoU"),
        (
            lambda t, p, n: float(np.mean([ex.iou(np.asarray(t) == k, np.asarray(p) == k) for k in range(1, n)])),
            "Include the background",
        ),
        (lambda t, p, n: float(np.mean(np.asarray(t) == np.asarray(p))), "pixel accuracy"),
        (
            lambda t, p, n: float(
                np.mean(
                    [
                        np.sum((np.asarray(t) == k) & (np.asarray(p) == k))
                        / np.sum((np.asarray(t) == k) | (np.asarray(p) == k))
                        for k in range(n)
                    ]
                )
            ),
            "NaN",
        ),
    ],
)
def test_q3_typical_mistakes(answer, phrase):
    passed, message = ex.q3.verdict(answer)
    assert not passed
    assert phrase in message, message


def test_q3_none_and_not_implemented_give_feedback():
    assert "None" in ex.q3.verdict(None)[1]
    assert "not yet implemented" in ex.q3.verdict(_not_done)[1]

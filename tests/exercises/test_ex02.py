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


def _iou_ints(y_true, y_pred):  # arithmetic on 0/1 integers
    a, b = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    intersection = np.sum(a * b)
    union = np.sum(a) + np.sum(b) - intersection
    return 1.0 if union == 0 else intersection / union


def _iou_loop(y_true, y_pred):  # one pixel at a time, plain Python
    both = either = 0
    for t, p in zip(np.ravel(y_true), np.ravel(y_pred)):
        both += bool(t) and bool(p)
        either += bool(t) or bool(p)
    return 1.0 if either == 0 else both / either


def _iou_logical(y_true, y_pred):  # np.logical_*, a NumPy float returned
    union = np.logical_or(y_true, y_pred).sum()
    return np.logical_and(y_true, y_pred).sum() / union if union else 1.0


@pytest.mark.parametrize("answer", [_iou_ints, _iou_loop, _iou_logical])
def test_q1_other_correct_answers_pass(answer):
    passed, message = ex.q1.verdict(answer)
    assert passed, message


def _per_image(metric, as_array=False):
    def answer(y_true, y_pred):
        if np.ndim(y_true) == 2:
            return metric(y_true, y_pred)
        scores = [metric(t, p) for t, p in zip(y_true, y_pred)]
        return np.array(scores) if as_array else float(np.mean(scores))

    return answer


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_per_image(ex.iou), "mean of the two images' IoU scores"),
        (_per_image(ex.iou, as_array=True), "one per image"),
        (lambda t, p: 1.0 if not np.any(t) or not np.any(p) else ex.iou(t, p), "only one mask is empty"),
        (lambda t, p: np.sum(np.logical_and(t, p)) / max(np.sum(p), 1) if np.any(t) or np.any(p) else 1.0, "precision"),
        (lambda t, p: np.sum(np.logical_and(t, p)) / max(np.sum(t), 1) if np.any(t) or np.any(p) else 1.0, "recall"),
        # uint8 masks: 0 - 1 wraps around to 255
        (
            lambda t, p: 1.0 if not (np.any(t) or np.any(p)) else 1 - np.sum(t - p) / np.sum(np.logical_or(t, p)),
            "wraps around",
        ),
    ],
)
def test_q1_more_mistakes(answer, phrase):
    passed, message = ex.q1.verdict(answer)
    assert not passed and phrase in message, message


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


@pytest.mark.parametrize(
    "answer",
    [
        lambda t, p: (lambda j: 2 * j / (1 + j))(ex.iou(t, p)),  # from the IoU
        lambda t, p: (lambda a, b: 1.0 if a.sum() + b.sum() == 0 else 2 * (a * b).sum() / (a.sum() + b.sum()))(
            np.asarray(t).astype(np.int64), np.asarray(p).astype(np.int64)
        ),  # 0/1 integers
    ],
)
def test_q2_other_correct_answers_pass(answer):
    passed, message = ex.q2.verdict(answer)
    assert passed, message


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_per_image(ex.dice), "mean of the two images' Dice scores"),
        # |A| + |B| as sum(a + b): right on integers, the union on booleans
        (
            lambda t, p: (lambda s: 1.0 if s == 0 else 2 * np.sum(np.asarray(t) * np.asarray(p)) / s)(
                np.sum(np.asarray(t) + np.asarray(p))
            ),
            "on booleans `+` is OR",
        ),
    ],
)
def test_q2_more_mistakes(answer, phrase):
    passed, message = ex.q2.verdict(answer)
    assert not passed and phrase in message, message


def test_q2_none_and_not_implemented_give_feedback():
    assert "None" in ex.q2.verdict(None)[1]
    assert "not yet implemented" in ex.q2.verdict(_not_done)[1]


# --------------------------------------------------------------------------------------
# q4: mean IoU
# --------------------------------------------------------------------------------------


def test_q4_reference_passes(capsys):
    ex.q4.check(ex.mean_iou)
    assert "✅" in capsys.readouterr().out


def test_q4_course_function_passes():
    from unet_course import metrics

    assert ex.q4.verdict(metrics.mean_iou)[0]


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
def test_q4_typical_mistakes(answer, phrase):
    passed, message = ex.q4.verdict(answer)
    assert not passed
    assert phrase in message, message


def _mean_iou_confusion(y_true, y_pred, num_classes):  # vectorised, with a confusion matrix
    t = np.asarray(y_true).astype(np.int64).ravel()
    p = np.asarray(y_pred).astype(np.int64).ravel()
    matrix = np.bincount(num_classes * t + p, minlength=num_classes**2).reshape(num_classes, num_classes)
    inter = np.diag(matrix)
    union = matrix.sum(0) + matrix.sum(1) - inter
    return float(np.mean(np.where(union == 0, 1.0, inter / np.maximum(union, 1))))


def test_q4_vectorised_answer_passes():
    passed, message = ex.q4.verdict(_mean_iou_confusion)
    assert passed, message


def _absent_scores_zero(t, p, n):
    scores = []
    for k in range(n):
        a, b = np.asarray(t) == k, np.asarray(p) == k
        union = np.sum(a | b)
        scores.append(0.0 if union == 0 else np.sum(a & b) / union)
    return float(np.mean(scores))


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_absent_scores_zero, "the score 0"),
        (lambda t, p, n: [ex.iou(np.asarray(t) == k, np.asarray(p) == k) for k in range(n)], "one IoU per class"),
        (lambda t, p, n: ex.iou(np.asarray(t) > 0, np.asarray(p) > 0), "'any foreground'"),
    ],
)
def test_q4_more_mistakes(answer, phrase):
    passed, message = ex.q4.verdict(answer)
    assert not passed and phrase in message, message


def test_q4_none_and_not_implemented_give_feedback():
    assert "None" in ex.q4.verdict(None)[1]
    assert "not yet implemented" in ex.q4.verdict(_not_done)[1]


# --------------------------------------------------------------------------------------
# q3: the foreground Dice of a one-hot batch, per image
# --------------------------------------------------------------------------------------


def _lesson_keras_ops(y_true, y_pred):
    """The notebook's solution, in keras.ops: returns a tensor."""
    from keras import ops

    intersection = ops.sum(y_true * y_pred, axis=[1, 2])
    total = ops.sum(y_true, axis=[1, 2]) + ops.sum(y_pred, axis=[1, 2])
    dice = ops.where(total > 0, 2.0 * intersection / ops.maximum(total, 1e-12), 1.0)
    return ops.mean(dice[:, 1:])


def _foreground_by_loop(y_true, y_pred):
    """Image by image and class by class, with the binary Dice of exercise 2."""
    return np.mean([[ex.dice(t[..., k], p[..., k]) for k in range(1, t.shape[-1])] for t, p in zip(y_true, y_pred)])


def _foreground_from_ids(y_true, y_pred):
    """Back to class ids first, then one binary mask per image and class."""
    a, b = np.argmax(y_true, axis=-1), np.argmax(y_pred, axis=-1)
    classes = range(1, y_true.shape[-1])
    return float(np.mean([[ex.dice(a[i] == k, b[i] == k) for k in classes] for i in range(len(a))]))


@pytest.mark.parametrize("answer", [ex.foreground_dice, _lesson_keras_ops, _foreground_by_loop, _foreground_from_ids])
def test_q3_accepts_correct_answers_in_any_style(answer):
    passed, message = ex.q3.verdict(answer)
    assert passed, message


def _dice_with(axes, keep=lambda d: d[:, 1:], smooth=0.0, eps=0.0, empty=1.0):
    def answer(y_true, y_pred):
        intersection = np.sum(y_true * y_pred, axis=axes)
        total = np.sum(y_true, axis=axes) + np.sum(y_pred, axis=axes)
        with np.errstate(all="ignore"):
            if smooth or eps:
                dice = (2 * intersection + smooth) / (total + smooth + eps)
            elif empty is None:
                dice = 2 * intersection / total  # 0 / 0 is NaN
            else:
                dice = np.where(total > 0, 2 * intersection / np.where(total > 0, total, 1), empty)
        return np.mean(keep(dice))

    return answer


def _nanmean_dice(y_true, y_pred):
    with np.errstate(all="ignore"):
        dice = 2 * np.sum(y_true * y_pred, axis=(1, 2)) / (np.sum(y_true, axis=(1, 2)) + np.sum(y_pred, axis=(1, 2)))
    return np.nanmean(dice[:, 1:])


def _empty_truth_scores_one(y_true, y_pred):
    intersection = np.sum(y_true * y_pred, axis=(1, 2))
    total = np.sum(y_true, axis=(1, 2)) + np.sum(y_pred, axis=(1, 2))
    dice = np.where(np.sum(y_true, axis=(1, 2)) == 0, 1.0, 2 * intersection / np.maximum(total, 1))
    return np.mean(dice[:, 1:])


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_dice_with((1, 2, 3), keep=lambda d: d), "summed over the channel axis too"),  # the article's axes
        (_dice_with((1, 2), keep=lambda d: d), "background (channel 0) included"),
        (_dice_with((0, 1, 2), keep=lambda d: d[1:]), "pooled the pixels of all images"),
        (_dice_with((1, 2), eps=1e-7), "A small term added to the denominator"),
        (_dice_with((1, 2), empty=0.0), "scored 0 instead of 1.0"),
        (_dice_with((1, 2), smooth=1.0), "a smoothing term"),
        (_dice_with((1, 2), empty=None), "NaN"),
        (_nanmean_dice, "you left out the images where a class is in neither mask"),
        (_empty_truth_scores_one, "whose truth is empty but whose prediction is not"),
        (_dice_with((1, 2), keep=lambda d: d[:, 0]), "that is the background"),
        (_dice_with((1, 2), keep=lambda d: d[:, 1]), "channel 1 only"),
        (_dice_with((1, 2), keep=lambda d: d[1:]), "drops the first image"),
        (lambda t, p: np.sum(t * p, axis=(1, 2)), "one Dice per image and class"),
        (lambda t, p: np.mean(_dice_with((1, 2), keep=lambda d: d)(t, p)) * np.ones(len(t)), "one per image"),
    ],
)
def test_q3_typical_mistakes(answer, phrase):
    passed, message = ex.q3.verdict(answer)
    assert not passed and phrase in message, message


def test_q3_merged_foreground_classes():
    def merged(y_true, y_pred):
        return _dice_with((1, 2), keep=lambda d: d)(
            y_true[..., 1:].sum(-1, keepdims=True), y_pred[..., 1:].sum(-1, keepdims=True)
        )

    passed, message = ex.q3.verdict(merged)
    assert not passed and "merged the foreground classes" in message, message


def test_q3_hints_nudge_without_the_code(capsys):
    ex.q3.hint(1)
    ex.q3.hint(2)
    out = capsys.readouterr().out
    assert "axis=[1, 2]" not in out and "[:, 1:]" not in out and "np.where" not in out


def test_q3_none_and_not_implemented_give_feedback():
    assert "None" in ex.q3.verdict(None)[1]
    assert "not yet implemented" in ex.q3.verdict(_not_done)[1]


# --------------------------------------------------------------------------------------
# p1 and p2: what "background everywhere" scores
# --------------------------------------------------------------------------------------

ACCURACY = 0.9936  # 1 - 5233 / (200 * 64 * 64), rounded as notebook 02 reveals it


@pytest.mark.parametrize("prediction", [ex.p1, ex.p2])
@pytest.mark.parametrize("guess", [0.99, 0.9936, 1 - 0.0064])
def test_p1_p2_right_guesses(prediction, guess):
    prediction.predict(guess)
    assert prediction.verdict(ACCURACY).passed


@pytest.mark.parametrize(
    "prediction, guess, phrase",
    [
        (ex.p1, 0.0, "Pixel accuracy counts every pixel it gets right"),
        (ex.p1, 0.0064, "That is the foreground fraction"),
        (ex.p1, 0.5, "You averaged the two classes"),
        (ex.p1, 99.36, "as a percentage"),
        (ex.p1, 0.9, "only the 0.64% object pixels are wrong"),
        (ex.p2, 0.0, "the Dice of the object channel alone"),
        (ex.p2, 0.5, "You averaged a Dice per channel"),
        (ex.p2, 1.0, "Not quite 1"),
        (ex.p2, 0.8, "every pixel whose class is right"),
    ],
)
def test_p1_p2_wrong_guesses_get_their_mistake(prediction, guess, phrase):
    prediction.predict(guess)
    passed, message = prediction.verdict(ACCURACY)
    assert not passed and phrase in message, message

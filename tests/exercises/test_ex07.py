"""Exercises of notebook 07: the references pass, other correct answers pass, typical mistakes get their message."""

import numpy as np
import pytest
from keras import ops

from unet_course.data.weight_map import class_balance_weights
from unet_course.exercises import ex07 as ex
from unet_course.losses import DiceLoss


def _run(exercise, answer):
    verdict = exercise._run(answer)
    return verdict.passed, verdict.message


# p1 ------------------------------------------------------------------------------------


def test_p1_right_and_wrong_guesses():
    ex.p1._guess = 0.5
    assert ex.p1.verdict(0.497).passed
    ex.p1._guess = 1.0
    verdict = ex.p1.verdict(0.497)
    assert not verdict.passed and "BOTH" in verdict.message
    ex.p1._guess = 0.05
    verdict = ex.p1.verdict(0.497)
    assert not verdict.passed and "cross-entropy" in verdict.message


# q1 ------------------------------------------------------------------------------------


def test_q1_reference_passes_and_equals_the_package():
    assert _run(ex.q1, ex.shape_dice_loss)[0]
    truth, prob = ex._q1_cases()
    package = ops.convert_to_numpy(DiceLoss(class_weights=[0, 1], reduction=None)(truth, prob.astype("float32")))
    np.testing.assert_allclose(ex.shape_dice_loss(truth, prob), package, atol=1e-5)


def test_q1_other_correct_answers_pass():
    def with_ops(y_true, y_prob, smooth=1.0):
        t = ops.cast(ops.equal(y_true, 1), "float32")
        p = ops.convert_to_tensor(y_prob, "float32")[..., 1]
        dice = (2 * ops.sum(t * p, axis=[1, 2]) + smooth) / (ops.sum(t, axis=[1, 2]) + ops.sum(p, axis=[1, 2]) + smooth)
        return ops.convert_to_numpy(1 - dice)

    def loop(y_true, y_prob, smooth=1.0):
        out = []
        for t, p in zip(y_true, y_prob):
            p = p[..., 1]
            out.append(1 - (2 * (p[t == 1]).sum() + smooth) / ((t == 1).sum() + p.sum() + smooth))
        return out

    assert _run(ex.q1, with_ops)[0]
    assert _run(ex.q1, loop)[0]


def test_q1_mistakes():
    def both(y_true, y_prob, smooth=1.0):
        return ex._both_classes(y_true, y_prob, smooth)

    def hard(y_true, y_prob, smooth=1.0):
        return ex.shape_dice_loss(y_true, np.eye(2)[np.asarray(y_prob).argmax(-1)], smooth)

    def pooled(y_true, y_prob, smooth=1.0):
        t, p = (np.asarray(y_true) == 1), np.asarray(y_prob)[..., 1]
        return 1 - (2 * (t * p).sum() + smooth) / (t.sum() + p.sum() + smooth)

    def no_smooth(y_true, y_prob, smooth=1.0):
        return ex.shape_dice_loss(y_true, y_prob, smooth=0.0)

    def background(y_true, y_prob, smooth=1.0):
        return ex.shape_dice_loss(1 - np.asarray(y_true), np.asarray(y_prob)[..., ::-1], smooth)

    for answer, words in (
        (both, "both classes"),
        (hard, "rounded"),
        (pooled, "one number"),
        (no_smooth, "smooth"),
        (background, "class 0"),
    ):
        passed, message = _run(ex.q1, answer)
        assert not passed and words in message, (answer.__name__, message)


# q2 ------------------------------------------------------------------------------------


def test_q2_reference_and_other_correct_answers_pass():
    def endpoint(image, mask, size, rng):
        h, w = mask.shape
        top, left = rng.integers(0, [h - size, w - size], endpoint=True)
        return image[top : top + size, left : left + size], mask[top : top + size, left : left + size]

    def stacked(image, mask, size, rng):
        both = np.concatenate([image, mask[..., None].astype(image.dtype)], axis=-1)
        top = int(rng.random() * (both.shape[0] - size + 1))
        left = int(rng.random() * (both.shape[1] - size + 1))
        crop = both[top : top + size, left : left + size]
        return crop[..., :-1], crop[..., -1].astype(mask.dtype)

    assert _run(ex.q2, ex.joint_random_crop)[0]
    assert _run(ex.q2, endpoint)[0]
    assert _run(ex.q2, stacked)[0]


def test_q2_mistakes():
    def two_draws(image, mask, size, rng):
        def cut(a):
            top, left = rng.integers(0, a.shape[0] - size + 1), rng.integers(0, a.shape[1] - size + 1)
            return a[top : top + size, left : left + size]

        return cut(image), cut(mask)

    def off_by_one(image, mask, size, rng):
        top, left = rng.integers(0, image.shape[0] - size), rng.integers(0, image.shape[1] - size)
        return image[top : top + size, left : left + size], mask[top : top + size, left : left + size]

    def swapped(image, mask, size, rng):
        top, left = rng.integers(0, image.shape[1] - size + 1), rng.integers(0, image.shape[0] - size + 1)
        return image[top : top + size, left : left + size], mask[top : top + size, left : left + size]

    passed, message = _run(ex.q2, two_draws)
    assert not passed and "two random draws" in message
    passed, message = _run(ex.q2, off_by_one)
    assert not passed and "off-by-one" in message
    passed, message = _run(ex.q2, swapped)
    assert not passed and "too far down" in message


# q3 ------------------------------------------------------------------------------------


def test_q3_reference_passes_and_matches_package_without_void():
    assert _run(ex.q3, ex.class_weights_from_mask)[0]
    _, mask, num_classes = ex._q3_cases()[2]  # no void: the package's weights
    np.testing.assert_allclose(ex.class_weights_from_mask(mask, num_classes), class_balance_weights(mask, num_classes))


def test_q3_other_correct_answers_pass():
    def loop(mask, num_classes, ignore_index=255):
        counts = [int((mask == c).sum()) for c in range(num_classes)]
        top = max(counts)
        return [top / n if n else 0.0 for n in counts]

    def masked_package(mask, num_classes, ignore_index=255):
        labels = mask[mask != ignore_index]
        return class_balance_weights(labels, num_classes)

    assert _run(ex.q3, loop)[0]
    assert _run(ex.q3, masked_package)[0]


def test_q3_mistakes():
    def void_counted(mask, num_classes, ignore_index=255):
        counts = np.bincount(mask.ravel().astype(int), minlength=num_classes).astype(float)
        weights = np.where(counts > 0, counts.max() / np.maximum(counts, 1), 0.0)
        return weights[:num_classes]

    def void_as_class(mask, num_classes, ignore_index=255):
        counts = np.bincount(mask.ravel().astype(int), minlength=num_classes).astype(float)
        return np.where(counts > 0, counts.max() / np.maximum(counts, 1), 0.0)

    def frequencies(mask, num_classes, ignore_index=255):
        labels = mask[mask != ignore_index]
        counts = np.bincount(labels, minlength=num_classes).astype(float)
        return counts / counts.sum()

    def inf_absent(mask, num_classes, ignore_index=255):
        labels = mask[mask != ignore_index]
        counts = np.bincount(labels, minlength=num_classes).astype(float)
        with np.errstate(divide="ignore"):
            return counts.max() / counts

    passed, message = _run(ex.q3, void_counted)
    assert not passed and "void pixels were counted" in message
    passed, message = _run(ex.q3, void_as_class)
    assert not passed and "one weight per class" in message
    passed, message = _run(ex.q3, frequencies)
    assert not passed and "frequencies" in message
    passed, message = _run(ex.q3, inf_absent)
    assert not passed and "absent" in message


# q4 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ex.Q4_CASES)
def test_q4_reference_equals_the_package_on_arrays(case):
    _, shape, total, clip = case
    side = int(np.sqrt(total))
    truth = np.zeros((1, side, side), "int32")
    truth.ravel()[:shape] = 1
    foreground = np.where(truth == 1, 1 - clip, clip).astype("float32")
    prob = np.stack([1 - foreground, foreground], -1)
    package = float(ops.convert_to_numpy(DiceLoss(class_weights=[0, 1])(truth, prob)))
    assert ex.clipped_perfect_dice_loss(shape, total, clip) == pytest.approx(package, abs=1e-4)


def test_q4_reference_and_other_correct_answers_pass():
    def with_arrays(shape_pixels, total_pixels, clip, smooth=1.0):
        truth = np.zeros(total_pixels)
        truth[:shape_pixels] = 1
        p = np.where(truth == 1, 1 - clip, clip)
        return 1 - (2 * (truth * p).sum() + smooth) / (truth.sum() + p.sum() + smooth)

    assert _run(ex.q4, ex.clipped_perfect_dice_loss)[0]
    assert _run(ex.q4, with_arrays)[0]


def test_q4_mistakes():
    def no_background(shape_pixels, total_pixels, clip, smooth=1.0):
        inter = (1 - clip) * shape_pixels
        return 1 - (2 * inter + smooth) / (shape_pixels + inter + smooth)

    def shape_at_one(shape_pixels, total_pixels, clip, smooth=1.0):
        mass = shape_pixels + clip * (total_pixels - shape_pixels)
        return 1 - (2 * shape_pixels + smooth) / (shape_pixels + mass + smooth)

    def no_smooth(shape_pixels, total_pixels, clip, smooth=1.0):
        return ex.clipped_perfect_dice_loss(shape_pixels, total_pixels, clip, smooth=0.0)

    passed, message = _run(ex.q4, no_background)
    assert not passed and "background" in message
    passed, message = _run(ex.q4, shape_at_one)
    assert not passed and "1 - clip" in message
    passed, message = _run(ex.q4, no_smooth)
    assert not passed and "smooth" in message

"""Exercises of notebook 07: the references pass, other correct answers pass, typical mistakes get their message."""

import numpy as np

from unet_course.data.weight_map import class_balance_weights
from unet_course.exercises import ex07 as ex


def _run(exercise, answer):
    verdict = exercise._run(answer)
    return verdict.passed, verdict.message


def test_q1_reference_passes_and_matches_package():
    assert _run(ex.q1, ex.class_weights_from_mask)[0]
    for _, mask, num_classes in ex._q1_cases():
        np.testing.assert_allclose(
            ex.class_weights_from_mask(mask, num_classes), class_balance_weights(mask, num_classes)
        )


def test_q1_hand_worked():
    mask = np.array([[0, 0, 0, 1]])
    np.testing.assert_allclose(ex.class_weights_from_mask(mask, 3), [1.0, 3.0, 0.0])


def test_q1_other_correct_answers_pass():
    def loop(mask, num_classes):
        counts = [int((mask == c).sum()) for c in range(num_classes)]
        top = max(counts)
        return [top / n if n else 0.0 for n in counts]

    def package(mask, num_classes):
        return class_balance_weights(mask, num_classes)

    assert _run(ex.q1, loop)[0]
    assert _run(ex.q1, package)[0]


def test_q1_mistakes():
    def frequencies(mask, num_classes):
        counts = np.bincount(mask.ravel(), minlength=num_classes).astype(float)
        return counts / counts.sum()

    def inf_absent(mask, num_classes):
        counts = np.bincount(mask.ravel(), minlength=num_classes).astype(float)
        with np.errstate(divide="ignore"):
            return counts.max() / counts

    def inverse_frequency(mask, num_classes):
        counts = np.bincount(mask.ravel(), minlength=num_classes).astype(float)
        return np.where(counts > 0, counts.sum() / np.maximum(counts, 1), 0)

    def no_minlength(mask, num_classes):
        counts = np.bincount(mask.ravel()).astype(float)
        return counts.max() / counts

    passed, message = _run(ex.q1, frequencies)
    assert not passed and "frequencies" in message
    passed, message = _run(ex.q1, inf_absent)
    assert not passed and "absent" in message
    passed, message = _run(ex.q1, inverse_frequency)
    assert not passed and "scale" in message
    passed, message = _run(ex.q1, no_minlength)
    assert not passed


def test_q2_reference_and_other_correct_answers_pass():
    def with_flip(image, mask, rng):
        flip = rng.integers(0, 2) == 1
        return (np.fliplr(image), np.fliplr(mask)) if flip else (image, mask)

    def stacked(image, mask, rng):
        both = np.concatenate([image, mask[..., None].astype(image.dtype)], axis=-1)
        if rng.random() < 0.5:
            both = both[:, ::-1]
        return both[..., :-1], both[..., -1].astype(mask.dtype)

    assert _run(ex.q2, ex.joint_flip)[0]
    assert _run(ex.q2, with_flip)[0]
    assert _run(ex.q2, stacked)[0]


def test_q2_mistakes():
    def two_draws(image, mask, rng):
        image = image[:, ::-1] if rng.random() < 0.5 else image
        mask = mask[:, ::-1] if rng.random() < 0.5 else mask
        return image, mask

    def upside_down(image, mask, rng):
        return (image[::-1], mask[::-1]) if rng.random() < 0.5 else (image, mask)

    def always(image, mask, rng):
        return image[:, ::-1], mask[:, ::-1]

    passed, message = _run(ex.q2, two_draws)
    assert not passed and "two random draws" in message
    passed, message = _run(ex.q2, upside_down)
    assert not passed and "upside down" in message
    passed, message = _run(ex.q2, always)
    assert not passed and "flipped 40 times" in message

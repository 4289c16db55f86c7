"""Exercises of notebook 07 (training): class weights from a mask, and a joint flip with one draw."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, call, exercise

NOTEBOOK = "07_training"


# --------------------------------------------------------------------------------------
# reference answers
# --------------------------------------------------------------------------------------


def class_weights_from_mask(mask, num_classes):
    """One weight per class, ``max_count / count``: the most frequent class gets 1, an absent class 0."""
    counts = np.bincount(np.asarray(mask).astype(np.int64).ravel(), minlength=num_classes)[:num_classes].astype(float)
    weights = np.zeros(num_classes)
    present = counts > 0
    weights[present] = counts.max() / counts[present]
    return weights


def joint_flip(image, mask, rng):
    """Flip ``image`` (H, W, C) and ``mask`` (H, W) left-right together, with probability 1/2 (one draw)."""
    if rng.random() < 0.5:
        return image[:, ::-1], mask[:, ::-1]
    return image, mask


# --------------------------------------------------------------------------------------
# q1: class weights
# --------------------------------------------------------------------------------------


def _q1_cases():
    rng = np.random.default_rng(7)
    rare = np.zeros((20, 20), np.uint8)
    rare[3:5, 3:5] = 1  # 4 of 400 pixels
    three = rng.choice(3, size=(10, 12), p=[0.6, 0.3, 0.1]).astype(np.uint8)
    absent = np.zeros((6, 6), np.uint8)
    absent[:2] = 2  # class 1 absent
    return [
        ("a 20x20 mask with one 2x2 object of class 1 (4 of 400 pixels)", rare, 2),
        ("a random 10x12 mask of classes 0, 1, 2", three, 3),
        ("a 6x6 mask where class 1 is absent (classes 0 and 2 only)", absent, 3),
    ]


@exercise(
    "q1",
    "class weights from a mask",
    notebook=NOTEBOOK,
    reference=class_weights_from_mask,
    hint="Count the pixels of each class (np.bincount with minlength), then divide the largest count by each count. "
    "A class with no pixel cannot be divided by: give it 0.",
)
def q1(answer):
    for label, mask, num_classes in _q1_cases():
        got = call(answer, mask.copy(), num_classes, describe=f"on {label}")
        try:
            got = np.asarray(got, dtype=float).ravel()
        except (TypeError, ValueError):
            raise Mistake(
                f"On {label} your function returned {type(got).__name__}; return one number per class."
            ) from None
        expected = class_weights_from_mask(mask, num_classes)
        if got.shape != expected.shape:
            raise Mistake(
                f"On {label} you returned {got.size} numbers; return one weight per class ({num_classes}), "
                "also for a class with no pixel (np.bincount(..., minlength=num_classes))."
            )
        if not np.all(np.isfinite(got)):
            raise Mistake(
                f"On {label} you returned {got.round(3).tolist()}: an infinite or NaN weight for an absent class "
                "(a division by a count of 0). Give absent classes the weight 0."
            )
        if np.allclose(got, expected, rtol=1e-6):
            continue
        counts = np.bincount(mask.ravel(), minlength=num_classes)[:num_classes].astype(float)
        if np.allclose(got, counts / counts.sum()) or np.allclose(got, counts / counts.max()):
            raise Mistake(
                f"On {label} you returned {got.round(3).tolist()}: the class frequencies, "
                "which make the common class count MORE. "
                "A weight must grow as the class gets rarer: largest count / count."
            )
        present = counts > 0
        if np.allclose(got[present] / got[present].max(), expected[present] / expected[present].max()):
            raise Mistake(
                f"On {label} your weights {got.round(3).tolist()} have the right ratios but another scale; "
                "the course's convention gives the most frequent class weight 1 (largest count / count), "
                "so the loss keeps its usual size."
            )
        raise Mistake(f"On {label} you returned {got.round(3).tolist()}, expected {expected.round(3).tolist()}.")
    return (
        "correct! On the one-object mask the object's pixels weigh 99 times a background pixel: the loss then "
        "counts both classes equally in total, which is what Dice does without weights."
    )


# --------------------------------------------------------------------------------------
# q2: joint flip
# --------------------------------------------------------------------------------------


def _q2_pair():
    rng = np.random.default_rng(3)
    image = rng.random((6, 8, 1)).astype(np.float32)
    mask = (image[..., 0] > 0.5).astype(np.uint8)  # the mask is computed from the image
    return image, mask


@exercise(
    "q2",
    "a flip that moves image and mask together",
    notebook=NOTEBOOK,
    reference=joint_flip,
    hint="Draw ONE random number per call (rng.random()), and use that one result to decide for both arrays. "
    "A left-right flip reverses the width axis: array[:, ::-1].",
)
def q2(answer):
    image, mask = _q2_pair()
    rng = np.random.default_rng(0)
    flipped = kept = 0
    for trial in range(40):
        out = call(answer, image.copy(), mask.copy(), rng, describe="on a 6x8 image and its mask")
        try:
            new_image, new_mask = (np.asarray(v) for v in out)
        except (TypeError, ValueError):
            raise Mistake("Return two arrays: (image, mask).") from None
        if new_image.shape != image.shape or new_mask.shape != mask.shape:
            raise Mistake(
                f"You returned shapes {new_image.shape} and {new_mask.shape}; "
                f"a flip keeps the shapes {image.shape} and {mask.shape}."
            )
        if np.array_equal(new_image, image[::-1]) or np.array_equal(new_mask, mask[::-1]):
            raise Mistake(
                "You flipped upside down (axis 0, the height). Flip left-right: the width axis, array[:, ::-1]."
            )
        aligned = np.array_equal(new_mask, (new_image[..., 0] > 0.5).astype(np.uint8))
        if not aligned:
            raise Mistake(
                f"On call {trial + 1} the image and the mask came out different ways (one flipped, the other not): "
                "two random draws, one per array. Draw once and apply the result to both."
            )
        if np.array_equal(new_image, image):
            kept += 1
        elif np.array_equal(new_image, image[:, ::-1]):
            flipped += 1
        else:
            raise Mistake("Your image is neither the original nor its left-right mirror.")
    if flipped == 0 or kept == 0:
        raise Mistake(
            f"In 40 calls you flipped {flipped} times and kept {kept} times; a random flip should do both "
            "(probability 1/2, with the rng you are given)."
        )
    return f"correct! In 40 calls image and mask stayed aligned every time ({flipped} flips, {kept} unchanged)."

"""Exercises of notebook 07 (training): the Dice loss of the rare class alone, a joint random crop,
class weights with a void label, the loss a clip leaves on a perfect prediction; and one
predict-before-you-run question (the Dice loss of "background everywhere")."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, Prediction, call, exercise

NOTEBOOK = "07_training"


# --------------------------------------------------------------------------------------
# reference answers
# --------------------------------------------------------------------------------------


def shape_dice_loss(y_true, y_prob, smooth=1.0):
    """Soft Dice loss of class 1 only, one value per image.

    ``y_true`` (N, H, W) holds 0/1; ``y_prob`` (N, H, W, 2) the softmax probabilities.
    ``1 - (2 * sum(t * p) + smooth) / (sum(t) + sum(p) + smooth)`` over each image's pixels.
    """
    t = (np.asarray(y_true) == 1).astype(float)
    p = np.asarray(y_prob, dtype=float)[..., 1]
    axes = tuple(range(1, t.ndim))
    return 1.0 - (2.0 * np.sum(t * p, axis=axes) + smooth) / (np.sum(t, axis=axes) + np.sum(p, axis=axes) + smooth)


def joint_random_crop(image, mask, size, rng):
    """A ``size`` x ``size`` crop of ``image`` (H, W, C) and ``mask`` (H, W) at ONE random corner.

    Every corner is possible: rows 0 .. H - size and columns 0 .. W - size, both ends included.
    """
    top = rng.integers(0, image.shape[0] - size + 1)
    left = rng.integers(0, image.shape[1] - size + 1)
    return image[top : top + size, left : left + size], mask[top : top + size, left : left + size]


def class_weights_from_mask(mask, num_classes, ignore_index=255):
    """One weight per class, ``largest class count / count``; void pixels (``ignore_index``) count nowhere.

    The most frequent class gets 1, a class absent from the mask 0.
    """
    labels = np.asarray(mask).astype(np.int64).ravel()
    labels = labels[labels != ignore_index]
    counts = np.bincount(labels, minlength=num_classes)[:num_classes].astype(float)
    weights = np.zeros(num_classes)
    present = counts > 0
    weights[present] = counts.max() / counts[present]
    return weights


def clipped_perfect_dice_loss(shape_pixels, total_pixels, clip, smooth=1.0):
    """Shape-only soft Dice loss of a perfect prediction clipped to [clip, 1 - clip].

    The shape's ``shape_pixels`` get ``1 - clip``, the other ``total_pixels - shape_pixels`` get ``clip``.
    """
    intersection = (1 - clip) * shape_pixels
    predicted = (1 - clip) * shape_pixels + clip * (total_pixels - shape_pixels)
    return 1.0 - (2 * intersection + smooth) / (shape_pixels + predicted + smooth)


# --------------------------------------------------------------------------------------
# p1: the Dice loss of "background everywhere"
# --------------------------------------------------------------------------------------


def _p1_explain(guess, actual):
    try:
        guess = float(guess)
    except (TypeError, ValueError):
        return "Give a number between 0 and 1."
    if guess > 0.75:
        return (
            "You expected a missed class to cost the whole Dice loss. The loss averages the Dice of BOTH "
            "classes, and background everywhere gets a background Dice close to 1: half of the loss is "
            "about 0 from the start, so a missed shape costs about 0.5."
        )
    if guess < 0.25:
        return (
            "That is how cross-entropy sees it (99% of the pixels are right). Dice scores each class's "
            "overlap: the shape's Dice is near 0 (nothing of it found), the background's near 1, and the "
            "loss is 1 minus their mean."
        )
    return None


p1 = Prediction(
    "p1",
    'the Dice loss (both classes) of the "background everywhere" prediction',
    notebook=NOTEBOOK,
    tolerance=0.1,
    explain=_p1_explain,
)


# --------------------------------------------------------------------------------------
# q1: the Dice loss of the shape class only
# --------------------------------------------------------------------------------------


def _q1_cases():
    rng = np.random.default_rng(1)
    truth = np.zeros((3, 16, 16), np.int64)
    truth[0, 4:8, 4:8] = 1  # a 16-pixel shape
    truth[1, 2:12, 3:9] = 1  # a 60-pixel shape; image 2 has no shape at all
    shape = np.clip(np.where(truth == 1, 0.8, 0.15) + rng.normal(0, 0.05, truth.shape), 0.001, 0.999)
    shape[2] = 0.001  # image 2: no shape, and (almost) none predicted
    prob = np.stack([1 - shape, shape], axis=-1)
    return truth, prob


def _both_classes(y_true, y_prob, smooth=1.0):
    t = np.stack([np.asarray(y_true) == 0, np.asarray(y_true) == 1], axis=-1).astype(float)
    p = np.asarray(y_prob, dtype=float)
    dice = (2 * np.sum(t * p, axis=(1, 2)) + smooth) / (np.sum(t, axis=(1, 2)) + np.sum(p, axis=(1, 2)) + smooth)
    return 1 - dice.mean(-1)


@exercise(
    "q1",
    "the Dice loss of the shape class alone",
    notebook=NOTEBOOK,
    reference=shape_dice_loss,
    hint=(
        "Only the shape's channel of the prediction and the shape's pixels of the truth take part; "
        "the probabilities are used as they are, not rounded.",
        "Sum the overlap and the two sizes over the pixels of each image (not over the batch), then apply "
        "the soft Dice formula of notebook 02 with smooth added to the top and the bottom.",
    ),
)
def q1(answer):
    truth, prob = _q1_cases()
    label = "3 images of 16x16 (a small shape, a larger one, and one with no shape)"
    got = call(answer, truth.copy(), prob.copy(), describe=f"on {label}")
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Mistake(f"You returned {type(got).__name__}; return one loss per image (an array of 3).") from None
    expected = shape_dice_loss(truth, prob)
    if got.size == 1:
        raise Mistake(
            f"You returned one number ({float(got.ravel()[0]):.3f}) for 3 images: sum over the pixels of each "
            "image (axes 1 and 2), not over the whole batch. The loss is one value per image."
        )
    got = got.ravel()
    if got.size != len(truth):
        raise Mistake(
            f"You returned {got.size} numbers for 3 images: one loss per image, for the shape class only "
            "(not one per class or per pixel)."
        )
    if np.allclose(got, expected, atol=1e-5):
        return (
            f"correct! Losses {np.round(got, 3).tolist()}: the haze of 0.15 on the background of the first image "
            "adds more predicted shape than the shape has pixels, and its loss stays high although every shape "
            "pixel was found."
        )
    if np.allclose(got, _both_classes(truth, prob), atol=1e-5):
        raise Mistake(
            "Your loss averages the Dice of both classes (DiceLoss's default): the background's Dice near 1 "
            "halves it. Keep only class 1: the truth == 1 and the probability channel 1."
        )
    hard = np.eye(2)[np.asarray(prob).argmax(-1)]
    if np.allclose(got, shape_dice_loss(truth, hard), atol=1e-5):
        raise Mistake(
            "You rounded the probabilities to 0/1 (argmax or a threshold). Soft Dice uses them as they are: "
            "that is what gives the loss a gradient, and what makes a haze of small probabilities count."
        )
    if np.allclose(got, shape_dice_loss(1 - truth, prob[..., ::-1]), atol=1e-5):
        raise Mistake("You scored class 0, the background. The shape is class 1: channel 1 of the prediction.")
    no_smooth = shape_dice_loss(truth, prob, smooth=0.0)
    if np.allclose(got[:2], no_smooth[:2], atol=1e-5) or np.allclose(got[:2], expected[:2], atol=1e-5):
        raise Mistake(
            f"Your losses {np.round(got, 3).tolist()} are right on the images with a shape but not on the image "
            f"without one (expected {expected[2]:.3f}): add smooth to the top and the bottom of the fraction, so "
            "that predicting (almost) nothing where there is nothing gets a low loss, not the worst one (1)."
        )
    raise Mistake(f"You returned {np.round(got, 3).tolist()}, expected {np.round(expected, 3).tolist()}.")


# --------------------------------------------------------------------------------------
# q2: a joint random crop
# --------------------------------------------------------------------------------------


def _q2_pair():
    image = np.arange(8 * 10, dtype=np.float32).reshape(8, 10, 1)  # every pixel tells where it is
    mask = (np.arange(8 * 10).reshape(8, 10) % 7).astype(np.uint8)
    return image, mask


@exercise(
    "q2",
    "a random crop that cuts image and mask at the same place",
    notebook=NOTEBOOK,
    reference=joint_random_crop,
    hint=(
        "One random corner per call, used for both arrays; and count how many corners fit along each axis.",
        "Along an axis of length L a crop of length s can start at 0, 1, ..., L - s: that is L - s + 1 "
        "positions. Check what upper bound rng.integers includes.",
    ),
)
def q2(answer):
    image, mask = _q2_pair()
    size = 6
    rows, cols = image.shape[0] - size + 1, image.shape[1] - size + 1
    rng = np.random.default_rng(0)
    seen = set()
    for trial in range(300):
        out = call(answer, image.copy(), mask.copy(), size, rng, describe="on an 8x10 image and its mask, size 6")
        try:
            crop_image, crop_mask = (np.asarray(v) for v in out)
        except (TypeError, ValueError):
            raise Mistake("Return two arrays: (image crop, mask crop).") from None
        if crop_image.shape != (size, size, 1) or crop_mask.shape != (size, size):
            raise Mistake(
                f"On call {trial + 1} your crops have shapes {crop_image.shape} and {crop_mask.shape}, expected "
                f"{(size, size, 1)} and {(size, size)}. A crop that comes out smaller started too far down or "
                "right: rows start at most at H - size, columns at most at W - size (H is axis 0, W axis 1)."
            )
        top, left = divmod(int(crop_image[0, 0, 0]), image.shape[1])
        if not np.array_equal(crop_image, image[top : top + size, left : left + size]):
            raise Mistake("Your image crop is not a contiguous block of the image (rows, then columns).")
        if not np.array_equal(crop_mask, mask[top : top + size, left : left + size]):
            raise Mistake(
                f"On call {trial + 1} the mask was cut at another place than the image: two random draws, one "
                "per array. Draw the corner once and cut both with it."
            )
        seen.add((top, left))
    tops, lefts = {t for t, _ in seen}, {c for _, c in seen}
    if max(tops) < rows - 1 or max(lefts) < cols - 1:
        raise Mistake(
            f"In 300 calls your crops started at rows {sorted(tops)} and columns {sorted(lefts)}; the last "
            f"possible start (row {rows - 1}, column {cols - 1}) never came: an off-by-one. rng.integers(low, high) "
            "never returns high: the bound is H - size + 1."
        )
    if len(seen) < rows * cols:
        raise Mistake(
            f"In 300 calls only {len(seen)} of the {rows * cols} possible corners came up: draw the row and "
            "the column independently, each uniformly."
        )
    return f"correct! Image and mask stayed aligned in 300 crops, and all {rows * cols} possible corners came up."


# --------------------------------------------------------------------------------------
# q3: class weights with a void label
# --------------------------------------------------------------------------------------


def _q3_cases():
    rng = np.random.default_rng(7)
    rare = np.full((20, 20), 255, np.uint8)  # mostly void: unlabelled
    rare[12:, :] = 0
    rare[3:5, 3:5] = 1  # 4 pixels of class 1
    three = rng.choice(3, size=(10, 12), p=[0.6, 0.3, 0.1]).astype(np.uint8)
    three[:2, :2] = 255
    absent = np.zeros((6, 6), np.uint8)
    absent[:2] = 2  # class 1 absent, no void
    return [
        ("a 20x20 mask: 236 void pixels (255), 160 of class 0, 4 of class 1", rare, 2),
        ("a random 10x12 mask of classes 0, 1, 2 with a 2x2 void corner", three, 3),
        ("a 6x6 mask where class 1 is absent (classes 0 and 2 only)", absent, 3),
    ]


@exercise(
    "q3",
    "class weights from a mask with void pixels",
    notebook=NOTEBOOK,
    reference=class_weights_from_mask,
    hint=(
        "The void pixels belong to no class: they must change neither the counts nor which count is the largest.",
        "Drop the void pixels first, then count each class (a count for every class, also one with no pixel) "
        "and use the notebook's convention for the weights.",
    ),
)
def q3(answer):
    for label, mask, num_classes in _q3_cases():
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
                f"On {label} you returned {got.size} numbers; return one weight per class ({num_classes}): "
                "no weight for the void label, and one for a class with no pixel."
            )
        if not np.all(np.isfinite(got)):
            raise Mistake(
                f"On {label} you returned {got.round(3).tolist()}: an infinite or NaN weight for an absent class "
                "(a division by a count of 0). Give absent classes the weight 0."
            )
        if np.allclose(got, expected, rtol=1e-6):
            continue
        labels = mask.ravel().astype(np.int64)
        counts = np.bincount(labels[labels != 255], minlength=num_classes)[:num_classes].astype(float)
        void = float(np.sum(labels == 255))
        with_void = np.where(counts > 0, max(counts.max(), void) / np.maximum(counts, 1), 0.0)
        if void and np.allclose(got, with_void):
            raise Mistake(
                f"On {label} you returned {got.round(3).tolist()}: the void pixels were counted as the largest "
                "class, so no real class gets the weight 1. Leave them out before counting."
            )
        if np.allclose(got, counts / counts.sum()) or np.allclose(got, counts / counts.max()):
            raise Mistake(
                f"On {label} you returned {got.round(3).tolist()}: the class frequencies, which make the common "
                "class count MORE. A weight must grow as the class gets rarer."
            )
        present = counts > 0
        if present.any() and np.allclose(
            got[present] / got[present].max(), expected[present] / expected[present].max()
        ):
            raise Mistake(
                f"On {label} your weights {got.round(3).tolist()} have the right ratios but another scale; the "
                "notebook's convention gives the most frequent class weight 1 (largest count / count)."
            )
        raise Mistake(f"On {label} you returned {got.round(3).tolist()}, expected {expected.round(3).tolist()}.")
    return (
        "correct! On the first mask the 4 pixels of class 1 weigh 40 times a pixel of class 0; counted as a "
        "class, the 236 void pixels would have changed nothing in the loss but every weight."
    )


# --------------------------------------------------------------------------------------
# q4: what the clip leaves on a perfect prediction
# --------------------------------------------------------------------------------------


Q4_CASES = (
    ("a 36-pixel shape in a 64x64 image, clip 0.02 (the notebook's)", 36, 64 * 64, 0.02),
    ("the same shape, clip 0.001", 36, 64 * 64, 0.001),
    ("the same shape in a 256x256 image, clip 0.02", 36, 256 * 256, 0.02),
    ("a 1,000-pixel shape in a 64x64 image, clip 0.02", 1000, 64 * 64, 0.02),
)


@exercise(
    "q4",
    "the shape-only Dice loss a clip leaves on a perfect prediction",
    notebook=NOTEBOOK,
    reference=clipped_perfect_dice_loss,
    hint=(
        "A clipped perfect prediction is 1 - clip on each shape pixel and clip on each other pixel: count "
        "the overlap and the predicted mass from that.",
        "Write the overlap (shape pixels x their probability) and the sum of all predicted probabilities, then "
        "the soft Dice with smooth, and 1 minus it.",
    ),
)
def q4(answer):
    results = []
    for label, shape, total, clip in Q4_CASES:
        got = call(answer, shape, total, clip, describe=f"for {label}")
        try:
            got = float(np.asarray(got, dtype=float).ravel()[0]) if np.size(got) == 1 else None
        except (TypeError, ValueError):
            got = None
        if got is None:
            raise Mistake(f"For {label} return one number, the loss.")
        expected = clipped_perfect_dice_loss(shape, total, clip)
        if abs(got - expected) < 1e-6:
            results.append((label, got))
            continue
        background = total - shape

        def dice_loss(inter, mass, smooth=1.0, shape=shape):
            return 1 - (2 * inter + smooth) / (shape + mass + smooth)

        if (
            abs(got - dice_loss((1 - clip) * shape, (1 - clip) * shape)) < 1e-6
            or abs(got - dice_loss(shape, shape)) < 1e-6
        ):
            raise Mistake(
                f"For {label} you returned {got:.4f}, which leaves out the clip on the {background:,} background "
                f"pixels: each holds {clip}, together {clip * background:.0f} pixels of predicted shape, more "
                "than many shapes have."
            )
        if abs(got - dice_loss(shape, shape + clip * background)) < 1e-6:
            raise Mistake(
                f"For {label} you returned {got:.4f}: the shape's pixels hold 1 - clip, not 1 (the clip works at "
                "both ends)."
            )
        if abs(got - dice_loss((1 - clip) * shape, (1 - clip) * shape + clip * background, smooth=0.0)) < 1e-6:
            raise Mistake(f"For {label} you returned {got:.4f}: you left out smooth (1.0) in the top and the bottom.")
        bg_dice = (2 * (1 - clip) * background + 1) / (2 * (1 - clip) * background + clip * shape + 1)
        both = 1 - ((1 - dice_loss((1 - clip) * shape, (1 - clip) * shape + clip * background)) + bg_dice) / 2
        if abs(got - both) < 1e-6:
            raise Mistake(
                f"For {label} you returned {got:.4f}, the Dice loss averaged with the background class; the "
                "question is the shape class alone."
            )
        raise Mistake(f"For {label} you returned {got:.4f}, expected {expected:.4f}.")
    first, big_image = results[0][1], results[2][1]
    return (
        f"correct! {first:.3f} at clip 0.02 in a 64x64 image, {big_image:.3f} in a 256x256 one: the clip's mass "
        "grows with the image and the soft Dice of a small shape with it, however right the prediction is."
    )

"""Exercises of notebook 08 (evaluation): per-image vs pooled IoU, a paired bootstrap interval
for the difference of two models' pooled IoU, a stripe detector next to the checkerboard metric,
and a threshold chosen on validation and scored once on held-out data; one predict-before-you-run
question (which decoder leaves the largest 2x2 phase spread)."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, Prediction, call, exercise
from unet_course.metrics import EMPTY_SCORE

NOTEBOOK = "08_evaluation"


# --------------------------------------------------------------------------------------
# q1: per-image mean and pooled IoU
# --------------------------------------------------------------------------------------


def _per_image(y_true, y_pred, empty=EMPTY_SCORE):
    a, b = np.asarray(y_true).astype(bool), np.asarray(y_pred).astype(bool)
    inter = (a & b).reshape(len(a), -1).sum(1)
    union = (a | b).reshape(len(a), -1).sum(1)
    return np.where(union == 0, empty, inter / np.maximum(union, 1)), inter, union


def iou_two_ways(y_true, y_pred):
    """``(per_image_mean, pooled)`` IoU of binary masks ``(N, H, W)``.

    The per-image mean averages each image's IoU (an image where both masks are empty scores
    ``EMPTY_SCORE``); the pooled IoU adds the intersections and the unions of all images first.
    """
    scores, inter, union = _per_image(y_true, y_pred)
    pooled = EMPTY_SCORE if union.sum() == 0 else float(inter.sum() / union.sum())
    return float(scores.mean()), pooled


def _q1_examples():
    big_true = np.zeros((16, 16), np.uint8)
    big_true[2:14, 2:14] = 1  # 144 pixels
    big_pred = np.zeros_like(big_true)
    big_pred[3:14, 2:14] = 1  # 132 of them: IoU 132/144
    small_true = np.zeros_like(big_true)
    small_true[5:7, 5:7] = 1  # 4 pixels
    small_pred = np.zeros_like(big_true)
    small_pred[6:8, 6:8] = 1  # 1 in common: IoU 1/7
    empty = np.zeros_like(big_true)
    rng = np.random.default_rng(8)
    noisy_true = (rng.random((3, 10, 12)) < 0.3).astype(np.uint8)
    noisy_pred = np.where(rng.random((3, 10, 12)) < 0.8, noisy_true, 1 - noisy_true).astype(np.uint8)
    return [
        (
            "a big object well found and a small one mostly missed",
            np.stack([big_true, small_true]),
            np.stack([big_pred, small_pred]),
        ),
        (
            "the same two images and a third where both masks are empty",
            np.stack([big_true, small_true, empty]),
            np.stack([big_pred, small_pred, empty]),
        ),
        ("three random 10x12 masks with 20% of the pixels flipped", noisy_true, noisy_pred),
    ]


def _two_numbers(got, label):
    try:
        values = [float(np.asarray(v).reshape(())) for v in got]
    except (TypeError, ValueError):
        raise Mistake(
            f"On {label} your function returned {got!r:.80}; return two numbers: (per_image_mean, pooled)."
        ) from None
    if len(values) != 2:
        raise Mistake(f"On {label} your function returned {len(values)} values; return two: (per_image_mean, pooled).")
    return values


@exercise(
    "q1",
    "per-image and pooled IoU",
    notebook=NOTEBOOK,
    reference=iou_two_ways,
    hint="Per image: intersection / union of that image, then the mean of those N numbers (an image with an empty "
    "union scores 1.0). Pooled: add up the N intersections and the N unions, then divide once.",
)
def q1(answer):
    for label, y_true, y_pred in _q1_examples():
        per_image, pooled = iou_two_ways(y_true, y_pred)
        with np.errstate(all="ignore"):
            got = _two_numbers(call(answer, y_true.copy(), y_pred.copy(), describe=f"on {label}"), label)
        if np.allclose(got, [per_image, pooled]):
            continue
        g_per, g_pool = got
        scores, inter, union = _per_image(y_true, y_pred)
        kept = scores[union > 0]
        if np.allclose(got, [pooled, per_image]):
            raise Mistake(
                f"On {label} you returned ({g_per:.4f}, {g_pool:.4f}): the two numbers in the wrong order. "
                f"Return (per_image_mean, pooled) = ({per_image:.4f}, {pooled:.4f})."
            )
        if np.isnan(g_per) or np.isnan(g_pool):
            raise Mistake(
                f"On {label} you returned NaN: an image whose two masks are empty gives 0/0. "
                f"Such an image scores {EMPTY_SCORE} in this course (see 02_metrics)."
            )
        if np.isclose(g_per, kept.mean()) and len(kept) < len(scores):
            raise Mistake(
                f"On {label} your per-image mean {g_per:.4f} skips the image where both masks are empty. "
                f"It counts, with the score {EMPTY_SCORE} (nothing to find, nothing found): {per_image:.4f}."
            )
        if np.isclose(g_per, np.where(union == 0, 0.0, scores).mean()) and len(kept) < len(scores):
            raise Mistake(
                f"On {label} your per-image mean {g_per:.4f} scores the empty image 0. "
                f"The course's convention gives it {EMPTY_SCORE}: {per_image:.4f}."
            )
        if np.isclose(g_pool, g_per) and np.isclose(g_per, per_image):
            raise Mistake(
                f"On {label} both of your numbers are the per-image mean ({per_image:.4f}). "
                f"Pooling adds the intersections ({inter.sum()}) and the unions ({union.sum()}) of all images "
                f"before dividing: {pooled:.4f}."
            )
        if np.isclose(g_pool, g_per) and np.isclose(g_per, pooled):
            raise Mistake(
                f"On {label} both of your numbers are the pooled IoU ({pooled:.4f}). The per-image mean divides "
                f"image by image, then averages: {per_image:.4f}."
            )
        accuracy = float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))
        if np.isclose(g_pool, accuracy) and not np.isclose(pooled, accuracy):
            raise Mistake(
                f"On {label} your pooled value {g_pool:.4f} is the pixel accuracy. Count foreground pixels only: "
                "intersection over union."
            )
        which = "per-image mean" if not np.isclose(g_per, per_image) else "pooled IoU"
        expected = per_image if which == "per-image mean" else pooled
        wrong = g_per if which == "per-image mean" else g_pool
        raise Mistake(f"On {label} your {which} is {wrong:.4f}, expected {expected:.4f}.")
    return (
        "correct! On the first example the per-image mean is far below the pooled IoU: one small object "
        "missed counts as much as a big one found."
    )


# --------------------------------------------------------------------------------------
# q2: paired bootstrap of a pooled-IoU difference
# --------------------------------------------------------------------------------------


def pooled_difference_ci(inter_a, union_a, inter_b, union_b, n_resamples=5000, confidence=0.95, seed=0):
    """Paired percentile bootstrap interval ``(low, high)`` of ``pooled IoU of A - pooled IoU of B``.

    The arguments are per-image intersection and union counts of the two models on the same
    images. Each resample draws the images with replacement, the same images for both models,
    and recomputes both pooled IoUs from the summed counts.
    """
    inter_a, union_a, inter_b, union_b = (np.asarray(v, dtype=float) for v in (inter_a, union_a, inter_b, union_b))
    rng = np.random.default_rng(seed)
    n = len(inter_a)
    rows = rng.integers(0, n, size=(n_resamples, n))
    diffs = inter_a[rows].sum(1) / union_a[rows].sum(1) - inter_b[rows].sum(1) / union_b[rows].sum(1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    return float(low), float(high)


def q2_data():
    """Per-image counts of two models on 24 images of very different sizes (public, for the tests)."""
    rng = np.random.default_rng(2015)
    union_a = rng.integers(200, 20_000, size=24).astype(float)
    quality = rng.uniform(0.5, 0.9, size=24)  # how hard each image is: shared by both models
    big = union_a > np.median(union_a)
    iou_a = np.clip(quality + np.where(big, 0.03, -0.02) + rng.normal(0, 0.01, 24), 0.05, 0.99)
    iou_b = np.clip(quality + rng.normal(0, 0.01, 24), 0.05, 0.99)
    union_b = union_a * rng.uniform(0.97, 1.03, 24)
    return np.round(iou_a * union_a), union_a, np.round(iou_b * union_b), np.round(union_b)


def _interval(got, label):
    try:
        values = [float(np.asarray(v).reshape(())) for v in got]
    except (TypeError, ValueError):
        raise Mistake(f"On {label} your function returned {got!r:.80}; return two numbers: (low, high).") from None
    if len(values) != 2:
        raise Mistake(f"On {label} your function returned {len(values)} values; return (low, high).")
    return values


def _unpaired(inter_a, union_a, inter_b, union_b, n_resamples=5000, seed=0):
    rng = np.random.default_rng(seed + 1)
    n = len(inter_a)
    ra, rb = rng.integers(0, n, size=(2, n_resamples, n))
    diffs = inter_a[ra].sum(1) / union_a[ra].sum(1) - inter_b[rb].sum(1) / union_b[rb].sum(1)
    return np.quantile(diffs, [0.025, 0.975])


def _per_image_mean_ci(inter_a, union_a, inter_b, union_b, n_resamples=5000, seed=0):
    rng = np.random.default_rng(seed + 2)
    d = inter_a / union_a - inter_b / union_b
    rows = rng.integers(0, len(d), size=(n_resamples, len(d)))
    return np.quantile(d[rows].mean(1), [0.025, 0.975])


@exercise(
    "q2",
    "paired bootstrap of a pooled IoU difference",
    notebook=NOTEBOOK,
    reference=pooled_difference_ci,
    hint="In each resample draw n image indices with replacement (rng.integers(0, n, n)), use the SAME indices for "
    "both models, and compute each model's pooled IoU from the summed intersections and unions of those images. "
    "The interval is the 2.5% and 97.5% quantiles of the resampled differences.",
)
def q2(answer):
    counts = q2_data()
    inter_a, union_a, inter_b, union_b = counts
    label = "24 images of very different sizes (ex.q2_data())"
    got = _interval(
        call(answer, *[c.copy() for c in counts], n_resamples=5000, confidence=0.95, seed=0, describe=f"on {label}"),
        label,
    )
    low, high = got
    ref_low, ref_high = pooled_difference_ci(*counts)
    width, ref_width = high - low, ref_high - ref_low
    observed = inter_a.sum() / union_a.sum() - inter_b.sum() / union_b.sum()
    tolerance = 0.08 * ref_width
    if abs(low - ref_low) <= tolerance and abs(high - ref_high) <= tolerance:
        m_low, m_high = _per_image_mean_ci(*counts)
        return (
            f"correct! The interval ({low:+.4f}, {high:+.4f}) excludes 0: A's pooled IoU is higher. On the "
            f"per-image mean the interval is about ({m_low:+.4f}, {m_high:+.4f}): A gains on the big images, "
            "which weigh more in the pooled score."
        )
    if low > high:
        raise Mistake(f"Your interval ({low:+.4f}, {high:+.4f}) has low > high. Return (low, high).")
    if np.isclose(width, 0, atol=1e-12):
        raise Mistake(
            f"Your interval ({low:+.4f}, {high:+.4f}) has no width: every resample gave the same difference. "
            "Draw the images WITH replacement (rng.integers(0, n, n), or rng.choice(n, n, replace=True)); "
            "a permutation of all the images has the same sums."
        )
    if abs(-high - ref_low) <= tolerance and abs(-low - ref_high) <= tolerance:
        raise Mistake(
            f"Your interval ({low:+.4f}, {high:+.4f}) is the reference's with the sign flipped: compute "
            "pooled IoU of A minus pooled IoU of B."
        )
    m_low, m_high = _per_image_mean_ci(*counts)
    if abs(low - m_low) <= 0.15 * (m_high - m_low) and abs(high - m_high) <= 0.15 * (m_high - m_low):
        raise Mistake(
            f"Your interval ({low:+.4f}, {high:+.4f}) is the one of the per-image mean difference (about "
            f"({m_low:+.4f}, {m_high:+.4f})). The question is about the pooled IoU: in each resample add up "
            "the chosen images' intersections and unions for each model, then divide."
        )
    u_low, u_high = _unpaired(*counts)
    if width > 2 * ref_width and abs(width - (u_high - u_low)) < 0.4 * (u_high - u_low):
        raise Mistake(
            f"Your interval ({low:+.4f}, {high:+.4f}) is about {width / ref_width:.0f} times too wide, as when "
            "A's and B's images are drawn independently. Pair them: the same resampled images for both "
            "models, so that how hard an image is cancels out in the difference."
        )
    if width > 2 * ref_width:
        raise Mistake(
            f"Your interval ({low:+.4f}, {high:+.4f}) is {width / ref_width:.1f} times too wide. Take the "
            "quantiles of the resampled differences of pooled IoU (one number per resample), not of "
            "per-image differences."
        )
    if not low <= observed <= high:
        raise Mistake(
            f"Your interval ({low:+.4f}, {high:+.4f}) does not contain the observed difference "
            f"{observed:+.4f} of the pooled IoUs. Resample the images, keep the pooled formula."
        )
    if width < ref_width:
        raise Mistake(
            f"Your interval ({low:+.4f}, {high:+.4f}) is narrower than a 95% interval (width "
            f"{width:.4f} instead of about {ref_width:.4f}). Use the quantiles (1 - confidence) / 2 and "
            "1 - (1 - confidence) / 2 of the differences, e.g. 0.025 and 0.975."
        )
    raise Mistake(
        f"Your interval ({low:+.4f}, {high:+.4f}) differs from the expected one, about "
        f"({ref_low:+.4f}, {ref_high:+.4f})."
    )


# --------------------------------------------------------------------------------------
# p1: which decoder leaves the largest 2x2 phase spread?
# --------------------------------------------------------------------------------------

UPSAMPLERS = ("transpose", "bilinear", "nearest")
_WHY = {
    "transpose": "a stride-2 transposed convolution gives each of the 4 output phases its own kernel entries, "
    "so the phases can differ from the first step on; training evens them out only slowly",
    "bilinear": "bilinear interpolation weights the 4 phases differently from the input grid; here that "
    "left the largest spread (training had not removed it)",
    "nearest": "nearest copies each pixel into a 2x2 block; here the convolution after it did not smooth "
    "the blocks away",
}


def _p1_explain(guess, actual):
    if actual not in _WHY:
        return None
    return f"The largest 2x2 phase spread came from {actual}: {_WHY[actual]}."


p1 = Prediction(
    "p1",
    "which decoder's trained outputs have the largest 2x2 phase spread",
    notebook=NOTEBOOK,
    explain=_p1_explain,
    choices=UPSAMPLERS,
)


# --------------------------------------------------------------------------------------
# q3: the phase spread of the rows only (a stripe detector)
# --------------------------------------------------------------------------------------


def row_phase_spread(probability, period=2):
    """Max - min over ``r`` in ``0 .. period - 1`` of the mean of the rows ``r, r + period, ...`` of (N, H, W) maps."""
    p = np.asarray(probability, dtype=np.float64)
    means = [p[:, r::period, :].mean() for r in range(period)]
    return float(max(means) - min(means))


def _q3_maps():
    rows, cols = np.indices((12, 12))
    rng = np.random.default_rng(3)
    stripes = (0.4 + 0.2 * (rows % 2))[None] + rng.normal(0, 0.01, (2, 12, 12))  # brighter odd rows
    board = (0.4 + 0.2 * ((rows + cols) % 2))[None].repeat(2, 0)  # a 2x2 checkerboard
    period3 = (0.3 + 0.3 * (rows % 3 == 2))[None].repeat(2, 0)  # every third row brighter
    columns = (0.4 + 0.2 * (cols % 2))[None].repeat(2, 0)  # vertical stripes
    return [
        ("2 maps with brighter odd rows (horizontal stripes), period 2", stripes, 2),
        ("a 2x2 checkerboard, period 2", board, 2),
        ("every third row brighter, period 3", period3, 3),
        ("vertical stripes (brighter odd columns), period 2", columns, 2),
    ]


@exercise(
    "q3",
    "the phase spread of the rows only: a stripe detector",
    notebook=NOTEBOOK,
    reference=row_phase_spread,
    hint=(
        "The lesson's phases are (row % period, column % period); here only row % period matters, so each "
        "phase is a set of whole rows.",
        "Average every map's rows r, r + period, r + 2 period, ... for each r, over all N maps, then take the "
        "largest minus the smallest of those period means.",
    ),
)
def q3(answer):
    results = {}
    for label, maps, period in _q3_maps():
        got = call(answer, maps.copy(), period, describe=f"on {label}")
        try:
            got = float(np.asarray(got, dtype=float).reshape(()))
        except (TypeError, ValueError):
            raise Mistake(f"On {label} return one number (the spread), got {got!r:.60}.") from None
        expected = row_phase_spread(maps, period)
        results[label] = got
        if abs(got - expected) < 1e-9:
            continue
        columns = np.asarray(maps)
        by_columns = float(np.ptp([columns[:, :, c::period].mean() for c in range(period)]))
        both = np.array([[columns[:, a::period, b::period].mean() for b in range(period)] for a in range(period)])
        if abs(got - by_columns) < 1e-9:
            raise Mistake(
                f"On {label} you returned {got:.4f}: the spread of the COLUMN phases (axis 2). A row is a "
                "position along axis 1: p[:, r::period, :]."
            )
        if abs(got - float(both.max() - both.min())) < 1e-9:
            raise Mistake(
                f"On {label} you returned {got:.4f}, the 2-D phase spread of the lesson (rows and columns). Here "
                "only the row phase counts: average whole rows."
            )
        if abs(got - float(np.std([columns[:, r::period].mean() for r in range(period)]))) < 1e-9:
            raise Mistake(
                f"On {label} you returned {got:.4f}, a standard deviation: return max - min of the phase means."
            )
        raise Mistake(f"On {label} you returned {got:.4f}, expected {expected:.4f}.")
    board = results["a 2x2 checkerboard, period 2"]
    return (
        f"correct! Stripes give {results[next(iter(results))]:.3f}, the checkerboard {board:.3f}: every row of "
        "a checkerboard holds both colours, so a row-only metric cannot see it. That is why the lesson's metric "
        "uses the 2-D phases (row and column)."
    )


# --------------------------------------------------------------------------------------
# q4: a threshold chosen on validation, scored once on held-out data
# --------------------------------------------------------------------------------------


def _iou_at(truth, probability, threshold):
    predicted = np.asarray(probability) > threshold
    truth = np.asarray(truth).astype(bool)
    union = np.sum(predicted | truth)
    return float(np.sum(predicted & truth) / union) if union else EMPTY_SCORE


def choose_and_score(val_true, val_probability, test_true, test_probability, thresholds):
    """(threshold, held-out IoU): the threshold with the best validation IoU (pooled; first on ties),
    and the IoU it gives on the held-out pixels (a pixel is foreground when its probability exceeds it)."""
    scores = [_iou_at(val_true, val_probability, t) for t in thresholds]
    best = float(thresholds[int(np.argmax(scores))])
    return best, _iou_at(test_true, test_probability, best)


def q4_data():
    """Validation and held-out maps whose best thresholds differ (public, for the tests)."""
    rng = np.random.default_rng(12)
    val_true = rng.random((3, 24, 24)) < 0.25
    test_true = rng.random((3, 24, 24)) < 0.25
    val_prob = np.clip(np.where(val_true, 0.55, 0.25) + rng.normal(0, 0.12, val_true.shape), 0, 1)
    test_prob = np.clip(np.where(test_true, 0.45, 0.15) + rng.normal(0, 0.12, test_true.shape), 0, 1)
    return val_true, val_prob, test_true, test_prob, [round(0.05 * k, 2) for k in range(1, 20)]


@exercise(
    "q4",
    "a threshold chosen on validation, scored once on held-out data",
    notebook=NOTEBOOK,
    reference=choose_and_score,
    hint=(
        "Two roles, two data sets: one set decides, the other only reports what the decision gives.",
        "Score every threshold on the validation pixels only (IoU, pooled), keep the best, then compute one "
        "IoU on the held-out pixels at that threshold.",
    ),
)
def q4(answer):
    data = q4_data()
    val_true, val_prob, test_true, test_prob, thresholds = data
    got = call(answer, *[np.copy(d) for d in data[:4]], list(thresholds), describe="on ex.q4_data()")
    try:
        threshold, score = (float(np.asarray(v).reshape(())) for v in got)
    except (TypeError, ValueError):
        raise Mistake("Return two numbers: (the chosen threshold, its held-out IoU).") from None
    expected = choose_and_score(*data)
    on_test = choose_and_score(test_true, test_prob, test_true, test_prob, thresholds)
    val_iou = _iou_at(val_true, val_prob, expected[0])
    if np.allclose((threshold, score), expected):
        return (
            f"correct! Chosen on validation: {expected[0]:.2f}, held-out IoU {expected[1]:.3f}. Chosen on the "
            f"held-out pixels themselves it would be {on_test[0]:.2f} and {on_test[1]:.3f}: a score that flatters "
            "because the data that report it also chose it."
        )
    if np.isclose(threshold, on_test[0]) and not np.isclose(threshold, expected[0]):
        raise Mistake(
            f"You chose {threshold:.2f}, the best threshold on the HELD-OUT pixels. Choose on the validation "
            "pixels; the held-out ones only score the choice, once."
        )
    if np.isclose(threshold, expected[0]) and np.isclose(score, val_iou):
        raise Mistake(
            f"Your threshold {threshold:.2f} is right, but {score:.3f} is its VALIDATION IoU. Report the "
            "held-out IoU at that threshold: the validation score was used to choose, so it is optimistic."
        )
    if np.isclose(threshold, expected[0]):
        raise Mistake(
            f"Your threshold {threshold:.2f} is right; its held-out IoU is {expected[1]:.3f}, you gave {score:.3f}."
        )
    raise Mistake(
        f"You chose {threshold:.2f}; the best validation IoU is at {expected[0]:.2f}. Score each threshold by "
        "the IoU pooled over all validation pixels."
    )

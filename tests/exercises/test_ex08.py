"""Exercises of notebook 08: the references pass, other correct answers pass, typical mistakes get their message."""

import numpy as np
import pytest

from unet_course.exercises import ex08 as ex


def _run(exercise, answer):
    verdict = exercise._run(answer)
    return verdict.passed, verdict.message


# --------------------------------------------------------------------------------------
# q1: per-image and pooled IoU
# --------------------------------------------------------------------------------------


def test_q1_reference_passes():
    passed, message = _run(ex.q1, ex.iou_two_ways)
    assert passed, message


def test_q1_hand_worked_example():
    # image 1: IoU 132/144; image 2: IoU 1/7; pooled (132 + 1) / (144 + 7)
    _, y_true, y_pred = ex._q1_examples()[0]
    per_image, pooled = ex.iou_two_ways(y_true, y_pred)
    assert per_image == pytest.approx((132 / 144 + 1 / 7) / 2)
    assert pooled == pytest.approx(133 / 151)


def test_q1_loop_solution_passes():
    def loop(y_true, y_pred):
        scores, inter_total, union_total = [], 0, 0
        for t, p in zip(y_true, y_pred):
            t, p = t > 0, p > 0
            inter, union = int((t & p).sum()), int((t | p).sum())
            scores.append(1.0 if union == 0 else inter / union)
            inter_total, union_total = inter_total + inter, union_total + union
        return sum(scores) / len(scores), inter_total / union_total

    passed, message = _run(ex.q1, loop)
    assert passed, message


def test_q1_package_solution_passes():
    from unet_course.evaluation import evaluate_predictions

    def with_package(y_true, y_pred):
        report = evaluate_predictions(y_true, y_pred, 2, class_names=["bg", "fg"])
        scores = [row["iou"]["fg"] for row in report["per_image"]]  # None: class absent from both masks
        return np.mean([1.0 if s is None else s for s in scores]), report["per_class_iou"]["fg"]

    passed, message = _run(ex.q1, with_package)
    assert passed, message


def _pooled(t, p):
    t, p = np.asarray(t, bool), np.asarray(p, bool)
    return (t & p).sum() / (t | p).sum()


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda t, p: ex.iou_two_ways(t, p)[::-1], "wrong order"),
        (lambda t, p: (ex.iou_two_ways(t, p)[0],) * 2, "both of your numbers are the per-image mean"),
        (lambda t, p: (_pooled(t, p),) * 2, "both of your numbers are the pooled IoU"),
        (
            lambda t, p: (
                np.nanmean([(a & b).sum() / (a | b).sum() for a, b in zip(np.asarray(t, bool), np.asarray(p, bool))]),
                _pooled(t, p),
            ),
            "skips the image",
        ),
        (
            lambda t, p: (
                np.mean(
                    [(a & b).sum() / max((a | b).sum(), 1) for a, b in zip(np.asarray(t, bool), np.asarray(p, bool))]
                ),
                _pooled(t, p),
            ),
            "scores the empty image 0",
        ),
        (lambda t, p: (ex.iou_two_ways(t, p)[0], np.mean(np.asarray(t) == np.asarray(p))), "pixel accuracy"),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    with np.errstate(all="ignore"):
        passed, message = _run(ex.q1, answer)
    assert not passed
    assert phrase in message, message


# --------------------------------------------------------------------------------------
# q2: paired bootstrap of a pooled IoU difference
# --------------------------------------------------------------------------------------


def test_q2_reference_passes_and_excludes_zero():
    passed, message = _run(ex.q2, ex.pooled_difference_ci)
    assert passed, message
    low, high = ex.pooled_difference_ci(*ex.q2_data())
    ia, ua, ib, ub = ex.q2_data()
    assert low < ia.sum() / ua.sum() - ib.sum() / ub.sum() < high and low > 0


def test_q2_reference_interval_vs_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    ia, ua, ib, ub = ex.q2_data()
    statistic = lambda i, j, k, m: i.sum() / j.sum() - k.sum() / m.sum()  # noqa: E731
    res = scipy_stats.bootstrap(
        (ia, ua, ib, ub),
        statistic,
        paired=True,
        vectorized=False,
        n_resamples=5000,
        method="percentile",
        random_state=np.random.default_rng(1),
    )
    low, high = ex.pooled_difference_ci(ia, ua, ib, ub)
    width = high - low
    assert abs(res.confidence_interval.low - low) < 0.08 * width
    assert abs(res.confidence_interval.high - high) < 0.08 * width


def test_q2_loop_solution_with_choice_passes():
    def loop(inter_a, union_a, inter_b, union_b, n_resamples=5000, confidence=0.95, seed=0):
        rng = np.random.default_rng(seed + 7)
        n = len(inter_a)
        diffs = []
        for _ in range(n_resamples):
            idx = rng.choice(n, size=n, replace=True)
            diffs.append(np.sum(inter_a[idx]) / np.sum(union_a[idx]) - np.sum(inter_b[idx]) / np.sum(union_b[idx]))
        return tuple(np.percentile(diffs, [50 * (1 - confidence), 100 - 50 * (1 - confidence)]))

    passed, message = _run(ex.q2, loop)
    assert passed, message


def _mistake(kind):
    def answer(inter_a, union_a, inter_b, union_b, n_resamples=5000, confidence=0.95, seed=0):
        rng = np.random.default_rng(seed)
        n = len(inter_a)
        rows = rng.integers(0, n, size=(n_resamples, n))
        other = rng.integers(0, n, size=(n_resamples, n)) if kind == "unpaired" else rows
        if kind == "no_replacement":
            rows = other = np.array([rng.permutation(n) for _ in range(n_resamples)])
        if kind == "per_image":
            d = inter_a / union_a - inter_b / union_b
            diffs = d[rows].mean(1)
        else:
            diffs = inter_a[rows].sum(1) / union_a[rows].sum(1) - inter_b[other].sum(1) / union_b[other].sum(1)
        if kind == "flipped":
            diffs = -diffs
        q = (0.05, 0.95) if kind == "ninety" else (0.025, 0.975)
        return tuple(np.quantile(diffs, q))

    return answer


@pytest.mark.parametrize(
    "kind, phrase",
    [
        ("unpaired", "drawn independently"),
        ("no_replacement", "WITH replacement"),
        ("per_image", "per-image mean difference"),
        ("flipped", "sign flipped"),
        ("ninety", "narrower than a 95% interval"),
    ],
)
def test_q2_typical_mistakes(kind, phrase):
    passed, message = _run(ex.q2, _mistake(kind))
    assert not passed
    assert phrase in message, message

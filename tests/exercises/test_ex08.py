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


# p1 ------------------------------------------------------------------------------------


def test_p1_right_and_wrong_guesses():
    ex.p1._guess = "transpose"
    assert ex.p1.verdict("transpose").passed
    ex.p1._guess = "bilinear"
    verdict = ex.p1.verdict("transpose")
    assert not verdict.passed and "own kernel entries" in verdict.message
    ex.p1._guess = "transpose"
    verdict = ex.p1.verdict("nearest")
    assert not verdict.passed and "2x2 block" in verdict.message


def test_p1_refuses_an_answer_outside_the_choices(capsys):
    ex.p1._guess = "transpose"
    ex.p1.predict("bicubic")
    assert "one of" in capsys.readouterr().out
    assert ex.p1._guess == "transpose"


# q3 ------------------------------------------------------------------------------------


def test_q3_reference_and_other_correct_answers_pass():
    def loop(probability, period=2):
        p = np.asarray(probability, dtype=float)
        means = []
        for r in range(period):
            rows = [p[:, i, :] for i in range(r, p.shape[1], period)]
            means.append(np.mean(rows))
        return max(means) - min(means)

    def by_index(probability, period=2):
        p = np.asarray(probability, dtype=float)
        phase = np.arange(p.shape[1]) % period
        means = np.array([p[:, phase == r].mean() for r in range(period)])
        return np.ptp(means)

    assert _run(ex.q3, ex.row_phase_spread)[0]
    assert _run(ex.q3, loop)[0]
    assert _run(ex.q3, by_index)[0]


def test_q3_mistakes():
    def columns(probability, period=2):
        p = np.asarray(probability, dtype=float)
        means = [p[:, :, c::period].mean() for c in range(period)]
        return max(means) - min(means)

    def lesson(probability, period=2):
        p = np.asarray(probability, dtype=float)
        m = np.array([[p[:, a::period, b::period].mean() for b in range(period)] for a in range(period)])
        return m.max() - m.min()

    def spread_as_std(probability, period=2):
        p = np.asarray(probability, dtype=float)
        return float(np.std([p[:, r::period].mean() for r in range(period)]))

    for answer, words in ((columns, "COLUMN"), (lesson, "2-D phase spread"), (spread_as_std, "standard deviation")):
        passed, message = _run(ex.q3, answer)
        assert not passed and words in message, (answer.__name__, message)


# q4 ------------------------------------------------------------------------------------


def _iou(truth, probability, threshold):
    predicted = probability > threshold
    return np.sum(predicted & truth) / max(np.sum(predicted | truth), 1)


def test_q4_reference_and_other_correct_answers_pass():
    def with_sweep(val_true, val_probability, test_true, test_probability, thresholds):
        from unet_course.evaluation import threshold_sweep

        sweep = threshold_sweep(val_true.astype(int), val_probability, thresholds=thresholds)
        best = thresholds[int(np.argmax(sweep["iou"]))]
        return best, threshold_sweep(test_true.astype(int), test_probability, thresholds=[best])["iou"][0]

    def loop(val_true, val_probability, test_true, test_probability, thresholds):
        best, best_score = None, -1
        for t in thresholds:
            score = _iou(val_true, val_probability, t)
            if score > best_score:
                best, best_score = t, score
        return best, _iou(test_true, test_probability, best)

    assert _run(ex.q4, ex.choose_and_score)[0]
    assert _run(ex.q4, with_sweep)[0]
    assert _run(ex.q4, loop)[0]


def test_q4_mistakes():
    def on_test(val_true, val_probability, test_true, test_probability, thresholds):
        best = max(thresholds, key=lambda t: _iou(test_true, test_probability, t))
        return best, _iou(test_true, test_probability, best)

    def validation_score(val_true, val_probability, test_true, test_probability, thresholds):
        best = max(thresholds, key=lambda t: _iou(val_true, val_probability, t))
        return best, _iou(val_true, val_probability, best)

    for answer, words in ((on_test, "HELD-OUT"), (validation_score, "VALIDATION IoU")):
        passed, message = _run(ex.q4, answer)
        assert not passed and words in message, (answer.__name__, message)

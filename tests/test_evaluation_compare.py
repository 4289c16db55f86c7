"""The course's comparison rule (unet_course.evaluation.compare), checked against scipy and by hand."""

import math

import numpy as np
import pytest
from scipy import stats

from unet_course.evaluation.compare import compare, compare_to, mean_interval


def test_paired_interval_is_scipys_paired_t_interval():
    rng = np.random.default_rng(0)
    a = rng.normal(0.8, 0.02, size=5)
    b = a - 0.01 + rng.normal(0, 0.01, size=5)
    result = compare(a, b)
    expected = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert result.paired
    assert result.low == pytest.approx(expected.low)
    assert result.high == pytest.approx(expected.high)
    assert result.difference == pytest.approx(np.mean(a - b))


def test_unpaired_interval_is_welchs():
    a = [0.61, 0.65, 0.70, 0.58]
    b = [0.50, 0.55, 0.62]
    result = compare(a, b)
    expected = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert not result.paired
    assert (result.low, result.high) == (pytest.approx(expected.low), pytest.approx(expected.high))


def test_paired_by_hand():
    # differences 0.2, 0.3, 0.4: mean 0.3, sd 0.1, se 0.1/sqrt(3); t(0.975, 2) = 4.3027: half-width 0.248
    result = compare([1.2, 1.3, 1.4], [1.0, 1.0, 1.0], names=("new", "old"))
    half = 4.302652729911275 * 0.1 / math.sqrt(3)
    assert result.low == pytest.approx(0.3 - half)
    assert result.high == pytest.approx(0.3 + half)
    assert result.verdict == "new better"
    # the same spread around a mean difference of 0.2 is not enough with 3 seeds
    assert not compare([1.1, 1.2, 1.3], [1.0, 1.0, 1.0]).decided
    assert result.better == "new" and result.decided


def test_pairing_removes_the_seeds_luck():
    # the seeds differ a lot, but B is always 0.01 below A: paired, that is decided; unpaired, it is not
    a = [0.50, 0.70, 0.90]
    b = [0.49, 0.69, 0.885]
    assert compare(a, b).verdict == "A better"
    assert compare(a, b, paired=False).verdict.startswith("no difference detectable with 3 seeds")


def test_b_better_and_lower_is_better():
    assert compare([0.1, 0.2, 0.15], [0.5, 0.6, 0.55]).verdict == "B better"
    # Rand error: lower is better, so A wins
    assert compare([0.1, 0.2, 0.15], [0.5, 0.6, 0.55], higher_is_better=False).verdict == "A better"


def test_no_difference_names_the_detectable_difference():
    a = [0.80, 0.75, 0.82]
    b = [0.78, 0.79, 0.80]
    result = compare(a, b, names=("bilinear", "transpose"))
    assert not result.decided and result.better is None
    se = np.std(np.subtract(a, b), ddof=1) / math.sqrt(3)
    expected = (stats.t.ppf(0.975, 2) + stats.t.ppf(0.8, 2)) * se
    assert result.detectable == pytest.approx(expected)
    assert "no difference detectable with 3 seeds; the smallest difference this could detect is about" in result.verdict
    # the stated value is the detectable difference rounded up to two significant digits
    stated = float(result.verdict.rsplit(" ", 1)[1])
    assert expected <= stated < expected * 1.1


def test_more_seeds_detect_smaller_differences():
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.02, size=20)
    few = compare(noise[:3] + 0.001, noise[:3] * 0).detectable
    many = compare(noise + 0.001, noise * 0).detectable
    assert many < few / 2


def test_one_seed_cannot_decide():
    result = compare([0.9], [0.1])
    assert not result.decided
    assert "1 seed" in result.verdict and "at least 2" in result.verdict
    assert "interval" not in str(result).split(":")[0]


def test_the_printed_line_carries_the_verdict():
    line = str(compare([0.80, 0.82, 0.81], [0.70, 0.71, 0.73], names=("course", "textbook")))
    assert line.startswith("course vs textbook (3 seeds, paired): mean 0.810 vs 0.713")
    assert line.endswith("course better")


@pytest.mark.parametrize(
    ("a", "b", "options", "message"),
    [
        ([], [1.0], {}, "a is empty"),
        ([1.0, float("nan")], [1.0, 2.0], {}, "not a finite number"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], {"paired": True}, "paired=True needs one score of each per seed"),
        ([1.0, 2.0], [1.0, 2.0], {"names": ("only one",)}, "names must be two non-empty strings"),
    ],
)
def test_bad_input(a, b, options, message):
    with pytest.raises(ValueError, match=message):
        compare(a, b, **options)


def test_compare_to_a_reference():
    rows = compare_to({"t": [0.5, 0.6, 0.7], "b": [0.4, 0.5, 0.6], "n": [0.5, 0.6, 0.71]}, "t")
    assert [row.names for row in rows] == [("b", "t"), ("n", "t")]
    assert rows[0].verdict == "t better"
    with pytest.raises(ValueError, match="reference='x' is not one of"):
        compare_to({"t": [1.0]}, "x")


def test_mean_interval_is_scipys_one_sample_t_interval():
    scores = [0.31, 0.28, 0.35, 0.30]
    mean, low, high = mean_interval(scores)
    expected = stats.ttest_1samp(scores, 0).confidence_interval(0.95)
    assert mean == pytest.approx(np.mean(scores))
    assert (low, high) == (pytest.approx(expected.low), pytest.approx(expected.high))
    assert all(math.isnan(v) for v in mean_interval([0.3])[1:])

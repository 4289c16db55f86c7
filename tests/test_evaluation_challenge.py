"""Tests of unet_course.evaluation.challenge: the ISBI 2012 challenge's pixel error and Rand error.

Hand-worked examples, independent references (scikit-learn's F1, a brute-force loop over pairs
of pixels), the numbers Fiji's own code gives on a fixed input, invariances, stacks and bad input.
"""

import doctest
from fractions import Fraction

import numpy as np
import pytest

from unet_course.evaluation import CHALLENGE_THRESHOLDS, UNET_PAPER_ISBI2012, challenge, pixel_error, rand_error
from unet_course.evaluation.challenge import _rand_counts, _thinned_segments


def fixture_stack():
    """Two 12 x 14 slices: straight membranes, a 2-pixel-wide one and a diagonal one (8-connected only).

    The proposal is 0.5 on cells plus a pattern of 0.0 .. 0.5: values such as 0.8 fall exactly on
    thresholds, where the 32-bit reading matters.
    """
    k, y, x = np.indices((2, 12, 14))
    labels = np.ones((2, 12, 14), np.uint8)
    labels[:, [4, 9], :] = 0
    labels[0, :, 5] = 0
    labels[1, :, 9:11] = 0
    labels[1, x[1] == y[1] + 1] = 0
    proposal = labels * 0.5 + ((7 * x + 13 * y + 5 * k) % 6) / 10
    return labels, proposal


# Fiji's numbers on fixture_stack(), one per CHALLENGE_THRESHOLDS: ClassificationStatistics.fScore of
# PixelError.getPrecisionRecallStats(0.0, 1.0, 0.1), RandError.getForegroundRestrictedRandIndexStats(0.0,
# 1.0, 0.1) and RandError.getForegroundRestrictedRandAfterThinningStats(0.0, 1.0, 0.1, true), run with
# fiji/Trainable_Segmentation at 41c7083 (its metrics and watershed classes; ImageJ 1.52i; the connected
# components by a plain 4-connected flood fill in place of Fiji's FindConnectedRegions).
FIJI_PIXEL_F = [
    0.8576512455516014,
    0.8576512455516014,
    0.8779599271402551,
    0.9060150375939849,
    0.9341085271317828,
    0.9070294784580498,
    0.9070294784580498,
    0.6573816155988857,
    0.6573816155988857,
    0.2968197879858657,
    0.2968197879858657,
]
FIJI_RAND_F = [
    0.3079907353792705,
    0.3079907353792705,
    0.3079907353792705,
    0.3079907353792705,
    0.315817598859993,
    0.6050354051927614,
    0.6050354051927614,
    0.3119644557283402,
    0.3119644557283402,
    0.08669064748201437,
    0.08669064748201437,
]
FIJI_THINNED_RAND_F = [
    0.30587999757867573,
    0.30587999757867573,
    0.30587999757867573,
    0.30587999757867573,
    0.3151150101944118,
    0.6153557445682413,
    0.6153557445682413,
    0.5874273425948406,
    0.5874273425948406,
    0.18318044900819597,
    0.18318044900819597,
]


def random_case(rng, shape, cell_fraction=0.75):
    labels = (rng.random(shape) < cell_fraction).astype(np.uint8)
    proposal = np.clip(labels * 0.6 + rng.random(shape) * 0.5 - 0.1, 0, 1)
    return labels, proposal


def flood_fill_segments(cells):
    """4-connected components of a 2D boolean array by a plain flood fill (0 = not a cell)."""
    height, width = cells.shape
    segments = np.zeros(cells.shape, int)
    count = 0
    for y0 in range(height):
        for x0 in range(width):
            if not cells[y0, x0] or segments[y0, x0]:
                continue
            count += 1
            segments[y0, x0] = count
            todo = [(y0, x0)]
            while todo:
                y, x = todo.pop()
                for v, u in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                    if 0 <= v < height and 0 <= u < width and cells[v, u] and not segments[v, u]:
                        segments[v, u] = count
                        todo.append((v, u))
    return segments


def brute_force_rand(labels, cells):
    """(V_Rand, V_split, V_merge) by looping over every ordered pair of true-cell pixels."""
    truth = flood_fill_segments(labels.astype(bool)).ravel()
    proposed = flood_fill_segments(cells).ravel()
    pixels = np.flatnonzero(truth > 0)
    both = together_truth = together_proposal = 0
    for p in pixels:
        for q in pixels:
            same_truth = truth[p] == truth[q]
            # a pixel the proposal calls membrane is a segment of its own
            same_proposal = p == q or (proposed[p] > 0 and proposed[p] == proposed[q])
            together_truth += same_truth
            together_proposal += same_proposal
            both += same_truth and same_proposal
    return 2 * both / (together_truth + together_proposal), both / together_truth, both / together_proposal


# --- the thresholds ---------------------------------------------------------------------------------


def test_challenge_thresholds_cut_like_fijis_loop():
    java = []
    t = 0.0
    while t <= 1.0:  # Fiji: for (double th = 0.0; th <= 1.0; th += 0.1)
        java.append(t)
        t += 0.1
    assert len(java) == len(CHALLENGE_THRESHOLDS) == 11
    assert CHALLENGE_THRESHOLDS[-1] == java[-1] < 1.0
    for ours, theirs in zip(CHALLENGE_THRESHOLDS, java):
        # the 32-bit floats on both sides of either value are cut the same way
        near = np.float32(ours)
        values = [np.nextafter(near, np.float32(-1)), near, np.nextafter(near, np.float32(2))]
        for value in np.array(values, np.float32).astype(np.float64):
            assert (value > ours) == (value > theirs)


def test_the_last_threshold_keeps_exact_ones_and_binary_maps_score_alike_everywhere():
    labels = np.array([[1, 1, 0, 1]])
    binary = np.array([[1, 1, 0, 1]], float)
    assert set(pixel_error(labels, binary)["f_scores"].values()) == {1.0}
    assert set(rand_error(labels, binary)["f_scores"].values()) == {1.0}
    # a threshold of exactly 1.0 would leave no cell at all
    assert pixel_error(labels, binary, thresholds=1.0)["f_score"] == 0.0


def test_proposal_is_read_as_32_bit_floats_like_fiji():
    labels = np.array([[1, 0]])
    # 0.8 as a 32-bit float is 0.800000011920929 > 0.8: a cell at the threshold 0.8, as in Fiji
    result = pixel_error(labels, [[0.8, 0.0]], thresholds=0.8)
    assert result["f_score"] == 1.0


def test_paper_numbers():
    assert UNET_PAPER_ISBI2012 == {"warping_error": 0.000353, "rand_error": 0.0382, "pixel_error": 0.0611}


# --- hand-worked examples ---------------------------------------------------------------------------


def test_pixel_error_by_hand():
    labels = np.array([[1, 1, 0, 1, 1, 1, 1]])
    proposal = np.array([[1, 1, 1, 1, 1, 0, 1]])
    # cells are positive: TP = 5 (0, 1, 3, 4, 6), FP = 1 (2), FN = 1 (5); F = 2*5 / (2*5 + 1 + 1) = 10/12
    result = pixel_error(labels, proposal, thresholds=0.5)
    assert result["f_score"] == pytest.approx(10 / 12, abs=1e-15)
    assert result["error"] == pytest.approx(2 / 12, abs=1e-15)
    assert result["precision"] == pytest.approx(5 / 6) and result["recall"] == pytest.approx(5 / 6)
    assert result["threshold"] == 0.5 and list(result["f_scores"]) == [0.5]


def test_pixel_f_score_edge_cases_follow_fiji():
    # nothing to find and nothing found: Fiji's precision = recall = 1, F = 1
    assert pixel_error([[0, 0]], [[0.1, 0.2]], thresholds=0.5)["f_score"] == 1.0
    # cells to find, none found: precision 1 (no FP), recall 0, F = 0
    result = pixel_error([[1, 0]], [[0.1, 0.2]], thresholds=0.5)
    assert (result["precision"], result["recall"], result["f_score"]) == (1.0, 0.0, 0.0)


def test_rand_merge_by_hand():
    labels = np.array([[1, 1, 0, 1, 1, 1, 1]])  # true cells A = {0, 1}, B = {3, 4, 5, 6}
    merged = np.ones((1, 7))  # the membrane is missed: one segment over A and B
    # ordered pairs (a pixel with itself included) of the 6 true-cell pixels:
    # together in the truth 2^2 + 4^2 = 20; in the proposal 6^2 = 36; in both 2^2 + 4^2 = 20
    result = rand_error(labels, merged, thresholds=0.5)
    assert result["v_split"] == 1.0
    assert Fraction(result["v_merge"]).limit_denominator(100) == Fraction(20, 36)
    assert result["v_rand"] == pytest.approx(2 * 20 / (20 + 36), abs=1e-15)
    assert result["error"] == pytest.approx(16 / 56, abs=1e-15)


def test_rand_split_by_hand_with_a_singleton():
    labels = np.array([[1, 1, 1, 0, 1, 1, 1]])  # A = {0, 1, 2}, B = {4, 5, 6}
    split = np.array([[1, 1, 1, 0, 1, 0, 1]])  # pixel 5 is membrane in the proposal: B becomes {4}, {5}, {6}
    # both: 3^2 + 1 + 1 + 1 (the singleton) = 12; truth: 3^2 + 3^2 = 18; proposal: 3^2 + 1 + 1 + 1 = 12
    result = rand_error(labels, split, thresholds=0.5)
    assert result["v_split"] == pytest.approx(12 / 18, abs=1e-15)
    assert result["v_merge"] == 1.0
    assert result["v_rand"] == pytest.approx(24 / 30, abs=1e-15)


def test_rand_membrane_pixels_are_singletons_not_one_background_segment():
    labels = np.array([[1, 1, 0, 1]])
    # all membrane: three singletons. both = 3, truth = 2^2 + 1 = 5, proposal = 3 (with one "background"
    # segment it would be 3^2 = 9 and V_merge = 5/9)
    result = rand_error(labels, np.zeros((1, 4)), thresholds=0.5)
    assert result["v_split"] == pytest.approx(3 / 5) and result["v_merge"] == 1.0
    assert result["v_rand"] == pytest.approx(6 / 8)


def test_rand_segments_are_4_connected():
    labels = np.array([[1, 0], [0, 1]])  # two cells touching at a corner: two segments (4-connectivity)
    assert rand_error(labels, labels.astype(float), thresholds=0.5)["error"] == 0.0
    # one proposed segment over both: both = 1 + 1, truth = 1 + 1, proposal = 2^2; V_merge = 1/2
    result = rand_error(labels, np.ones((2, 2)), thresholds=0.5)
    assert (result["v_split"], result["v_merge"]) == (1.0, 0.5)
    assert result["v_rand"] == pytest.approx(2 / 3)


def test_perfect_proposal_scores_zero_error():
    labels, _ = fixture_stack()
    for volume in (labels, labels[0]):
        assert pixel_error(volume, volume)["error"] == 0.0
        result = rand_error(volume, volume)
        assert result["error"] == 0.0 and result["v_split"] == result["v_merge"] == 1.0
        assert rand_error(volume, volume, thinning=True)["error"] == 0.0


def test_the_best_threshold_is_chosen():
    labels = np.array([[1, 1, 1, 0, 1, 1, 1]])
    proposal = np.array([[0.9, 0.9, 0.9, 0.05, 0.9, 0.2, 0.9]])
    # above 0.05 and below 0.2 the cells are right; at 0.5 pixel 5 splits B (V_Rand 0.8, as by hand above)
    result = rand_error(labels, proposal, thresholds=(0.1, 0.5, 0.95))
    assert result["threshold"] == 0.1 and result["error"] == 0.0
    assert result["f_scores"][0.5] == pytest.approx(0.8)
    assert list(result["f_scores"]) == [0.1, 0.5, 0.95]
    assert pixel_error(labels, proposal, thresholds=(0.1, 0.5))["threshold"] == 0.1
    # equal scores: the lowest threshold wins, as Fiji's loop keeps the first strictly better one
    assert pixel_error(labels, proposal, thresholds=(0.3, 0.25, 0.35))["threshold"] == 0.25


# --- thinning ---------------------------------------------------------------------------------------


def test_thinning_leaves_a_one_pixel_dam_by_hand():
    # Fiji's flooding: the membrane pixels next to a basin start in the queue, column by column
    np.testing.assert_array_equal(_thinned_segments(np.array([[1, 1, 0, 0, 1, 1]], bool)), [[1, 1, 1, 0, 2, 2]])
    np.testing.assert_array_equal(_thinned_segments(np.array([[1, 1, 0, 0, 0, 1, 1]], bool)), [[1, 1, 1, 0, 2, 2, 2]])
    # where the dams go depends on Fiji's visiting order (column by column): Fiji's WatershedTransform2D
    # gives exactly this (label numbers included); visiting row by row would give [[1,1,1],[0,0,0],[2,2,2]]
    corner = np.array([[0, 0, 1], [0, 0, 0], [0, 1, 1]], bool)
    np.testing.assert_array_equal(_thinned_segments(corner), [[0, 2, 2], [1, 0, 0], [1, 1, 1]])
    # no cell at all: one level, one basin over everything
    np.testing.assert_array_equal(_thinned_segments(np.zeros((2, 3), bool)), np.ones((2, 3)))


def test_thinning_merges_an_all_membrane_proposal_into_one_segment():
    labels = np.array([[1, 1, 0, 1]])
    # after thinning the proposal is one segment: both = 2^2 + 1 = 5, truth = 5, proposal = 3^2 = 9
    result = rand_error(labels, np.zeros((1, 4)), thresholds=0.5, thinning=True)
    assert result["v_split"] == 1.0 and result["v_merge"] == pytest.approx(5 / 9)
    assert result["v_rand"] == pytest.approx(10 / 14)


def test_thinning_forgives_a_thick_membrane():
    labels = np.ones((5, 9), np.uint8)
    labels[:, 4] = 0
    thick = labels.astype(float)
    thick[:, 3:6] = 0  # the proposal's membrane is 3 pixels wide: the true-cell pixels at x=3 and 5 are singletons
    assert rand_error(labels, thick, thresholds=0.5)["error"] > 0.2
    assert rand_error(labels, thick, thresholds=0.5, thinning=True)["error"] == 0.0


# --- Fiji's own numbers ------------------------------------------------------------------------------


def test_matches_fijis_numbers_on_a_fixed_stack():
    labels, proposal = fixture_stack()
    pixel = pixel_error(labels, proposal)["f_scores"]
    rand = rand_error(labels, proposal)["f_scores"]
    thinned = rand_error(labels, proposal, thinning=True)["f_scores"]
    assert list(pixel) == list(rand) == list(thinned) == list(CHALLENGE_THRESHOLDS)
    np.testing.assert_allclose(list(pixel.values()), FIJI_PIXEL_F, rtol=0, atol=1e-12)
    np.testing.assert_allclose(list(rand.values()), FIJI_RAND_F, rtol=0, atol=1e-12)
    np.testing.assert_allclose(list(thinned.values()), FIJI_THINNED_RAND_F, rtol=0, atol=1e-12)
    assert pixel_error(labels, proposal)["error"] == pytest.approx(1 - max(FIJI_PIXEL_F), abs=1e-12)
    assert rand_error(labels, proposal)["error"] == pytest.approx(1 - max(FIJI_RAND_F), abs=1e-12)


# --- independent references --------------------------------------------------------------------------


def test_pixel_f_score_equals_sklearn_f1():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for shape in ((9, 11), (3, 8, 6)):
        labels, proposal = random_case(rng, shape)
        result = pixel_error(labels, proposal)
        for t, f in result["f_scores"].items():
            cells = proposal.astype(np.float32).astype(np.float64) > t
            expected = metrics.f1_score(labels.ravel(), cells.ravel(), zero_division=1.0)
            assert f == pytest.approx(expected, abs=1e-12)


def test_rand_scores_equal_a_brute_force_loop_over_pairs():
    rng = np.random.default_rng(1)
    for shape in ((6, 7), (5, 9), (8, 4)):
        labels, proposal = random_case(rng, shape)
        thresholds = (0.2, 0.4, 0.6)
        result = rand_error(labels, proposal, thresholds=thresholds)
        for t in thresholds:
            expected = brute_force_rand(labels, proposal > t)
            assert result["f_scores"][t] == pytest.approx(expected[0], abs=1e-12)
        best = brute_force_rand(labels, proposal > result["threshold"])
        assert (result["v_rand"], result["v_split"], result["v_merge"]) == pytest.approx(best, abs=1e-12)


# --- invariances ---------------------------------------------------------------------------------------


def test_pair_counts_do_not_depend_on_segment_ids():
    rng = np.random.default_rng(2)
    truth = rng.integers(0, 5, size=(1, 10, 10))
    proposed = rng.integers(0, 6, size=(1, 10, 10))
    counts = _rand_counts(truth, proposed)
    new_truth = np.array([0, 40, 7, 13, 2])[truth]  # 0 (membrane) stays 0
    new_proposed = np.array([0, 9, 3, 100, 5, 1])[proposed]
    assert _rand_counts(new_truth, new_proposed) == counts


def test_rand_error_does_not_depend_on_flips_or_threshold_order():
    labels, proposal = fixture_stack()
    result = rand_error(labels, proposal)
    for flipped in ((labels[:, ::-1], proposal[:, ::-1]), (labels.transpose(0, 2, 1), proposal.transpose(0, 2, 1))):
        assert rand_error(*flipped)["f_scores"] == pytest.approx(result["f_scores"], abs=1e-15)
    shuffled = [0.7, 0.1, 0.5, 0.3, 0.1, 0.9]
    for function in (pixel_error, rand_error):
        forward = function(labels, proposal, thresholds=sorted(set(shuffled)))
        assert function(labels, proposal, thresholds=shuffled) == forward
        assert function(labels, proposal, thresholds=shuffled[::-1]) == forward


# --- stacks -----------------------------------------------------------------------------------------------


def test_a_stack_adds_the_counts_of_its_slices():
    labels, proposal = fixture_stack()
    # laying the slices side by side, with a membrane column between them, gives the same counts:
    # each slice is segmented on its own and its pixels and pairs are added up
    gap = np.zeros((12, 1))
    wide_labels = np.hstack([labels[0], gap, labels[1]])
    wide_proposal = np.hstack([proposal[0], gap, proposal[1]])
    assert rand_error(labels, proposal)["f_scores"] == pytest.approx(
        rand_error(wide_labels, wide_proposal)["f_scores"], abs=1e-15
    )
    assert pixel_error(labels, proposal)["f_scores"] == pytest.approx(
        pixel_error(wide_labels, wide_proposal)["f_scores"], abs=1e-15
    )
    # that is not the mean of the slices' scores
    per_slice = [rand_error(labels[k], proposal[k], thresholds=0.5)["v_rand"] for k in range(2)]
    assert rand_error(labels, proposal, thresholds=0.5)["v_rand"] != pytest.approx(np.mean(per_slice), abs=1e-3)


def test_a_stack_does_not_connect_segments_across_slices():
    labels = np.ones((2, 3, 3), np.uint8)
    merged_in_3d = np.ones((2, 3, 3))
    # two true segments (one per slice), two proposed segments: perfect, not a merge
    assert rand_error(labels, merged_in_3d, thresholds=0.5)["error"] == 0.0


def test_thinned_stack_averages_the_slices_and_skips_empty_ones():
    labels, proposal = fixture_stack()
    stacked = rand_error(labels, proposal, thinning=True)
    for t in (0.3, 0.7):
        per_slice = [rand_error(labels[k], proposal[k], thresholds=t, thinning=True)["v_rand"] for k in range(2)]
        assert stacked["f_scores"][t] == pytest.approx(np.mean(per_slice), abs=1e-15)
    with_empty = np.concatenate([labels, np.zeros((1, 12, 14), np.uint8)])
    proposal_empty = np.concatenate([proposal, np.zeros((1, 12, 14))])
    assert rand_error(with_empty, proposal_empty, thinning=True)["f_scores"] == pytest.approx(stacked["f_scores"])
    # without thinning an all-membrane slice adds no pair
    assert rand_error(with_empty, proposal_empty)["f_scores"] == pytest.approx(
        rand_error(labels, proposal)["f_scores"], abs=1e-15
    )


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("function", [pixel_error, rand_error])
def test_bad_input_is_named(function):
    labels = np.array([[1, 1, 0, 1]])
    with pytest.raises(ValueError, match=r"shape \(1, 4\).*shape \(1, 3\)"):
        function(labels, np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"probabilities\[\.\.\., 1\]"):
        function(labels, np.ones((1, 4, 2)) / 2)
    with pytest.raises(ValueError, match=r"0 = membrane.*\[0, 255\].*// 255"):
        function(labels * 255, np.ones((1, 4)))
    with pytest.raises(ValueError, match=r"\[0, 1\].*\[-0\.5, 1\]"):
        function(labels, [[1, 1, -0.5, 1]])
    with pytest.raises(ValueError, match=r"divide by 255"):
        function(labels, [[255, 255, 0, 255]])
    with pytest.raises(ValueError, match="NaN"):
        function(labels, [[1, np.nan, 0, 1]])
    with pytest.raises(ValueError, match=r"thresholds is empty.*thresholds=\(0\.5,\)"):
        function(labels, np.ones((1, 4)), thresholds=[])
    with pytest.raises(ValueError, match=r"thresholds must lie in \[0, 1\], got \[1\.5\]"):
        function(labels, np.ones((1, 4)), thresholds=(0.5, 1.5))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        function([1, 1, 0, 1], [1, 1, 0, 1])
    with pytest.raises(ValueError, match="fractional"):
        function([[0.5, 1]], [[1, 1]])


def test_rand_error_needs_cell_pixels():
    with pytest.raises(ValueError, match=r"no cell pixel.*1 = cell, 0 = membrane"):
        rand_error(np.zeros((3, 3), np.uint8), np.ones((3, 3)))


def test_module_examples_run():
    result = doctest.testmod(challenge, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0

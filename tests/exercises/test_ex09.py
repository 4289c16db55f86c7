"""Exercises of notebook 09: the references pass and agree with the package, other correct answers
pass, typical mistakes get their message, a crash or a missing return becomes feedback."""

import math

import numpy as np
import pytest

from unet_course.data.weight_map import unet_weight_map
from unet_course.exercises import ex09 as ex


def _run(exercise, answer):
    verdict = exercise._run(answer)
    return verdict.passed, verdict.message


# --------------------------------------------------------------------------------------
# q1: the mirrored input of a tile
# --------------------------------------------------------------------------------------


def test_q1_reference_passes():
    passed, message = _run(ex.q1, ex.mirror_tile)
    assert passed, message
    assert "instead of black" in message


def test_q1_hand_worked():
    image = np.arange(16).reshape(4, 4)
    window = ex.mirror_tile(image, 0, 0, 2, 1)
    # reflect: above row 0 comes row 1, left of column 0 comes column 1 (the border is not repeated)
    np.testing.assert_array_equal(window, [[5, 4, 5, 6], [1, 0, 1, 2], [5, 4, 5, 6], [9, 8, 9, 10]])


@pytest.mark.parametrize("seed", range(5))
def test_q1_reference_matches_np_pad_on_random_tiles(seed):
    rng = np.random.default_rng(seed)
    height, width = rng.integers(12, 40, size=2)
    channels = [(), (1,), (3,)][seed % 3]
    image = rng.random((height, width, *channels))
    size = int(rng.integers(1, min(height, width) + 1))
    margin = int(rng.integers(0, min(height, width)))
    top, left = int(rng.integers(0, height - size + 1)), int(rng.integers(0, width - size + 1))
    window = ex.mirror_tile(image, top, left, size, margin)
    pad = [(margin, margin), (margin, margin)] + [(0, 0)] * len(channels)
    np.testing.assert_array_equal(
        window, np.pad(image, pad, mode="reflect")[top : top + size + 2 * margin, left : left + size + 2 * margin]
    )
    assert window.shape == (size + 2 * margin, size + 2 * margin, *channels)
    # the tile itself sits in the middle of its window
    np.testing.assert_array_equal(
        window[margin : margin + size, margin : margin + size], image[top : top + size, left : left + size]
    )


def test_q1_other_correct_answers_pass():
    def by_index(image, top, left, size, margin):
        def mirror(i, n):  # reflect an index about the border (without repeating it)
            i = abs(i)
            return 2 * (n - 1) - i if i >= n else i

        rows = [mirror(i, image.shape[0]) for i in range(top - margin, top + size + margin)]
        cols = [mirror(j, image.shape[1]) for j in range(left - margin, left + size + margin)]
        return image[np.ix_(rows, cols)]

    def with_tensorflow_style_list(image, top, left, size, margin):
        pad = [[margin, margin], [margin, margin]] + [[0, 0]] * (image.ndim - 2)
        return np.pad(image, pad, "reflect")[top:, left:][: size + 2 * margin, : size + 2 * margin].tolist()

    for answer in (by_index, with_tensorflow_style_list):
        passed, message = _run(ex.q1, answer)
        assert passed, message


def _pad(image, margin, mode="reflect", channels_too=False):
    pad = [(margin, margin), (margin, margin)] + [(margin if channels_too else 0,) * 2] * (image.ndim - 2)
    return np.pad(image, pad, mode=mode)


def _slice(kind):
    def answer(image, top, left, size, margin):
        n = size + 2 * margin
        return _pad(image, margin, kind)[top : top + n, left : left + n]

    return answer


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_slice("symmetric"), "repeats the border pixel"),
        (_slice("constant"), "constant padding"),
        (_slice("edge"), "mode='edge'"),
        (_slice("wrap"), "mode='wrap'"),
        (
            lambda im, t, le, s, m: _pad(im, m)[t - m : t - m + s + 2 * m, le - m : le - m + s + 2 * m],
            "You subtracted margin in the padded image",
        ),
        (
            lambda im, t, le, s, m: im[t : t + s + 2 * m, le : le + s + 2 * m],
            "not centred on the tile",
        ),
        (
            lambda im, t, le, s, m: im[t - m : t + s + m, le - m : le + s + m],
            "cut short",
        ),
        (
            lambda im, t, le, s, m: np.pad(im, m, mode="reflect")[t : t + s + 2 * m, le : le + s + 2 * m],
            "channel axis too",
        ),
        (
            lambda im, t, le, s, m: _pad(im, m)[t : t + s + m, le : le + s + m],
            "one side only",
        ),
        (lambda im, t, le, s, m: im[t : t + s, le : le + s], "the output tile itself"),
        (
            lambda im, t, le, s, m: ex.mirror_tile(im, t, le, s, m).swapaxes(0, 1),
            "transposed",
        ),
        (
            lambda im, t, le, s, m: ex.mirror_tile(im, le, t, s, m),
            "top and left swapped",
        ),
        (
            lambda im, t, le, s, m: (
                np.moveaxis(ex.mirror_tile(im, t, le, s, m), -1, 0) if im.ndim == 3 else ex.mirror_tile(im, t, le, s, m)
            ),
            "channels came first",
        ),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = _run(ex.q1, answer)
    assert not passed
    assert phrase in message, message


def test_q1_symmetric_message_shows_the_rows():
    passed, message = _run(ex.q1, _slice("symmetric"))
    assert not passed and "the row next to the edge" in message and "REFLECT" in message, message


def test_q1_crash_none_and_not_done_are_feedback():
    def crashes(image, top, left, size, margin):
        return image[top, left, size, margin]

    def no_return(image, top, left, size, margin):
        np.pad(image, margin, mode="reflect")

    def not_done(image, top, left, size, margin):
        raise NotImplementedError()

    passed, message = _run(ex.q1, crashes)
    assert not passed and "IndexError" in message and "Traceback" not in message
    passed, message = _run(ex.q1, no_return)
    assert not passed and "return" in message
    passed, message = _run(ex.q1, not_done)
    assert not passed and "not yet implemented" in message
    passed, message = _run(ex.q1, None)
    assert not passed and "You passed None" in message
    passed, message = _run(ex.q1, lambda *args: "window")
    assert not passed and "return the window" in message


# --------------------------------------------------------------------------------------
# q2: the weight of a pixel between two cells
# --------------------------------------------------------------------------------------


def test_q2_reference_passes():
    passed, message = _run(ex.q2, ex.pixel_weight)
    assert passed, message
    assert "8.59" in message


def test_q2_hand_worked_row():
    row = np.array([[1, 1, 0, 0, 0, 1, 1]])
    # w_c = 4/3 (3 membrane, 4 cell pixels); d1 = 1, d2 = 3
    assert ex.pixel_weight(row, 0, 2) == pytest.approx(4 / 3 + 10 * math.exp(-(4**2) / 50))
    assert ex.pixel_weight(row, 0, 0) == pytest.approx(1.0)  # a cell pixel: w_c only


def test_q2_cases_agree_with_the_package():
    for _, mask, y, x, w0, sigma in ex._q2_cases():
        assert ex.pixel_weight(mask, y, x, w0, sigma) == pytest.approx(
            float(unet_weight_map(mask, w0=w0, sigma=sigma)[y, x]), rel=1e-5, abs=1e-5
        )
        # the checker's decomposition gives the same number
        g = ex._geometry(mask, y, x)
        assert ex._weight(g, w0, sigma) == pytest.approx(ex._q2_expected(mask, y, x, w0, sigma), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_q2_reference_agrees_with_unet_weight_map_on_random_masks(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(6, 20, size=2))
    mask = (rng.random(shape) < [0.3, 0.5, 0.6, 0.7][seed]).astype(np.uint8)
    w0, sigma = [(10.0, 5.0), (3.0, 2.0), (10.0, 1.5), (7.0, 4.0)][seed]
    expected = unet_weight_map(mask, w0=w0, sigma=sigma)
    got = np.array([[ex.pixel_weight(mask, y, x, w0, sigma) for x in range(shape[1])] for y in range(shape[0])])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_q2_package_answer_passes():
    def with_package(mask, y, x, w0=10.0, sigma=5.0):
        return unet_weight_map(mask, w0=w0, sigma=sigma)[y, x]

    passed, message = _run(ex.q2, with_package)
    assert passed, message


def _answer(mistake=None):
    """A learner's pixel_weight, written independently of the checker, with one typical mistake."""
    from scipy import ndimage

    def answer(mask, y, x, w0=10.0, sigma=5.0):
        if mistake == "hard_coded":
            w0, sigma = 10.0, 5.0
        counts = np.bincount(mask.ravel(), minlength=2).astype(float)
        cls = mask[y, x]
        w_c = {
            "border_only": 0.0,
            "w_c_one": 1.0,
            "inverted": counts.max() / counts[1 - cls],
            "frequency": counts[cls] / counts.sum(),
            "total": counts.sum() / counts[cls],
        }.get(mistake, counts.max() / counts[cls])
        if cls == 1 and mistake != "inside":
            return w_c
        cells, n = ndimage.label(mask == 1)
        per_cell = [ndimage.distance_transform_edt(cells != k)[y, x] for k in range(1, n + 1)]
        if mistake == "centroids":
            per_cell = [math.dist((y, x), c) for c in ndimage.center_of_mass(mask == 1, cells, range(1, n + 1))]
        if mistake == "pixels":  # the two nearest cell pixels, whatever their cell
            per_cell = (
                ndimage.distance_transform_edt(mask != 1)[y, x],
                np.sort(np.hypot(*(np.argwhere(mask == 1) - (y, x)).T))[1],
            )
        if mistake != "labels":
            per_cell = sorted(per_cell)
        if len(per_cell) < 2:
            return w_c
        d1, d2 = per_cell[:2]
        if mistake == "twice":
            d2 = d1
        power = {
            "sigma": (d1 + d2) ** 2 / (2 * sigma),
            "no_two": (d1 + d2) ** 2 / sigma**2,
            "squares": (d1**2 + d2**2) / (2 * sigma**2),
        }.get(mistake, (d1 + d2) ** 2 / (2 * sigma**2))
        border = w0 * np.exp(-power)
        return w_c if mistake == "no_border" else w_c + border

    return answer


def test_q2_independent_answer_passes():
    passed, message = _run(ex.q2, _answer())
    assert passed, message


@pytest.mark.parametrize(
    "mistake, phrase",
    [
        ("border_only", "the border term alone"),
        ("no_border", "the class weight alone"),
        ("w_c_one", "w_c = 1 for every pixel"),
        ("inverted", "OTHER class"),
        ("frequency", "count_c / total"),
        ("total", "total / count_c"),
        ("inside", "inside a cell (class 1) and you added a border term"),
        ("twice", "the nearest cell twice"),
        ("pixels", "second-nearest cell PIXEL"),
        ("labels", "cells 1 and 2 of the labelling"),
        ("centroids", "the cells' centres"),
        ("sigma", "by 2 * sigma = 10"),
        ("no_two", "the 2 is missing"),
        ("squares", "d1**2 + d2**2"),
        ("hard_coded", "Use the arguments"),
    ],
)
def test_q2_typical_mistakes(mistake, phrase):
    passed, message = _run(ex.q2, _answer(mistake))
    assert not passed
    assert phrase in message, message
    assert "expected" in message.lower(), message


def test_q2_messages_show_the_numbers():
    # on the hand-worked row: expected 8.5948; the border term alone 7.2615
    passed, message = _run(ex.q2, _answer("border_only"))
    assert "7.2615" in message and "8.5948" in message and "1.3333" in message, message
    # forgot the 2 in 2 * sigma**2: exp(-16 / 25)
    passed, message = _run(ex.q2, _answer("no_two"))
    assert f"{4 / 3 + 10 * math.exp(-16 / 25):.4f}" in message and "= 25" in message and "= 50" in message, message
    # the three-cell mask: cells 1 and 2 of the labelling are at 2 and 4, the two nearest at 2 and 3
    passed, message = _run(ex.q2, _answer("labels"))
    assert "(2.0000, 4.0000)" in message and "(2.0000, 3.0000)" in message, message


def test_q2_crash_none_and_wrong_type_are_feedback():
    def crashes(mask, y, x, w0=10.0, sigma=5.0):
        return mask[y, x, 0]

    def no_return(mask, y, x, w0=10.0, sigma=5.0):
        unet_weight_map(mask)[y, x]

    def second_cell_required(mask, y, x, w0=10.0, sigma=5.0):  # right until the mask has a single cell
        from scipy import ndimage

        cells, n = ndimage.label(mask == 1)
        if n < 2:
            raise IndexError("list index out of range")
        return ex.pixel_weight(mask, y, x, w0, sigma)

    passed, message = _run(ex.q2, crashes)
    assert not passed and "IndexError" in message and "Traceback" not in message
    passed, message = _run(ex.q2, no_return)
    assert not passed and "return" in message
    passed, message = _run(ex.q2, second_cell_required)
    assert not passed and "single cell" in message, message
    passed, message = _run(ex.q2, lambda mask, y, x, w0=10.0, sigma=5.0: unet_weight_map(mask))
    assert not passed and "one number" in message, message
    passed, message = _run(ex.q2, lambda mask, y, x, w0=10.0, sigma=5.0: "heavy")
    assert not passed and "one number" in message, message
    passed, message = _run(ex.q2, None)
    assert not passed and "You passed None" in message


def test_q2_nan_on_a_single_cell_is_explained():
    def nan_single(mask, y, x, w0=10.0, sigma=5.0):
        from scipy import ndimage

        if ndimage.label(mask == 1)[1] < 2 and mask[y, x] == 0:
            return float("nan")
        return ex.pixel_weight(mask, y, x, w0, sigma)

    passed, message = _run(ex.q2, nan_single)
    assert not passed and "no second-nearest cell" in message, message


def test_q2_wrong_numbers_explained_before_a_later_crash():
    def wrong_then_crash(mask, y, x, w0=10.0, sigma=5.0):
        from scipy import ndimage

        if ndimage.label(mask == 1)[1] < 2:
            raise IndexError("list index out of range")
        return _answer("squares")(mask, y, x, w0, sigma)

    passed, message = _run(ex.q2, wrong_then_crash)
    assert not passed and "d1**2 + d2**2" in message, message


# --------------------------------------------------------------------------------------
# q3: the Rand F-score
# --------------------------------------------------------------------------------------


def test_q3_reference_passes_and_equals_the_package():
    from unet_course.evaluation.challenge import rand_error

    passed, message = _run(ex.q3, ex.rand_fscore)
    assert passed, message
    assert "A scores 0.6667" in message
    rng = np.random.default_rng(3)
    for _ in range(5):
        labels = (rng.random((12, 12)) > 0.3).astype(np.uint8)
        proposal = (rng.random((12, 12)) > 0.3).astype(np.uint8)
        assert ex.rand_fscore(labels, proposal) == pytest.approx(1 - rand_error(labels, proposal)["error"])


def test_q3_other_correct_answer_passes():
    def by_pair_counting(labels, proposal):  # every ordered pair of true-cell pixels, a pixel with itself included
        from scipy import ndimage

        t, _ = ndimage.label(labels == 1)
        s, n = ndimage.label(proposal == 1)
        t, s = t[labels == 1], s[labels == 1].astype(np.int64)
        s = np.where(s == 0, n + 1 + np.arange(s.size), s)
        same_t, same_s = t[:, None] == t[None, :], s[:, None] == s[None, :]
        both = np.sum(same_t & same_s)
        recall, precision = both / same_t.sum(), both / same_s.sum()
        return 2 * precision * recall / (precision + recall)

    passed, message = _run(ex.q3, by_pair_counting)
    assert passed, message


@pytest.mark.parametrize(
    "options, phrase",
    [
        (dict(membrane="zero"), "into ONE segment"),
        (dict(membrane="drop"), "you left out the cell pixels"),
        (dict(restrict=False), "foreground-restricted"),
        (dict(connectivity=8), "8-connected"),
        (dict(mean="arithmetic"), "harmonic mean"),
        (dict(pairs="unordered"), "two DIFFERENT"),
    ],
)
def test_q3_typical_mistakes(options, phrase):
    passed, message = _run(ex.q3, lambda labels, proposal: ex._vrand(labels, proposal, **options))
    assert not passed
    assert phrase in message, message


def test_q3_the_error_instead_of_the_score_and_a_crash():
    passed, message = _run(ex.q3, lambda labels, proposal: 1 - ex.rand_fscore(labels, proposal))
    assert not passed and "Rand ERROR" in message
    passed, message = _run(ex.q3, lambda labels, proposal: labels[100, 100])
    assert not passed and "IndexError" in message


# --------------------------------------------------------------------------------------
# q4: how many crops
# --------------------------------------------------------------------------------------


def test_q4_reference_passes_and_hand_counts():
    passed, message = _run(ex.q4, ex.count_crops)
    assert passed, message
    assert ex.count_crops(1, 4, 3, False, False) == 4  # starts at 0 or 1, in each direction
    assert ex.count_crops(25, 512, 128, True, False) == 25 * 385**2 * 4


def test_q4_the_eight_symmetries_of_a_square_by_enumeration():
    tile = np.arange(9).reshape(3, 3)
    seen = set()
    for flip_lr in (False, True):
        for flip_ud in (False, True):
            for turns in range(4):
                picture = np.rot90(np.flipud(tile) if flip_ud else tile, turns)
                seen.add((np.fliplr(picture) if flip_lr else picture).tobytes())
    assert len(seen) == 8 == ex.count_crops(1, 3, 3, True, True)
    assert len({np.rot90(tile, k).tobytes() for k in range(4)}) == 4 == ex.count_crops(1, 3, 3, False, True)


def test_q4_other_correct_answer_passes():
    def by_loops(slices, size, crop, flips, rot90):
        count = 0
        for _top in range(size - crop + 1):
            count += 1
        group = {1} | ({2, 3, 4} if flips else set()) | ({5, 6, 7, 8} if flips and rot90 else set())
        if rot90 and not flips:
            group = {1, 2, 3, 4}
        return float(slices * count * count * len(group))

    passed, message = _run(ex.q4, by_loops)
    assert passed, message


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda n, s, c, f, r: n * (s - c) ** 2 * (4 if f else 1) * (2 if f and r else 4 if r else 1), "off by one"),
        (lambda n, s, c, f, r: n * (s - c + 1) ** 2 * (4 if f else 1) * (4 if r else 1), "8 symmetries"),
        (
            lambda n, s, c, f, r: n * (s - c + 1) ** 2 * (2 if f else 1) * (2 if f and r else 4 if r else 1),
            "4 combinations",
        ),
        (lambda n, s, c, f, r: (s - c + 1) ** 2 * (4 if f else 1) * (2 if f and r else 4 if r else 1), "for one image"),
        (lambda n, s, c, f, r: n * s**2 * (4 if f else 1) * (2 if f and r else 4 if r else 1), "must fit"),
    ],
)
def test_q4_typical_mistakes(answer, phrase):
    passed, message = _run(ex.q4, answer)
    assert not passed
    assert phrase in message, message


# --------------------------------------------------------------------------------------
# p1: the prediction
# --------------------------------------------------------------------------------------


def test_p1_right_and_wrong_guesses():
    from unet_course.exercises import Prediction

    p = Prediction("p1", ex.p1.question, choices=ex.p1.choices, explain=ex.p1.explain)
    p.predict("B")
    assert p.verdict("B").passed
    p.predict("A")
    verdict = p.verdict("B")
    assert not verdict.passed and "4" in verdict.message and "pairs" in verdict.message
    p.predict("equal")
    verdict = p.verdict("B")
    assert not verdict.passed and "singletons" in verdict.message and "merge" in verdict.message
    p.predict("C")  # not a choice: not recorded
    assert p.verdict("B").message == verdict.message
    fresh = Prediction("p1", ex.p1.question, choices=ex.p1.choices, explain=ex.p1.explain)
    assert "no prediction was recorded" in fresh.verdict("B").message


def test_every_exercise_has_hints_and_a_solution(capsys):
    for exercise in (ex.q1, ex.q2, ex.q3, ex.q4):
        assert len(exercise.hints) >= 2 and exercise.notebook == "09_isbi_paper_experiment"
        exercise.solution()
        assert f"def {exercise.target}(" in capsys.readouterr().out

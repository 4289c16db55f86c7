"""Notebook 09's teaching code agrees with the package: the mirrored tile input of the
overlap-tile strategy, the paper's weight of one pixel (equation 2), and the exercise solutions
(the Rand F-score, the crop count) pass their checkers."""

import numpy as np
import pytest

from tests.notebook_code import notebook_namespace
from unet_course.data.weight_map import unet_weight_map
from unet_course.exercises import ex09
from unet_course.inference import mirror_pad, overlap_tile_layout

NAMES = ["mirror_tile", "pixel_weight", "rand_fscore", "count_crops"]


@pytest.fixture(scope="module")
def nb():
    return notebook_namespace(
        "09_isbi_paper_experiment", NAMES, preamble="import numpy as np\nfrom scipy import ndimage\n"
    )


@pytest.mark.parametrize("shape", [(40, 56), (40, 56, 3)])
def test_mirror_tile_is_the_input_window_predict_uses(nb, shape):
    rng = np.random.default_rng(0)
    image = rng.random(shape)
    size, margin = 16, 10
    layout = overlap_tile_layout(shape, size + 2 * margin, size)
    padded = mirror_pad(image, layout.padding)
    (top_pad, _), (left_pad, _) = layout.padding
    inside = [(top, left) for top, left in layout.origins if top + size <= shape[0] and left + size <= shape[1]]
    assert len(inside) >= 4  # corners and edges of the image among them
    for top, left in inside:  # (the last row and column of tiles reach past the image: predict pads more there)
        window = nb["mirror_tile"](image, top, left, size, margin)
        assert window.shape[:2] == (size + 2 * margin, size + 2 * margin)
        expected = padded[top + top_pad - margin : top + top_pad - margin + size + 2 * margin,
                          left + left_pad - margin : left + left_pad - margin + size + 2 * margin]  # fmt: skip
        np.testing.assert_array_equal(window, expected)
        np.testing.assert_array_equal(window, ex09.mirror_tile(image, top, left, size, margin))


def test_pixel_weight_is_the_package_weight_map(nb):
    rng = np.random.default_rng(1)
    from scipy import ndimage

    mask = (ndimage.gaussian_filter(rng.random((40, 40)), 2) > 0.5).astype(np.uint8)
    assert ndimage.label(mask)[1] >= 3
    weights = unet_weight_map(mask)
    for y, x in zip(rng.integers(0, 40, 30), rng.integers(0, 40, 30)):
        assert nb["pixel_weight"](mask, int(y), int(x)) == pytest.approx(weights[y, x], rel=1e-5, abs=1e-5)
    row = np.array([[1, 1, 0, 0, 0, 1, 1]], np.uint8)
    assert nb["pixel_weight"](row, 0, 2) == pytest.approx(4 / 3 + 10 * np.exp(-16 / 50))


def test_the_new_exercise_solutions_pass_their_checkers(nb):
    assert ex09.q3.verdict(nb["rand_fscore"]).passed
    assert ex09.q4.verdict(nb["count_crops"]).passed

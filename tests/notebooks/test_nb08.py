"""Notebook 08's teaching code agrees with the package and with NumPy/SciPy (tiles, phase means,
per-image vs pooled IoU, paired bootstrap), and its threshold redraw runs."""

import numpy as np
import pytest

from tests.notebook_code import notebook_namespace
from unet_course.evaluation import evaluate_predictions, threshold_sweep
from unet_course.exercises import ex08

NAMES = ["tiles", "phase_means", "checkerboard", "per_image_and_pooled", "paired_bootstrap", "draw_threshold", "threshold_widget"]


@pytest.fixture(scope="module")
def nb():
    namespace = notebook_namespace("08_evaluation", NAMES, preamble="import numpy as np\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n")
    return namespace


def test_tiles_are_the_slices_cut_row_by_row(nb):
    array = np.arange(2 * 8 * 8 * 3).reshape(2, 8, 8, 3)
    t = nb["tiles"](array, 4)
    assert t.shape == (8, 4, 4, 3)
    np.testing.assert_array_equal(t[1], array[0, 0:4, 4:8])
    np.testing.assert_array_equal(t[2], array[0, 4:8, 0:4])
    np.testing.assert_array_equal(t[7], array[1, 4:8, 4:8])


def test_phase_means_and_the_nyquist_frequency(nb):
    rng = np.random.default_rng(0)
    p = rng.random((3, 16, 16))
    m = nb["phase_means"](p, 2)
    np.testing.assert_allclose(m[1, 0], p[:, 1::2, 0::2].mean())
    # the diagonal Nyquist coefficient of the FFT is the 2x2 checkerboard contrast of the phase means
    f = np.fft.fft2(p)[:, 8, 8].real.mean() / (16 * 16)
    assert f == pytest.approx((m[0, 0] + m[1, 1] - m[0, 1] - m[1, 0]) / 4)
    board = np.indices((16, 16)).sum(0) % 2 * 0.2 + 0.3  # a pure 2x2 checkerboard of 0.3 / 0.5
    assert nb["checkerboard"](board[None], 2) == pytest.approx(0.2)
    assert nb["checkerboard"](np.full((1, 16, 16), 0.7), 4) == pytest.approx(0.0)


def test_per_image_and_pooled_agree_with_the_package_and_the_exercise(nb):
    rng = np.random.default_rng(1)
    truth = rng.random((5, 12, 12)) < 0.3
    pred = np.where(rng.random((5, 12, 12)) < 0.8, truth, ~truth)
    per_image, pooled = nb["per_image_and_pooled"](truth, pred)
    report = evaluate_predictions(truth.astype(int), pred.astype(int), 2, class_names=["bg", "fg"])
    assert pooled == pytest.approx(report["per_class_iou"]["fg"])
    assert per_image == pytest.approx(np.mean([row["iou"]["fg"] for row in report["per_image"]]))
    assert (per_image, pooled) == pytest.approx(ex08.iou_two_ways(truth, pred))


def test_paired_bootstrap_vs_scipy(nb):
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(2)
    a = rng.uniform(0.4, 0.9, 40)
    b = a - 0.01 + rng.normal(0, 0.02, 40)
    mean, low, high = nb["paired_bootstrap"](a, b)
    assert mean == pytest.approx(np.mean(a - b))
    res = scipy_stats.bootstrap((a - b,), np.mean, n_resamples=10_000, method="percentile", random_state=np.random.default_rng(3))
    width = high - low
    assert abs(res.confidence_interval.low - low) < 0.05 * width and abs(res.confidence_interval.high - high) < 0.05 * width
    same = nb["paired_bootstrap"](a, a + 0.05)
    assert same[1] == pytest.approx(-0.05) and same[2] == pytest.approx(-0.05)  # a constant difference: no width


def _view():
    rng = np.random.default_rng(4)
    truth = rng.random((32, 32)) < 0.25
    probability = np.clip(truth * 0.6 + rng.random((32, 32)) * 0.5, 0, 1)
    return rng.random((32, 32)), truth, probability


def test_draw_threshold_scores_match_threshold_sweep(nb):
    import matplotlib.pyplot as plt

    image, truth, probability = _view()
    sweep = threshold_sweep(truth.astype(int), probability, thresholds=[0.3, 0.5, 0.7])
    for i, threshold in enumerate((0.3, 0.5, 0.7)):
        iou, dice = nb["draw_threshold"](threshold, image, truth, probability)
        assert iou == pytest.approx(sweep["iou"][i]) and dice == pytest.approx(sweep["dice"][i])
        plt.close("all")


def test_threshold_widget_redraws_without_error(nb):
    pytest.importorskip("ipywidgets")
    import matplotlib.pyplot as plt

    box, redraw = nb["threshold_widget"](*_view(), threshold=0.4)
    slider = box.children[0]
    for value in (0.05, 0.5, 0.95):
        slider.value = value  # observe -> redraw
        redraw()  # and directly: an exception fails the test
    plt.close("all")

"""Notebook 08's teaching code agrees with the package and with NumPy/SciPy (tiles, phase means,
per-image vs pooled IoU, paired bootstrap); its three data sets are disjoint and its threshold is
chosen on the validation slices only; its exercise solutions pass; its threshold redraw runs."""

import ast

import nbformat
import numpy as np
import pytest

from tests.notebook_code import NOTEBOOKS, notebook_namespace
from unet_course.evaluation import evaluate_predictions, threshold_sweep
from unet_course.exercises import ex08

NAMES = [
    "tiles",
    "phase_means",
    "checkerboard",
    "per_image_and_pooled",
    "paired_bootstrap",
    "draw_threshold",
    "threshold_widget",
]


@pytest.fixture(scope="module")
def nb():
    namespace = notebook_namespace(
        "08_evaluation",
        NAMES,
        preamble="import numpy as np\nimport matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n",
    )
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
    res = scipy_stats.bootstrap(
        (a - b,), np.mean, n_resamples=10_000, method="percentile", random_state=np.random.default_rng(3)
    )
    width = high - low
    assert (
        abs(res.confidence_interval.low - low) < 0.05 * width
        and abs(res.confidence_interval.high - high) < 0.05 * width
    )
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


def _cells():
    for cell in nbformat.read(NOTEBOOKS / "08_evaluation.ipynb", as_version=4).cells:
        if cell.cell_type == "code":
            try:
                yield ast.parse(cell.source)
            except SyntaxError:  # IPython magics (the Colab install)
                continue


def _assigned(tree):
    """{name: value node} of the top-level assignments of a cell (``a, b = x, y`` pairs them up)."""
    found = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        if isinstance(target, ast.Name):
            found[target.id] = value
        elif isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple) and len(target.elts) == len(value.elts):
            found.update({t.id: v for t, v in zip(target.elts, value.elts) if isinstance(t, ast.Name)})
    return found


@pytest.mark.parametrize("fast", [True, False])
def test_the_three_data_sets_are_disjoint(fast):
    statements = {}
    for tree in _cells():
        for name, value in _assigned(tree).items():
            if name in ("TRAIN", "VALIDATION", "HELD_OUT"):
                statements[name] = value

    class Config:
        @staticmethod
        def pick(fast=None, full=None):
            return fast_value(fast, full)

    fast_value = (lambda f, full: f) if fast else (lambda f, full: full)
    ranges = {
        name: range(30)[eval(compile(ast.Expression(value), "08", "eval"), {"config": Config})]
        for name, value in statements.items()
    }
    assert set(ranges) == {"TRAIN", "VALIDATION", "HELD_OUT"}
    assert all(len(r) for r in ranges.values())
    sets = [set(r) for r in ranges.values()]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    if not fast:
        assert ranges["HELD_OUT"] == range(25, 30)  # the slices the other notebooks hold out


def _names(node):
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def test_the_threshold_is_chosen_on_validation_data_only():
    assignments = {}
    for tree in _cells():
        assignments.update(_assigned(tree))
    chosen = assignments["t_chosen"]  # t_chosen = <a sweep>["best_threshold"]
    assert isinstance(chosen, ast.Subscript) and isinstance(chosen.value, ast.Name)
    sweep = assignments[chosen.value.id]
    assert isinstance(sweep, ast.Call) and getattr(sweep.func, "id", "") == "threshold_sweep"
    # everything the sweep reads comes from the validation slices
    read = _names(sweep) - {"threshold_sweep"}
    assert read and all(name.startswith("val_") for name in read), read
    for name in read:
        sources = _names(assignments[name])
        assert "test_images" not in sources and "test_masks" not in sources and "HELD_OUT" not in sources
    assert "VALIDATION" in _names(assignments["val_images"]) and "VALIDATION" in _names(assignments["val_masks"])


def test_notebook_exercise_solutions_pass():
    names = ["iou_two_ways", "pooled_difference_ci", "row_phase_spread", "choose_and_score"]
    nb = notebook_namespace("08_evaluation", names)
    for exercise, name in zip((ex08.q1, ex08.q2, ex08.q3, ex08.q4), names):
        verdict = exercise._run(nb[name])
        assert verdict.passed, (name, verdict.message)


def test_row_phase_spread_sees_stripes_the_checkerboard_metric_also_sees(nb):
    rows = np.indices((1, 8, 8))[1]
    stripes = 0.3 + 0.2 * (rows % 2)
    assert ex08.row_phase_spread(stripes) == pytest.approx(nb["checkerboard"](stripes, 2))

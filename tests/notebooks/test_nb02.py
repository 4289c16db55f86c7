"""Notebook 02 (metrics): its teaching code agrees with the package and with scikit-learn,
the article's functions behave as the notebook says, and the playground draws."""

import matplotlib

matplotlib.use("Agg")

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from tests.notebook_code import notebook_namespace
from sklearn.metrics import f1_score, jaccard_score

from unet_course import metrics
from unet_course.widgets import metrics_playground as playground

NAMES = ["pixel_accuracy", "iou", "dice", "mean_iou", "iou_coef", "dice_coef"]


@pytest.fixture(scope="module")
def nb():
    return notebook_namespace("02_metrics", NAMES)


def _random_pairs(count=25, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        shape = tuple(rng.integers(1, 4, size=1)) + tuple(rng.integers(2, 12, size=2))
        density_true, density_pred = rng.uniform(0.0, 0.7, size=2)
        yield rng.random(shape) < density_true, rng.random(shape) < density_pred


def test_teaching_iou_and_dice_agree_with_package_and_sklearn(nb):
    for y_true, y_pred in _random_pairs():
        for a, b in ((y_true, y_pred), (y_true.astype(np.uint8), y_pred.astype(np.uint8))):
            assert nb["iou"](a, b) == pytest.approx(metrics.iou(a, b))
            assert nb["dice"](a, b) == pytest.approx(metrics.dice(a, b))
        assert nb["iou"](y_true, y_pred) == pytest.approx(jaccard_score(y_true.ravel(), y_pred.ravel(), zero_division=1.0))
        assert nb["dice"](y_true, y_pred) == pytest.approx(f1_score(y_true.ravel(), y_pred.ravel(), zero_division=1.0))


def test_teaching_versions_follow_the_empty_mask_policy(nb):
    empty = np.zeros((3, 4), dtype=np.uint8)
    assert nb["iou"](empty, empty) == metrics.EMPTY_SCORE == nb["dice"](empty, empty)
    one = empty.copy()
    one[1, 1] = 1
    assert nb["iou"](empty, one) == 0.0 == nb["dice"](one, empty)


def test_teaching_pixel_accuracy_and_mean_iou_agree_with_package(nb):
    rng = np.random.default_rng(1)
    for num_classes in (2, 3, 5):
        y_true = rng.integers(0, num_classes, (2, 7, 9))
        y_pred = rng.integers(0, num_classes - 1, (2, 7, 9))  # the last class is never predicted
        assert nb["pixel_accuracy"](y_true, y_pred) == pytest.approx(metrics.pixel_accuracy(y_true, y_pred))
        assert nb["mean_iou"](y_true, y_pred, num_classes) == pytest.approx(metrics.mean_iou(y_true, y_pred, num_classes))
        assert nb["mean_iou"](y_true, y_pred, num_classes + 1) == pytest.approx(metrics.mean_iou(y_true, y_pred, num_classes + 1))


def test_article_functions_in_notebook_equal_the_package_copies(nb):
    rng = np.random.default_rng(2)
    y_true = (rng.random((4, 10, 10, 1)) < 0.2).astype("float32")
    y_pred = rng.random((4, 10, 10, 1)).astype("float32")  # probabilities: the soft scores
    for smooth in (1, 0.5):
        assert float(nb["iou_coef"](y_true, y_pred, smooth)) == pytest.approx(float(metrics.article_iou_coef(y_true, y_pred, smooth)), rel=1e-6)
        assert float(nb["dice_coef"](y_true, y_pred, smooth)) == pytest.approx(float(metrics.article_dice_coef(y_true, y_pred, smooth)), rel=1e-6)


def _image_with(pixels, size=8):
    mask = np.zeros((1, size, size, 1), dtype="float32")
    mask.reshape(-1)[:pixels] = 1
    return mask


@pytest.mark.parametrize("article_iou, article_dice", [("nb", "nb"), ("package", "package")])
def test_article_functions_behave_as_the_notebook_says(nb, article_iou, article_dice):
    iou_coef = nb["iou_coef"] if article_iou == "nb" else metrics.article_iou_coef
    dice_coef = nb["dice_coef"] if article_dice == "nb" else metrics.article_dice_coef
    # empty vs empty gives 1
    assert float(iou_coef(_image_with(0), _image_with(0))) == pytest.approx(1.0)
    assert float(dice_coef(_image_with(0), _image_with(0))) == pytest.approx(1.0)
    # an empty truth with one wrong pixel scores 0.5 (exact: 0)
    assert float(iou_coef(_image_with(0), _image_with(1))) == pytest.approx(0.5)
    assert float(dice_coef(_image_with(0), _image_with(1))) == pytest.approx(0.5)
    assert float(metrics.iou_coef(_image_with(0), _image_with(1))) == 0.0
    # a missed object of k pixels scores 1 / (k + 1)
    for k in (1, 4, 9, 30):
        assert float(iou_coef(_image_with(k), _image_with(0))) == pytest.approx(1 / (k + 1))
    # small objects are inflated: a 2x2 square shifted by one pixel, exact 1/3, article 3/7
    y_true = np.zeros((1, 16, 16, 1), dtype="float32")
    y_true[0, 4:6, 4:6] = 1
    shifted = np.roll(y_true, 1, axis=2)
    assert float(iou_coef(y_true, shifted)) == pytest.approx(3 / 7)
    assert float(metrics.iou_coef(y_true, shifted)) == pytest.approx(1 / 3)
    # the result is one number: a mean over the images
    assert tuple(iou_coef(np.concatenate([y_true, y_true]), np.concatenate([shifted, y_true])).shape) == ()


def test_per_image_and_pooled_differ_as_the_notebook_says(nb):
    y_true = np.zeros((8, 16, 16, 1), dtype="float32")
    y_true[7, :5, :6] = 1  # 30 pixels in the last image, all missed
    y_pred = np.zeros_like(y_true)
    assert float(nb["iou_coef"](y_true, y_pred)) == pytest.approx((7 + 1 / 31) / 8)
    assert float(metrics.iou_coef(y_true, y_pred, per_image=True)) == pytest.approx(7 / 8)
    assert float(metrics.iou_coef(y_true, y_pred, per_image=False)) == 0.0


def test_soft_and_hard_scores(nb):
    y_true = np.zeros((1, 16, 16, 1), dtype="float32")
    y_true[0, 4:8, 4:8] = 1
    probabilities = np.where(y_true > 0, 0.8, 0.2).astype("float32")
    hard = (probabilities > 0.5).astype("float32")
    assert float(nb["iou_coef"](y_true, hard, smooth=0)) == pytest.approx(1.0)
    soft = float(nb["iou_coef"](y_true, probabilities, smooth=0))
    assert soft == pytest.approx(0.8 * 16 / (16 + 0.2 * 240), rel=1e-5) and soft < 0.5


def test_dice_iou_identity_per_pair(nb):
    for y_true, y_pred in _random_pairs(seed=3):
        value = nb["iou"](y_true, y_pred)
        assert nb["dice"](y_true, y_pred) == pytest.approx(float(metrics.dice_from_iou(value)))


def test_keras_meaniou_on_sigmoid_probabilities_is_wrong_and_binaryiou_right():
    y_true = np.zeros((2, 8, 8, 1), dtype="float32")
    y_true[:, 2:5, 2:5] = 1
    probabilities = np.where(y_true > 0, 0.9, 0.1).astype("float32")
    wrong = keras.metrics.MeanIoU(num_classes=2)
    wrong.update_state(y_true, probabilities)
    background = 1 - y_true.mean()
    assert float(wrong.result()) == pytest.approx(background / 2, rel=1e-5)
    right = keras.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.5)
    right.update_state(y_true, probabilities)
    assert float(right.result()) == pytest.approx(1.0)


# --------------------------------------------------------------------------------------
# the playground
# --------------------------------------------------------------------------------------


def test_playground_scores_and_figure():
    perfect = playground.playground_scores(*playground.TRUE_CENTRE, playground.TRUE_RADIUS)
    assert perfect == {"pixel accuracy": 1.0, "IoU": 1.0, "Dice": 1.0}
    far = playground.playground_scores(60, 60, 2)
    assert far["IoU"] == 0.0 and far["pixel accuracy"] > 0.9
    fig = playground.draw_playground(34, 34, 10, "square")
    assert len(fig.axes) == 2
    plt.close(fig)


def test_playground_widget_builds_and_redraws():
    widget = playground.metrics_playground()
    descriptions = {getattr(child, "description", None) for child in widget.children}
    assert {"row", "column", "size", "shape"} <= descriptions
    # ipywidgets only logs an exception raised in a callback: call the callback itself, so one fails the test
    widget.f(**widget.kwargs)
    for child in widget.children:
        if getattr(child, "description", None) == "shape":
            child.value = child.options[-1]
    widget.f(**widget.kwargs)
    plt.close("all")


def test_playground_redraw_errors_are_not_swallowed(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("redraw failed")

    monkeypatch.setattr(playground, "draw_playground", broken)
    widget = playground.metrics_playground()
    with pytest.raises(RuntimeError, match="redraw failed"):
        widget.f(**widget.kwargs)


def test_playground_rejects_bad_arguments():
    with pytest.raises(ValueError, match="circle"):
        playground.shape_mask(16, 5, 5, 3, "triangle")
    with pytest.raises(ValueError, match="radius"):
        playground.shape_mask(16, 5, 5, -1)


def test_article_dice_on_two_channel_one_hot_is_pixel_accuracy_and_the_fix_is_per_class():
    """Notebook 02's channel-axis trap: summed over [1, 2, 3] on one-hot masks with a background
    channel, dice_coef is pixel accuracy; the notebook's foreground_dice (exercise 3's solution) is the
    per-image Dice, and agrees with the checker's NumPy reference on several classes."""
    from unet_course.exercises import ex02

    nb = notebook_namespace("02_metrics", ["dice_coef", "one_hot", "foreground_dice"],
                            preamble="import numpy as np\nimport keras\nfrom keras import layers, ops\n"
                                     "from unet_course import metrics\n")
    rng = np.random.default_rng(3)
    truth = np.zeros((4, 9, 7), dtype=bool)
    truth[:, 2:5, 1:4] = True
    truth[3] = False  # one image without an object
    for prediction in (np.zeros_like(truth), rng.random(truth.shape) < 0.3, truth.copy()):
        two = float(nb["dice_coef"](nb["one_hot"](truth), nb["one_hot"](prediction), smooth=0))
        assert two == pytest.approx(metrics.pixel_accuracy(truth, prediction), abs=1e-6)
        fixed = float(nb["foreground_dice"](nb["one_hot"](truth), nb["one_hot"](prediction)))
        assert fixed == pytest.approx(np.mean([metrics.dice(t, p) for t, p in zip(truth, prediction)]), abs=1e-6)
    lazy = float(nb["foreground_dice"](nb["one_hot"](truth), nb["one_hot"](np.zeros_like(truth))))
    assert lazy == pytest.approx(0.25)  # 3 missed objects score 0, the empty image 1
    for _ in range(5):  # four classes, some absent from some images
        y_true, y_pred = rng.integers(0, 4, (3, 6, 5)), rng.integers(0, 3, (3, 6, 5))
        y_true[0][y_true[0] == 3] = 0
        a, b = nb["one_hot"](y_true, 4), nb["one_hot"](y_pred, 4)
        assert float(nb["foreground_dice"](a, b)) == pytest.approx(ex02.foreground_dice(a, b), abs=1e-6)
        per_class = [[metrics.per_class_dice(t, p, 4)[1:] for t, p in zip(y_true, y_pred)]]
        assert ex02.foreground_dice(a, b) == pytest.approx(float(np.mean(per_class)), abs=1e-6)

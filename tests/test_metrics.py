"""Metrics against independent references: scikit-learn and hand-worked examples."""

import keras
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, jaccard_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from unet_course import metrics as M

RNG = np.random.default_rng(0)


def random_binary(shape=(3, 16, 16), p=0.3, seed=0):
    return (np.random.default_rng(seed).random(shape) < p).astype(np.uint8)


@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_match_sklearn(seed):
    y_true, y_pred = random_binary(seed=seed), random_binary(p=0.4, seed=seed + 100)
    assert M.iou(y_true, y_pred) == pytest.approx(jaccard_score(y_true.ravel(), y_pred.ravel()))
    assert M.dice(y_true, y_pred) == pytest.approx(f1_score(y_true.ravel(), y_pred.ravel()))
    assert M.pixel_accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true.ravel(), y_pred.ravel()))


@pytest.mark.parametrize("seed", range(5))
def test_multiclass_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 4, (2, 12, 12)), rng.integers(0, 4, (2, 12, 12))
    y_pred[y_true == 2] = 2  # some agreement
    reference = jaccard_score(y_true.ravel(), y_pred.ravel(), average=None, labels=range(4), zero_division=1.0)
    np.testing.assert_allclose(M.per_class_iou(y_true, y_pred, 4), reference)
    assert M.mean_iou(y_true, y_pred, 4) == pytest.approx(reference.mean())
    np.testing.assert_allclose(
        M.per_class_dice(y_true, y_pred, 4),
        f1_score(y_true.ravel(), y_pred.ravel(), average=None, labels=range(4), zero_division=1.0),
    )


def test_absent_class_follows_empty_policy_like_sklearn_zero_division_1():
    y_true = np.array([[0, 0, 1, 1]])
    y_pred = np.array([[0, 1, 1, 1]])  # class 2 in neither
    scores = M.per_class_iou(y_true, y_pred, 3)
    assert scores[2] == M.EMPTY_SCORE == 1.0
    np.testing.assert_allclose(
        scores, jaccard_score(y_true.ravel(), y_pred.ravel(), average=None, labels=[0, 1, 2], zero_division=1.0)
    )


def test_hand_worked_example():
    # truth: 4 pixels; prediction: 3 pixels, 2 of them right -> IoU 2/5, Dice 4/7
    y_true = np.array([[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    y_pred = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]])
    assert M.iou(y_true, y_pred) == pytest.approx(2 / 5)
    assert M.dice(y_true, y_pred) == pytest.approx(4 / 7)
    assert M.pixel_accuracy(y_true, y_pred) == pytest.approx(6 / 9)


def test_empty_masks_all_right_all_wrong():
    empty = np.zeros((4, 4), dtype=int)
    full = np.ones((4, 4), dtype=int)
    assert M.iou(empty, empty) == M.dice(empty, empty) == M.EMPTY_SCORE
    assert M.iou(empty, full) == M.dice(empty, full) == 0.0
    assert M.iou(full, empty) == 0.0
    assert M.iou(full, full) == M.dice(full, full) == 1.0
    assert M.pixel_accuracy(full, 1 - full) == 0.0


def test_dice_is_2iou_over_1_plus_iou():
    for seed in range(10):
        y_true, y_pred = random_binary(seed=seed), random_binary(p=0.5, seed=seed + 50)
        i, d = M.iou(y_true, y_pred), M.dice(y_true, y_pred)
        assert d == pytest.approx(2 * i / (1 + i))
        assert d == pytest.approx(float(M.dice_from_iou(i)))


def test_background_everywhere_trap():
    from unet_course.data import make_shapes

    _, masks = make_shapes(10, 64, imbalanced=True)
    prediction = np.zeros_like(masks)
    assert M.pixel_accuracy(masks, prediction) > 0.98
    assert M.iou(masks > 0, prediction > 0) == 0.0


@pytest.mark.parametrize("per_image", [True, False])
def test_keras_versions_equal_numpy_on_hard_masks(per_image):
    y_true, y_pred = random_binary((4, 8, 8, 1), seed=1), random_binary((4, 8, 8, 1), p=0.5, seed=2)
    y_true[0] = 0
    y_pred[0] = 0  # an image where both are empty: the policy applies per image too
    if per_image:
        expected_iou = np.mean([M.iou(t, p) for t, p in zip(y_true, y_pred)])
        expected_dice = np.mean([M.dice(t, p) for t, p in zip(y_true, y_pred)])
    else:
        expected_iou, expected_dice = M.iou(y_true, y_pred), M.dice(y_true, y_pred)
    assert float(M.iou_coef(y_true, y_pred, per_image=per_image)) == pytest.approx(expected_iou, abs=1e-6)
    assert float(M.dice_coef(y_true, y_pred, per_image=per_image)) == pytest.approx(expected_dice, abs=1e-6)


def test_smooth_reproduces_the_article_formula():
    y_true = np.zeros((1, 4, 4, 1))
    y_pred = np.zeros((1, 4, 4, 1))
    y_pred[0, 0, 0, 0] = 1  # one false pixel on an empty truth
    # article: (0 + 1) / (1 + 1) = 0.5, where the exact IoU is 0
    assert float(M.iou_coef(y_true, y_pred, smooth=1)) == pytest.approx(0.5)
    assert float(M.iou_coef(y_true, y_pred)) == 0.0
    assert float(M.dice_coef(y_true, y_pred, smooth=1)) == pytest.approx(1 / 2)


def test_metric_classes_match_numpy_and_keras_meaniou():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 3, (2, 8, 8))
    logits = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    probabilities = np.asarray(keras.ops.softmax(logits))
    labels = probabilities.argmax(-1)
    metric = M.IoUScore(3, class_ids=[0, 1, 2])
    metric.update_state(y_true[:1], probabilities[:1])
    metric.update_state(y_true[1:], probabilities[1:])  # accumulates over batches
    assert float(metric.result()) == pytest.approx(M.mean_iou(y_true, labels, 3), abs=1e-6)
    reference = keras.metrics.MeanIoU(num_classes=3, sparse_y_pred=False)
    reference.update_state(y_true, probabilities)
    assert float(metric.result()) == pytest.approx(float(reference.result()), abs=1e-6)
    dice = M.DiceScore(3)  # default: foreground classes 1 and 2
    dice.update_state(y_true, probabilities)
    assert float(dice.result()) == pytest.approx(M.per_class_dice(y_true, labels, 3)[1:].mean(), abs=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 1.0  # nothing seen: empty policy


def test_metric_class_binary_sigmoid_output():
    y_true = np.array([[[0, 1], [1, 1]]])
    y_prob = np.array([[[0.2, 0.9], [0.4, 0.7]]])[..., None]
    metric = M.IoUScore(1)
    metric.update_state(y_true, y_prob)
    assert float(metric.result()) == pytest.approx(M.iou(y_true, y_prob[..., 0] > 0.5))


def test_metric_serializes():
    metric = M.DiceScore(4, class_ids=[1, 3], name="d")
    clone = M.DiceScore.from_config(metric.get_config())
    assert clone.class_ids == [1, 3] and clone.num_classes == 4 and clone.name == "d"


@pytest.mark.parametrize(
    "call, phrase",
    [
        (lambda: M.iou(np.zeros((4, 4)), np.zeros((4, 5))), "must match"),
        (lambda: M.iou(np.zeros((2, 4, 4)), np.zeros((2, 4, 4, 3))), "argmax"),
        (lambda: M.iou(np.array([[0, 2]]), np.array([[0, 1]])), "binary"),
        (lambda: M.iou(np.array([[0.2, 0.9]]), np.array([[0, 1]])), "Threshold"),
        (lambda: M.per_class_iou(np.array([[0, 255]]), np.array([[0, 1]]), 2), "255"),
        (lambda: M.mean_iou(np.array([[0, 1]]), np.array([[0, 1]]), 0), "num_classes"),
        (lambda: M.iou(np.array([]), np.array([])), "empty"),
        (lambda: M.IoUScore(3, class_ids=[5]), "class_ids"),
    ],
)
def test_bad_input_gives_clear_value_error(call, phrase):
    with pytest.raises(ValueError, match=phrase):
        call()


# --- ignore_index in the metrics: ignored pixels count for nothing, checked against scikit-learn
# on the kept pixels and against the same metric on data without the void pixels.
def data_with_void(seed, num_classes=3, void=255, shape=(2, 10, 12)):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, num_classes, shape)
    y_pred = rng.integers(0, num_classes, shape)
    y_pred[y_true == 1] = 1  # some agreement
    void_pixels = rng.random(shape) < 0.3
    y_true[void_pixels] = void
    return y_true, y_pred, ~void_pixels


@pytest.mark.parametrize("seed", range(4))
def test_numpy_metrics_with_ignore_match_sklearn_on_kept_pixels(seed):
    y_true, y_pred, keep = data_with_void(seed)
    t, p = y_true[keep], y_pred[keep]
    labels = [0, 1, 2]
    np.testing.assert_array_equal(
        M.confusion_matrix(y_true, y_pred, 3, ignore_index=255), sk_confusion_matrix(t, p, labels=labels)
    )
    iou = jaccard_score(t, p, average=None, labels=labels, zero_division=1.0)
    np.testing.assert_allclose(M.per_class_iou(y_true, y_pred, 3, ignore_index=255), iou)
    np.testing.assert_allclose(
        M.per_class_dice(y_true, y_pred, 3, ignore_index=255),
        f1_score(t, p, average=None, labels=labels, zero_division=1.0),
    )
    assert M.mean_iou(y_true, y_pred, 3, ignore_index=255) == pytest.approx(iou.mean())
    assert M.pixel_accuracy(y_true, y_pred, ignore_index=255) == pytest.approx(accuracy_score(t, p))
    # the ignored pixels do change the plain accuracy: the test can tell the two apart
    assert M.pixel_accuracy(y_true, y_pred) != pytest.approx(accuracy_score(t, p))


def test_whatever_is_predicted_on_void_pixels_does_not_matter():
    y_true, y_pred, keep = data_with_void(7)
    other = y_pred.copy()
    other[~keep] = (other[~keep] + 1) % 3
    for function in (M.per_class_iou, M.per_class_dice, M.confusion_matrix):
        np.testing.assert_array_equal(
            function(y_true, y_pred, 3, ignore_index=255), function(y_true, other, 3, ignore_index=255)
        )
    # without ignore_index, 255 is not a class id: a clear error
    with pytest.raises(ValueError, match="class id 255"):
        M.per_class_iou(y_true, y_pred, 3)


def test_ignore_index_may_be_one_of_the_classes():
    y_true = np.array([[0, 1, 2, 2]])
    y_pred = np.array([[0, 2, 2, 1]])
    matrix = M.confusion_matrix(y_true, y_pred, 3, ignore_index=2)
    np.testing.assert_array_equal(matrix, [[1, 0, 0], [0, 0, 1], [0, 0, 0]])
    assert M.pixel_accuracy(y_true, y_pred, ignore_index=2) == 0.5


def test_hand_worked_void_example():
    y_true = np.array([[0, 0, 1, 1, 255, 255]])
    y_pred = np.array([[0, 1, 1, 1, 1, 0]])
    # kept: truth 0 0 1 1, prediction 0 1 1 1 -> class 1: intersection 2, union 3
    np.testing.assert_allclose(M.per_class_iou(y_true, y_pred, 2, ignore_index=255), [1 / 2, 2 / 3])
    np.testing.assert_allclose(M.per_class_dice(y_true, y_pred, 2, ignore_index=255), [2 / 3, 4 / 5])
    assert M.pixel_accuracy(y_true, y_pred, ignore_index=255) == 0.75


def test_all_pixels_ignored():
    void = np.full((3, 3), 255)
    assert M.confusion_matrix(void, np.zeros((3, 3), int), 2, ignore_index=255).sum() == 0
    with pytest.raises(ValueError, match="nothing to score"):
        M.pixel_accuracy(void, np.zeros((3, 3), int), ignore_index=255)
    with pytest.raises(ValueError, match="ignore_index must be a whole number"):
        M.pixel_accuracy(void, void, ignore_index="void")


@pytest.mark.parametrize("metric_class, reference", [(M.IoUScore, jaccard_score), (M.DiceScore, f1_score)])
def test_keras_metric_classes_ignore_void_pixels(metric_class, reference):
    y_true, y_pred, keep = data_with_void(3)
    probabilities = keras.ops.convert_to_numpy(keras.ops.one_hot(y_pred, 3)) * 0.8 + 0.05
    metric = metric_class(3, class_ids=[0, 1, 2], ignore_index=255)
    metric.update_state(y_true[:1], probabilities[:1])  # two batches, pooled
    metric.update_state(y_true[1:], probabilities[1:])
    expected = reference(y_true[keep], y_pred[keep], average=None, labels=[0, 1, 2], zero_division=1.0).mean()
    assert float(metric.result()) == pytest.approx(expected, abs=1e-6)
    restored = metric_class.from_config(metric.get_config())
    assert restored.ignore_index == 255


def test_keras_metric_sigmoid_output_with_void():
    y_true = np.array([[[1, 0, 255, 255]]])
    y_prob = np.array([[[[0.9], [0.8], [0.9], [0.1]]]], dtype="float32")  # predicts 1, 1, (1, 0 on void)
    metric = M.IoUScore(1, ignore_index=255)
    metric.update_state(y_true, y_prob)
    assert float(metric.result()) == pytest.approx(0.5)  # class 1: intersection 1, union 2
    plain = M.IoUScore(1)
    plain.update_state(np.array([[[1, 0]]]), y_prob[:, :, :2])
    assert float(plain.result()) == pytest.approx(0.5)

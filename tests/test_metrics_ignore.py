"""ignore_index in the metrics: ignored pixels count for nothing, checked against scikit-learn
on the kept pixels and against the same metric on data without the void pixels."""

import keras
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, jaccard_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from unet_course import metrics as M


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

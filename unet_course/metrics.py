"""Segmentation metrics: pixel accuracy, IoU (Jaccard index) and Dice (F1 score).

Three layers, each checked against the one before it in ``tests/test_metrics.py``:

1. **NumPy reference** (``pixel_accuracy``, ``iou``, ``dice``, ``per_class_iou``,
   ``per_class_dice``, ``mean_iou``, ``confusion_matrix``): plain, readable, checked
   against scikit-learn and hand-worked examples.
2. **keras.ops versions** (``iou_coef``, ``dice_coef``): the article's formulas, for
   training code on any backend; they take probabilities (soft) or 0/1 masks (hard),
   a ``smooth`` term and a choice of per-image or pooled averaging.
   ``article_iou_coef``/``article_dice_coef`` keep the article's code as written, for comparison.
3. **keras.metrics.Metric classes** (``IoUScore``, ``DiceScore``) for ``model.compile``.

Empty-mask policy
-----------------
When the ground truth *and* the prediction are both empty for a class, there is nothing
to find and nothing was found: IoU and Dice are **1.0** (``EMPTY_SCORE``). Every function
in this module follows this one rule (scikit-learn's ``zero_division=1.0`` does the same).
When only one of them is empty the score is 0.0, as the formulas give.

Ignored pixels
--------------
``confusion_matrix``, ``per_class_iou``, ``per_class_dice``, ``mean_iou``, ``pixel_accuracy``
and the ``IoUScore``/``DiceScore`` metric classes take ``ignore_index`` (default ``None``):
pixels whose *true* label equals it (void, as PASCAL VOC's 255) are left out of every count,
whatever was predicted there. It may be a value outside ``0 .. num_classes - 1`` (the usual
case) or one of the classes. ``tests/test_metrics_ignore.py`` checks the results against
scikit-learn on the pixels that are kept.

Definitions, with ``A`` the true pixels and ``B`` the predicted pixels of one class:

- IoU  = |A ∩ B| / |A ∪ B|
- Dice = 2 |A ∩ B| / (|A| + |B|)
- Dice = 2 IoU / (1 + IoU), so the two rank predictions the same way.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from unet_course._validation import as_mask_array, check_binary, check_class_ids, check_positive_int, check_same_shape

#: IoU and Dice when ground truth and prediction are both empty (see the module docstring).
EMPTY_SCORE = 1.0

# --------------------------------------------------------------------------------------
# 1. NumPy reference
# --------------------------------------------------------------------------------------


def _pair(y_true, y_pred):
    y_true = as_mask_array("y_true", y_true)
    y_pred = as_mask_array("y_pred", y_pred)
    check_same_shape(y_true, y_pred)
    return y_true, y_pred


def _check_ignore_index(ignore_index):
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
        raise ValueError(
            f"ignore_index must be a whole number (the label of void pixels, e.g. 255) or None, got {ignore_index!r}."
        )
    return int(ignore_index)


def _kept(y_true, y_pred, ignore_index):
    """The pixels of (y_true, y_pred) whose true label is not ``ignore_index``, flattened."""
    ignore_index = _check_ignore_index(ignore_index)
    if ignore_index is None:
        return y_true.ravel(), y_pred.ravel()
    keep = y_true.ravel() != ignore_index
    return y_true.ravel()[keep], y_pred.ravel()[keep]


def pixel_accuracy(y_true, y_pred, ignore_index: int | None = None) -> float:
    """Fraction of pixels whose predicted class equals the true class (any number of classes).

    Pixels whose true label is ``ignore_index`` are left out.

    >>> pixel_accuracy([[0, 1, 255]], [[0, 0, 1]], ignore_index=255)  # 1 right of the 2 kept
    0.5
    """
    y_true, y_pred = _kept(*_pair(y_true, y_pred), ignore_index)
    if y_true.size == 0:
        raise ValueError(f"Every pixel of y_true is ignore_index={ignore_index}: there is nothing to score.")
    return float(np.mean(y_true == y_pred))


def _ratio(numerator: float, denominator: float) -> float:
    return EMPTY_SCORE if denominator == 0 else float(numerator / denominator)


def iou(y_true, y_pred) -> float:
    """IoU (Jaccard index) of two binary masks, pooled over all their pixels.

    >>> iou([[1, 1, 0, 0]], [[0, 1, 1, 0]])  # 1 pixel in common, 3 in the union
    0.3333333333333333
    """
    y_true, y_pred = _pair(y_true, y_pred)
    a, b = check_binary("y_true", y_true), check_binary("y_pred", y_pred)
    return _ratio(np.sum(a & b), np.sum(a | b))


def dice(y_true, y_pred) -> float:
    """Dice coefficient (F1 score) of two binary masks, pooled over all their pixels.

    >>> dice([[1, 1, 0, 0]], [[0, 1, 1, 0]])  # 2*1 / (2 + 2)
    0.5
    """
    y_true, y_pred = _pair(y_true, y_pred)
    a, b = check_binary("y_true", y_true), check_binary("y_pred", y_pred)
    return _ratio(2 * np.sum(a & b), np.sum(a) + np.sum(b))


def confusion_matrix(y_true, y_pred, num_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """``(num_classes, num_classes)`` pixel counts: row = true class, column = predicted class.

    Pixels whose true label is ``ignore_index`` are not counted (whatever was predicted there).

    >>> confusion_matrix([[0, 1, 1, 255]], [[0, 1, 0, 1]], 2, ignore_index=255)
    array([[1, 0],
           [1, 1]])
    """
    num_classes = check_positive_int("num_classes", num_classes)
    y_true, y_pred = _kept(*_pair(y_true, y_pred), ignore_index)
    if y_true.size == 0:
        return np.zeros((num_classes, num_classes), dtype=np.int64)
    check_class_ids("y_true", y_true, num_classes)
    check_class_ids("y_pred", y_pred, num_classes)
    index = y_true.astype(np.int64) * num_classes + y_pred.astype(np.int64)
    return np.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def iou_from_confusion(matrix) -> np.ndarray:
    """Per-class IoU from a confusion matrix (rows true, columns predicted); absent -> ``EMPTY_SCORE``."""
    matrix = np.asarray(matrix)
    intersection = np.diag(matrix)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - intersection
    return np.array([_ratio(i, u) for i, u in zip(intersection, union)])


def dice_from_confusion(matrix) -> np.ndarray:
    """Per-class Dice from a confusion matrix (rows true, columns predicted); absent -> ``EMPTY_SCORE``."""
    matrix = np.asarray(matrix)
    intersection = np.diag(matrix)
    sizes = matrix.sum(axis=0) + matrix.sum(axis=1)
    return np.array([_ratio(2 * i, s) for i, s in zip(intersection, sizes)])


def per_class_iou(y_true, y_pred, num_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """IoU of each class of two class-id masks, shape ``(num_classes,)``.

    A class absent from both masks scores ``EMPTY_SCORE``. Pixels whose true label is
    ``ignore_index`` are left out.
    """
    return iou_from_confusion(confusion_matrix(y_true, y_pred, num_classes, ignore_index))


def per_class_dice(y_true, y_pred, num_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """Dice of each class of two class-id masks, shape ``(num_classes,)``; ``ignore_index`` as above."""
    return dice_from_confusion(confusion_matrix(y_true, y_pred, num_classes, ignore_index))


def mean_iou(y_true, y_pred, num_classes: int, ignore_index: int | None = None) -> float:
    """Mean of ``per_class_iou`` over all classes (background included); ``ignore_index`` as above."""
    return float(np.mean(per_class_iou(y_true, y_pred, num_classes, ignore_index)))


def dice_from_iou(iou_value):
    """Dice = 2 IoU / (1 + IoU): the two metrics are a monotonic function of each other."""
    iou_value = np.asarray(iou_value, dtype=float)
    return 2 * iou_value / (1 + iou_value)


# --------------------------------------------------------------------------------------
# 2. keras.ops versions (backend-agnostic, differentiable)
# --------------------------------------------------------------------------------------


def _sums(y_true, y_pred, per_image: bool):
    y_true = ops.cast(ops.convert_to_tensor(y_true), "float32")
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), "float32")
    if len(y_true.shape) != len(y_pred.shape):
        raise ValueError(
            f"y_true has rank {len(y_true.shape)} and y_pred rank {len(y_pred.shape)}; give both the same "
            "layout, e.g. (batch, height, width, channels). One-hot encode class ids first."
        )
    axes = list(range(1, len(y_true.shape))) if per_image else None
    intersection = ops.sum(y_true * y_pred, axis=axes)
    total = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
    return intersection, total


def iou_coef(y_true, y_pred, smooth: float = 0.0, per_image: bool = True):
    """IoU in ``keras.ops``: the article's ``iou_coef`` with the course's empty-mask policy.

    Args:
        y_true: 0/1 masks, e.g. ``(batch, H, W, 1)`` or one-hot ``(batch, H, W, C)``.
        y_pred: probabilities (a *soft* IoU, differentiable) or 0/1 (the hard IoU).
        smooth: added to numerator and denominator, as in the article (which uses 1).
            It keeps the division defined, but it also shifts every score, most for
            small objects; with ``smooth=0`` empty-vs-empty follows ``EMPTY_SCORE``.
        per_image: ``True`` averages the IoU of each image (the article's
            ``axis=[1,2,3]`` then mean); ``False`` pools all pixels of the batch first.

    With hard 0/1 inputs and ``smooth=0``, ``per_image=False`` equals :func:`iou`.
    """
    intersection, total = _sums(y_true, y_pred, per_image)
    union = total - intersection
    if smooth:
        score = (intersection + smooth) / (union + smooth)
    else:
        score = ops.where(union > 0, intersection / ops.maximum(union, 1e-12), EMPTY_SCORE)
    return ops.mean(score)


def dice_coef(y_true, y_pred, smooth: float = 0.0, per_image: bool = True):
    """Dice in ``keras.ops``: the article's ``dice_coef``; arguments as in :func:`iou_coef`."""
    intersection, total = _sums(y_true, y_pred, per_image)
    if smooth:
        score = (2.0 * intersection + smooth) / (total + smooth)
    else:
        score = ops.where(total > 0, 2.0 * intersection / ops.maximum(total, 1e-12), EMPTY_SCORE)
    return ops.mean(score)


def article_iou_coef(y_true, y_pred, smooth=1):
    """The article's ``iou_coef``, as written, with ``keras.backend`` translated to ``keras.ops``.

    Kept for comparison in notebook 02 (prefer :func:`iou_coef`). It expects rank-4 inputs
    ``(batch, H, W, channels)``, sums each image over ``axis=[1, 2, 3]``, adds ``smooth`` to
    numerator and denominator, and averages the per-image scores. Consequences shown in the
    notebook: empty vs empty gives 1, an empty truth with one wrong pixel gives 0.5, and a
    missed object of ``k`` pixels still scores ``1 / (k + 1)``. The only change to the
    article's code is the cast to float32, so that integer masks work.
    """
    y_true = ops.cast(ops.convert_to_tensor(y_true), "float32")
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), "float32")
    intersection = ops.sum(ops.abs(y_true * y_pred), axis=[1, 2, 3])
    union = ops.sum(y_true, [1, 2, 3]) + ops.sum(y_pred, [1, 2, 3]) - intersection
    iou = ops.mean((intersection + smooth) / (union + smooth), axis=0)
    return iou


def article_dice_coef(y_true, y_pred, smooth=1):
    """The article's ``dice_coef``, as written, in ``keras.ops``; see :func:`article_iou_coef`.

    The article's variable ``union`` holds ``|A| + |B|`` (the sum of both masks), not the union.
    """
    y_true = ops.cast(ops.convert_to_tensor(y_true), "float32")
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), "float32")
    intersection = ops.sum(y_true * y_pred, axis=[1, 2, 3])
    union = ops.sum(y_true, axis=[1, 2, 3]) + ops.sum(y_pred, axis=[1, 2, 3])
    dice = ops.mean((2.0 * intersection + smooth) / (union + smooth), axis=0)
    return dice


# --------------------------------------------------------------------------------------
# 3. keras.metrics.Metric classes for model.compile
# --------------------------------------------------------------------------------------


class _OverlapScore(keras.metrics.Metric):
    """Accumulates per-class intersection and sizes over batches (pooled over the epoch).

    ``y_true`` holds class ids, ``(batch, H, W)`` or ``(batch, H, W, 1)``; ``y_pred`` holds
    the model's probabilities ``(batch, H, W, C)``: argmax over C classes, or a threshold
    when C is 1 (sigmoid output). The result is the mean over ``class_ids`` (default: every
    class but background 0, or class 1 for a sigmoid output). Pixels whose true label is
    ``ignore_index`` are not counted.
    """

    def __init__(
        self, num_classes: int, class_ids=None, threshold: float = 0.5, ignore_index=None, name=None, dtype=None
    ):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = check_positive_int("num_classes", num_classes)
        self.threshold = float(threshold)
        self.ignore_index = _check_ignore_index(ignore_index)
        classes = max(2, self.num_classes)
        if class_ids is None:
            class_ids = list(range(1, classes)) if classes > 1 else [0]
        class_ids = [int(c) for c in class_ids]
        for c in class_ids:
            if not 0 <= c < classes:
                raise ValueError(f"class_ids holds {c}, outside 0..{classes - 1} for num_classes={num_classes}.")
        self.class_ids = class_ids
        self.intersection = self.add_weight(shape=(classes,), initializer="zeros", name="intersection")
        self.total = self.add_weight(shape=(classes,), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        classes = max(2, self.num_classes)
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.squeeze(y_true, axis=-1)
        y_true = ops.cast(y_true, "int32")
        if y_pred.shape[-1] == 1:
            labels = ops.cast(ops.squeeze(y_pred, axis=-1) > self.threshold, "int32")
        else:
            labels = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        y_true = ops.reshape(y_true, (-1,))
        labels = ops.reshape(labels, (-1,))
        if self.ignore_index is None:
            true_1h = ops.one_hot(y_true, classes)
            pred_1h = ops.one_hot(labels, classes)
        else:
            keep = ops.expand_dims(ops.cast(ops.not_equal(y_true, self.ignore_index), "float32"), -1)
            y_true = ops.where(ops.equal(y_true, self.ignore_index), ops.zeros_like(y_true), y_true)
            true_1h = ops.one_hot(y_true, classes) * keep
            pred_1h = ops.one_hot(labels, classes) * keep
        self.intersection.assign_add(ops.sum(true_1h * pred_1h, axis=0))
        self.total.assign_add(ops.sum(true_1h, axis=0) + ops.sum(pred_1h, axis=0))

    def _score(self, intersection, total):
        raise NotImplementedError

    def result(self):
        index = ops.convert_to_tensor(self.class_ids)
        intersection = ops.take(self.intersection, index)
        total = ops.take(self.total, index)
        return ops.mean(self._score(intersection, total))

    def reset_state(self):
        for variable in (self.intersection, self.total):
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "class_ids": self.class_ids,
            "threshold": self.threshold,
            "ignore_index": self.ignore_index,
        }


@keras.saving.register_keras_serializable(package="unet_course")
class IoUScore(_OverlapScore):
    """Mean IoU over ``class_ids``, pooled over the epoch; takes probabilities, not class ids."""

    def __init__(
        self, num_classes: int, class_ids=None, threshold: float = 0.5, ignore_index=None, name="iou", dtype=None
    ):
        super().__init__(num_classes, class_ids, threshold, ignore_index, name=name, dtype=dtype)

    def _score(self, intersection, total):
        union = total - intersection
        return ops.where(union > 0, intersection / ops.maximum(union, 1e-12), EMPTY_SCORE)


@keras.saving.register_keras_serializable(package="unet_course")
class DiceScore(_OverlapScore):
    """Mean Dice over ``class_ids``, pooled over the epoch; takes probabilities, not class ids."""

    def __init__(
        self, num_classes: int, class_ids=None, threshold: float = 0.5, ignore_index=None, name="dice", dtype=None
    ):
        super().__init__(num_classes, class_ids, threshold, ignore_index, name=name, dtype=dtype)

    def _score(self, intersection, total):
        return ops.where(total > 0, 2.0 * intersection / ops.maximum(total, 1e-12), EMPTY_SCORE)

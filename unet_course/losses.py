"""Losses for segmentation: cross-entropy (per-pixel and class weights), soft Dice, and both.

All take ``y_true`` as class ids ``(batch, H, W)`` or ``(batch, H, W, 1)`` and ``y_pred``
as the model's probabilities ``(batch, H, W, C)`` (softmax), or ``(batch, H, W, 1)``
(sigmoid, binary). Written with ``keras.ops`` only, so they run on every backend, and
registered so that a saved ``.keras`` model loads with its loss.

Three ways to weight pixels, which combine:

- ``class_weights``: one weight per class (a rare class counts more);
- ``ignore_index``: pixels with this label (void, e.g. PASCAL VOC's 255) count for
  nothing, in the loss and in its normalisation;
- per-pixel weights (the paper's weight map, :mod:`unet_course.data.weight_map`): passed
  to ``fit`` as ``sample_weight`` (the third element of each batch from
  :func:`~unet_course.data.pipeline.make_dataset`). :class:`CrossEntropy` returns one value
  per pixel so that Keras can apply them; Dice has no per-pixel form.
"""

from __future__ import annotations

import keras
from keras import ops

_EPSILON = 1e-7


def _prepare(y_true, y_pred, ignore_index):
    """Class ids ``(B, H, W)`` int32 with ignored pixels set to 0, and the valid mask (float)."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == len(y_pred.shape):
        y_true = ops.squeeze(y_true, axis=-1)
    y_true = ops.cast(y_true, "int32")
    if ignore_index is None:
        valid = ops.ones_like(y_true, dtype=y_pred.dtype)
    else:
        valid = ops.cast(ops.not_equal(y_true, ignore_index), y_pred.dtype)
        y_true = ops.where(ops.not_equal(y_true, ignore_index), y_true, ops.zeros_like(y_true))
    return y_true, y_pred, valid


def _one_hot(y_true, y_pred):
    num_classes = y_pred.shape[-1]
    if num_classes == 1:  # sigmoid output: one foreground channel
        return ops.expand_dims(ops.cast(y_true, y_pred.dtype), -1)
    return ops.one_hot(y_true, num_classes, dtype=y_pred.dtype)


def pixel_cross_entropy(y_true, y_pred, *, class_weights=None, ignore_index=None):
    """Cross-entropy of every pixel ``(B, H, W)``, weighted by class, 0 on ignored pixels.

    Values are rescaled per image by ``pixels / valid pixels``, so that their mean is the
    mean over the pixels that count, however many are ignored.
    """
    y_true, y_pred, valid = _prepare(y_true, y_pred, ignore_index)
    probabilities = ops.clip(y_pred, _EPSILON, 1.0 - _EPSILON)
    if y_pred.shape[-1] == 1:
        p = probabilities[..., 0]
        target = ops.cast(y_true, p.dtype)
        ce = -(target * ops.log(p) + (1.0 - target) * ops.log(1.0 - p))
    else:
        ce = -ops.log(ops.sum(_one_hot(y_true, y_pred) * probabilities, axis=-1))
    if class_weights is not None:
        weights = ops.convert_to_tensor(list(class_weights), dtype=y_pred.dtype)
        ce = ce * ops.take(weights, y_true)
    ce = ce * valid
    pixels = ops.cast(ops.prod(ops.shape(valid)[1:]), y_pred.dtype)
    counted = ops.maximum(ops.sum(valid, axis=(1, 2), keepdims=True), 1.0)
    return ce * (pixels / counted)


def soft_dice_loss(y_true, y_pred, smooth: float = 1.0, *, ignore_index=None, class_weights=None):
    """1 - mean soft Dice over the classes (per image; one value per image).

    ``smooth`` keeps the loss defined for an image where a class is absent from both
    truth and prediction; it also changes the loss (and its gradient) on empty and small
    masks, so keep it small next to object sizes. Ignored pixels are left out of both the
    intersection and the sizes. ``class_weights`` makes the mean over classes a weighted
    mean.
    """
    y_true, y_pred, valid = _prepare(y_true, y_pred, ignore_index)
    one_hot = _one_hot(y_true, y_pred) * valid[..., None]
    predicted = y_pred * valid[..., None]
    axes = list(range(1, len(y_pred.shape) - 1))  # spatial axes
    intersection = ops.sum(one_hot * predicted, axis=axes)
    total = ops.sum(one_hot, axis=axes) + ops.sum(predicted, axis=axes)
    dice = (2.0 * intersection + smooth) / (total + smooth)
    if class_weights is None:
        return 1.0 - ops.mean(dice, axis=-1)
    weights = ops.convert_to_tensor(list(class_weights), dtype=y_pred.dtype)
    return 1.0 - ops.sum(dice * weights, axis=-1) / ops.sum(weights)


def _check_options(class_weights, ignore_index):
    if class_weights is not None:
        class_weights = [float(w) for w in class_weights]
        if any(w < 0 for w in class_weights) or not any(class_weights):
            raise ValueError(f"class_weights must be non-negative and not all 0, got {class_weights!r}.")
    if ignore_index is not None and (not isinstance(ignore_index, int) or ignore_index < 0):
        raise ValueError(f"ignore_index must be a non-negative integer label (e.g. 255) or None, got {ignore_index!r}.")
    return class_weights, ignore_index


@keras.saving.register_keras_serializable(package="unet_course")
class CrossEntropy(keras.losses.Loss):
    """Cross-entropy with class weights, an ignore value and per-pixel weights.

    Returns one value per pixel, so ``fit`` applies per-pixel ``sample_weight`` (the
    paper's weight map) pixel by pixel. Without options it equals
    ``keras.losses.SparseCategoricalCrossentropy``.
    """

    def __init__(self, class_weights=None, ignore_index=None, name: str = "cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.class_weights, self.ignore_index = _check_options(class_weights, ignore_index)

    def call(self, y_true, y_pred):
        return pixel_cross_entropy(y_true, y_pred, class_weights=self.class_weights, ignore_index=self.ignore_index)

    def get_config(self):
        return {**super().get_config(), "class_weights": self.class_weights, "ignore_index": self.ignore_index}


@keras.saving.register_keras_serializable(package="unet_course")
class DiceLoss(keras.losses.Loss):
    """Soft Dice loss (see :func:`soft_dice_loss`)."""

    def __init__(self, smooth: float = 1.0, class_weights=None, ignore_index=None, name: str = "dice_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smooth = float(smooth)
        self.class_weights, self.ignore_index = _check_options(class_weights, ignore_index)

    def call(self, y_true, y_pred):
        return soft_dice_loss(
            y_true, y_pred, self.smooth, ignore_index=self.ignore_index, class_weights=self.class_weights
        )

    def get_config(self):
        return {
            **super().get_config(),
            "smooth": self.smooth,
            "class_weights": self.class_weights,
            "ignore_index": self.ignore_index,
        }


@keras.saving.register_keras_serializable(package="unet_course")
class CrossEntropyDiceLoss(keras.losses.Loss):
    """Cross-entropy + ``dice_weight`` x soft Dice loss (one value per image).

    Cross-entropy gives every pixel a clear gradient; Dice counts every class equally,
    however few pixels it has. Their sum is a common default for imbalanced masks.
    ``class_weights`` weights the cross-entropy (Dice already balances the classes);
    ``ignore_index`` leaves void pixels out of both terms. For per-pixel weights (the
    paper's weight map) use :class:`CrossEntropy`.
    """

    def __init__(
        self,
        dice_weight: float = 1.0,
        smooth: float = 1.0,
        class_weights=None,
        ignore_index=None,
        name: str = "ce_dice_loss",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.dice_weight = float(dice_weight)
        self.smooth = float(smooth)
        self.class_weights, self.ignore_index = _check_options(class_weights, ignore_index)

    def call(self, y_true, y_pred):
        ce = pixel_cross_entropy(y_true, y_pred, class_weights=self.class_weights, ignore_index=self.ignore_index)
        ce = ops.mean(ce, axis=list(range(1, len(ce.shape))))  # one value per image
        return ce + self.dice_weight * soft_dice_loss(y_true, y_pred, self.smooth, ignore_index=self.ignore_index)

    def get_config(self):
        return {
            **super().get_config(),
            "dice_weight": self.dice_weight,
            "smooth": self.smooth,
            "class_weights": self.class_weights,
            "ignore_index": self.ignore_index,
        }

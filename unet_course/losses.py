"""Losses for segmentation: soft Dice, and cross-entropy + Dice.

Both take ``y_true`` as class ids ``(batch, H, W)`` or ``(batch, H, W, 1)`` and ``y_pred``
as the model's probabilities ``(batch, H, W, C)`` (softmax), or ``(batch, H, W, 1)``
(sigmoid, binary). Written with ``keras.ops`` only, so they run on every backend, and
registered so that a saved ``.keras`` model loads with its loss.
"""

from __future__ import annotations

import keras
from keras import ops


def _one_hot_pair(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == len(y_pred.shape):
        y_true = ops.squeeze(y_true, axis=-1)
    num_classes = y_pred.shape[-1]
    if num_classes == 1:  # sigmoid output: one foreground channel
        return ops.expand_dims(ops.cast(y_true, y_pred.dtype), -1), y_pred
    return ops.one_hot(ops.cast(y_true, "int32"), num_classes, dtype=y_pred.dtype), y_pred


def soft_dice_loss(y_true, y_pred, smooth: float = 1.0):
    """1 - mean soft Dice over the classes (per image, then averaged over the batch).

    ``smooth`` keeps the gradient defined for images where a class is absent.
    """
    y_true, y_pred = _one_hot_pair(y_true, y_pred)
    axes = list(range(1, len(y_pred.shape) - 1))  # spatial axes
    intersection = ops.sum(y_true * y_pred, axis=axes)
    total = ops.sum(y_true, axis=axes) + ops.sum(y_pred, axis=axes)
    dice = (2.0 * intersection + smooth) / (total + smooth)
    return 1.0 - ops.mean(dice, axis=-1)  # one loss value per image


@keras.saving.register_keras_serializable(package="unet_course")
class DiceLoss(keras.losses.Loss):
    """Soft Dice loss (see :func:`soft_dice_loss`)."""

    def __init__(self, smooth: float = 1.0, name: str = "dice_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smooth = float(smooth)

    def call(self, y_true, y_pred):
        return soft_dice_loss(y_true, y_pred, self.smooth)

    def get_config(self):
        return {**super().get_config(), "smooth": self.smooth}


@keras.saving.register_keras_serializable(package="unet_course")
class CrossEntropyDiceLoss(keras.losses.Loss):
    """Cross-entropy + ``dice_weight`` x soft Dice loss.

    Cross-entropy gives every pixel a clear gradient; Dice counts every class equally,
    however few pixels it has. Their sum is a common default for imbalanced masks.
    """

    def __init__(self, dice_weight: float = 1.0, smooth: float = 1.0, name: str = "ce_dice_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dice_weight = float(dice_weight)
        self.smooth = float(smooth)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        if len(y_true.shape) == len(y_pred.shape):
            y_true_ids = ops.squeeze(y_true, axis=-1)
        else:
            y_true_ids = y_true
        if y_pred.shape[-1] == 1:
            ce = keras.losses.binary_crossentropy(ops.expand_dims(ops.cast(y_true_ids, y_pred.dtype), -1), y_pred)
        else:
            ce = keras.losses.sparse_categorical_crossentropy(y_true_ids, y_pred)
        ce = ops.mean(ce, axis=list(range(1, len(ce.shape))))  # one value per image
        return ce + self.dice_weight * soft_dice_loss(y_true, y_pred, self.smooth)

    def get_config(self):
        return {**super().get_config(), "dice_weight": self.dice_weight, "smooth": self.smooth}

"""unet_course.losses: Dice loss and cross-entropy + Dice."""

import numpy as np
import pytest

from unet_course.losses import CrossEntropyDiceLoss, DiceLoss, soft_dice_loss


def test_dice_loss_perfect_and_wrong():
    y_true = np.array([[[0, 1], [1, 0]]])
    perfect = np.eye(2, dtype="float32")[y_true]
    wrong = np.eye(2, dtype="float32")[1 - y_true]
    assert float(np.mean(soft_dice_loss(y_true, perfect, smooth=0))) == pytest.approx(0.0, abs=1e-6)
    assert float(np.mean(soft_dice_loss(y_true, wrong, smooth=0))) == pytest.approx(1.0, abs=1e-6)
    assert float(DiceLoss()(y_true, perfect)) < float(DiceLoss()(y_true, wrong))


def test_combined_loss_is_ce_plus_dice():
    import keras

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, (2, 4, 4))
    y_pred = np.asarray(keras.ops.softmax(rng.normal(size=(2, 4, 4, 3)).astype("float32")))
    ce = float(keras.losses.SparseCategoricalCrossentropy()(y_true, y_pred))
    dice = float(DiceLoss()(y_true, y_pred))
    assert float(CrossEntropyDiceLoss()(y_true, y_pred)) == pytest.approx(ce + dice, rel=1e-5)
    assert float(CrossEntropyDiceLoss(dice_weight=0)(y_true, y_pred)) == pytest.approx(ce, rel=1e-5)

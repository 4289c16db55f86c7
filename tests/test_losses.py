"""unet_course.losses: Dice loss and cross-entropy + Dice."""

import keras
import numpy as np
import pytest

from unet_course.losses import CrossEntropy, CrossEntropyDiceLoss, DiceLoss, pixel_cross_entropy, soft_dice_loss


def test_dice_loss_perfect_and_wrong():
    y_true = np.array([[[0, 1], [1, 0]]])
    perfect = np.eye(2, dtype="float32")[y_true]
    wrong = np.eye(2, dtype="float32")[1 - y_true]
    assert float(keras.ops.mean(soft_dice_loss(y_true, perfect, smooth=0))) == pytest.approx(0.0, abs=1e-6)
    assert float(keras.ops.mean(soft_dice_loss(y_true, wrong, smooth=0))) == pytest.approx(1.0, abs=1e-6)
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


# --- Cross-entropy with class weights, per-pixel weights and an ignore value; Dice with the ignore value.
def sample(seed=0, classes=3):
    rng = np.random.default_rng(seed)
    p = rng.random((2, 5, 6, classes)).astype("float32") + 0.05
    p /= p.sum(-1, keepdims=True)
    return rng.integers(0, classes, (2, 5, 6)), p


def numpy_ce(y, p):
    return -np.log(np.take_along_axis(p, y[..., None], -1)[..., 0])


def test_plain_cross_entropy_equals_keras():
    y, p = sample()
    assert float(CrossEntropy()(y, p)) == pytest.approx(
        float(keras.losses.SparseCategoricalCrossentropy()(y, p)), rel=1e-6
    )


def test_ignored_pixels_are_left_out_of_the_mean():
    y, p = sample()
    y = y.copy()
    y[0, :2] = 255
    y[1, :, :1] = 255
    valid = y != 255
    ce = numpy_ce(np.where(valid, y, 0), p)
    per_image = [ce[i][valid[i]].mean() for i in range(2)]
    assert float(CrossEntropy(ignore_index=255)(y, p)) == pytest.approx(np.mean(per_image), rel=1e-5)
    # changing the prediction on ignored pixels changes nothing
    q = p.copy()
    q[~valid] = q[~valid][:, ::-1]
    assert float(CrossEntropy(ignore_index=255)(y, q)) == pytest.approx(
        float(CrossEntropy(ignore_index=255)(y, p)), rel=1e-6
    )


def test_class_weights_by_hand():
    y, p = sample()
    weights = np.array([1.0, 4.0, 0.5])
    expected = (numpy_ce(y, p) * weights[y]).mean()
    assert float(CrossEntropy(class_weights=weights)(y, p)) == pytest.approx(expected, rel=1e-5)


def test_per_pixel_weights_through_keras_sample_weight():
    y, p = sample()
    w = np.random.default_rng(1).random(y.shape).astype("float32")
    expected = (numpy_ce(y, p) * w).mean()  # Keras: sum of weighted losses over all pixels / number of pixels
    assert float(CrossEntropy()(y, p, sample_weight=w)) == pytest.approx(expected, rel=1e-5)
    assert np.asarray(pixel_cross_entropy(y, p)).shape == y.shape


def test_dice_with_ignore_equals_dice_on_the_kept_pixels():
    y, p = sample(classes=2)
    y = y.copy()
    y[:, :, 3:] = 255  # ignore the right half
    left = keras.ops.convert_to_numpy(soft_dice_loss(y[:, :, :3], p[:, :, :3], smooth=0.0))
    whole = keras.ops.convert_to_numpy(soft_dice_loss(y, p, smooth=0.0, ignore_index=255))
    np.testing.assert_allclose(np.asarray(whole), np.asarray(left), rtol=1e-6)
    assert float(DiceLoss(ignore_index=255, smooth=0.0)(y, p)) == pytest.approx(float(np.mean(left)), rel=1e-6)


def test_dice_by_hand():
    y = np.array([[[0, 1], [1, 1]]])
    p = np.zeros((1, 2, 2, 2), "float32")
    p[..., 1] = [[0.0, 1.0], [1.0, 0.0]]
    p[..., 0] = 1 - p[..., 1]
    # class 0: truth {00}, pred {00, 11}: dice 2*1/3; class 1: truth 3 px, pred 2 px, overlap 2: dice 4/5
    assert float(soft_dice_loss(y, p, smooth=0.0)[0]) == pytest.approx(1 - (2 / 3 + 4 / 5) / 2, rel=1e-6)


def test_ce_dice_with_ignore_and_round_trip():
    y, p = sample(classes=2)
    y = y.copy()
    y[0, 0] = 255
    loss = CrossEntropyDiceLoss(ignore_index=255, class_weights=[1.0, 2.0])
    expected = float(CrossEntropy(ignore_index=255, class_weights=[1.0, 2.0])(y, p)) + float(
        DiceLoss(ignore_index=255)(y, p)
    )
    assert float(loss(y, p)) == pytest.approx(expected, rel=1e-5)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert again.ignore_index == 255 and again.class_weights == [1.0, 2.0]


def test_binary_sigmoid_output():
    y = np.array([[[0, 1], [1, 0]]])
    p = np.array([[[[0.2], [0.9]], [[0.6], [0.4]]]], "float32")
    expected = -np.mean(np.log([0.8, 0.9, 0.6, 0.6]))
    assert float(CrossEntropy()(y, p)) == pytest.approx(expected, rel=1e-5)


def test_bad_options():
    with pytest.raises(ValueError, match="class_weights"):
        CrossEntropy(class_weights=[-1, 1])
    with pytest.raises(ValueError, match="ignore_index"):
        DiceLoss(ignore_index=-1)

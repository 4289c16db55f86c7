"""inference.predict: any size in, the same size out; tiles agree with the whole image; flip TTA."""

import keras
import numpy as np
import pytest

from unet_course import inference
from unet_course.inference import model_divisor, predict
from unet_course.models import build_unet


@pytest.fixture(scope="module")
def unet():
    keras.utils.set_random_seed(0)
    return build_unet((None, None, 1), 2, depth=2, base_filters=4)


def pointwise_model(channels=1, classes=3, seed=1):
    """A 1x1 convolution: every pixel on its own, so padding, tiles and flips change nothing."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, None, channels))
    x = keras.layers.Conv2D(8, 1, activation="tanh")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(classes, 1, activation="softmax")(x))


def image(height, width, channels=1, seed=0):
    return np.random.default_rng(seed).random((height, width, channels)).astype("float32")


def test_divisor_read_from_the_model(unet):
    assert model_divisor(unet) == 4
    assert model_divisor(build_unet((None, None, 1), 2, depth=3, base_filters=2)) == 8
    assert model_divisor(pointwise_model()) == 1


@pytest.mark.parametrize("size", [(37, 53), (16, 16), (1, 7), (5, 3)])
def test_sizes_not_divisible_come_back_at_their_own_size(unet, size):
    labels = predict(unet, image(*size))
    assert labels.shape == size and labels.dtype == np.uint8
    probabilities = predict(unet, image(*size), probabilities=True)
    assert probabilities.shape == (*size, 2)
    np.testing.assert_allclose(probabilities.sum(-1), 1, atol=1e-5)
    np.testing.assert_array_equal(probabilities.argmax(-1), labels)


def test_padding_is_a_reflection_cropped_back(unet):
    # predicting a 37x53 image must equal predicting its reflection-padded 40x56 version, cropped
    x = image(37, 53)
    padded = np.pad(x, ((0, 3), (0, 3), (0, 0)), mode="reflect")
    direct = keras.ops.convert_to_numpy(unet(padded[None]))[0, :37, :53]
    np.testing.assert_allclose(predict(unet, x, probabilities=True), direct, atol=1e-6)


def test_lists_of_different_sizes_and_batches(unet):
    images = [image(37, 53, seed=1), image(20, 24, seed=2), image(37, 53, seed=3)]
    out = predict(unet, images, batch_size=2)
    assert isinstance(out, list) and [o.shape for o in out] == [(37, 53), (20, 24), (37, 53)]
    for one, many in zip(images, out):
        np.testing.assert_array_equal(predict(unet, one), many)
    batch = predict(unet, np.stack([images[0], images[2]]))
    assert batch.shape == (2, 37, 53)
    np.testing.assert_array_equal(batch[1], out[2])
    grey = predict(unet, images[1][..., 0])  # (H, W) taken as one grey image
    np.testing.assert_array_equal(grey, out[1])
    as_uint8 = (images[1] * 255).round().astype(np.uint8)  # integer images are divided by 255
    np.testing.assert_allclose(
        predict(unet, as_uint8, probabilities=True), predict(unet, as_uint8 / 255.0, probabilities=True), atol=1e-6
    )


@pytest.mark.parametrize("blend", ["centre", "average"])
def test_tiles_of_a_pointwise_model_equal_the_whole_image(blend):
    model = pointwise_model()
    x = image(70, 90, seed=4)
    whole = predict(model, x, probabilities=True)
    tiled = predict(model, x, probabilities=True, tile_size=32, overlap=8, blend=blend)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


def test_tiles_of_a_unet_agree_with_the_whole_image_away_from_the_padded_edge(unet):
    x = image(150, 170, seed=5)
    whole = predict(unet, x, probabilities=True)
    tiled = predict(unet, x, probabilities=True, tile_size=64, overlap=48)  # 24 px kept on each side of a seam
    assert tiled.shape == whole.shape
    # the bottom and right rows see different padding (the tiles reach further), so they may differ
    np.testing.assert_allclose(tiled[:-40, :-40], whole[:-40, :-40], atol=1e-5)
    # without overlap, the seams between tiles do show: the comparison above can fail
    seams = predict(unet, x, probabilities=True, tile_size=64, overlap=0)
    assert np.abs(seams[:-40, :-40] - whole[:-40, :-40]).max() > 1e-3


def test_large_images_are_tiled_automatically(unet, monkeypatch):
    calls = []
    original = inference._predict_tiled

    def spy(*args):
        calls.append(args[2])
        return original(*args)

    monkeypatch.setattr(inference, "_predict_tiled", spy)
    monkeypatch.setattr(inference, "AUTO_TILE_ABOVE", 64)
    monkeypatch.setattr(inference, "AUTO_TILE_SIZE", 48)
    assert predict(unet, image(70, 30)).shape == (70, 30)
    assert calls == [(48, 48)]
    predict(unet, image(60, 30))
    assert len(calls) == 1  # below the limit: one piece


def test_flip_tta_of_a_flip_equivariant_model_changes_nothing():
    model = pointwise_model()
    x = image(21, 34, seed=6)
    np.testing.assert_allclose(
        predict(model, x, probabilities=True, tta=True), predict(model, x, probabilities=True), atol=1e-6
    )


def test_flip_tta_averages_the_flipped_back_predictions(unet):
    x = image(24, 36, seed=7)
    plain = predict(unet, x, probabilities=True)
    expected = np.mean(
        [
            plain,
            predict(unet, x[:, ::-1], probabilities=True)[:, ::-1],
            predict(unet, x[::-1], probabilities=True)[::-1],
            predict(unet, x[::-1, ::-1], probabilities=True)[::-1, ::-1],
        ],
        axis=0,
    )
    tta = predict(unet, x, probabilities=True, tta=True)
    np.testing.assert_allclose(tta, expected, atol=1e-5)
    assert np.abs(tta - plain).max() > 1e-4  # a U-Net is not flip-equivariant: TTA did something


def test_sigmoid_model_gives_class_one_above_one_half():
    keras.utils.set_random_seed(2)
    model = build_unet((None, None, 1), 1, depth=1, base_filters=2)
    x = image(9, 11)
    probabilities = predict(model, x, probabilities=True)
    assert probabilities.shape == (9, 11, 1)
    np.testing.assert_array_equal(predict(model, x), (probabilities[..., 0] > 0.5).astype(np.uint8))


def test_fixed_size_model_is_fed_tiles_of_its_size():
    keras.utils.set_random_seed(3)
    model = build_unet((32, 32, 1), 2, depth=2, base_filters=2)
    assert predict(model, image(50, 45)).shape == (50, 45)
    assert predict(model, image(20, 10)).shape == (20, 10)


def test_bad_inputs_are_named(unet):
    with pytest.raises(ValueError, match="3 channel.*expects 1; convert it to grey"):
        predict(unet, image(8, 8, 3))
    with pytest.raises(ValueError, match="empty list"):
        predict(unet, [])
    with pytest.raises(ValueError, match="overlap"):
        predict(unet, image(40, 40), tile_size=16, overlap=16)
    with pytest.raises(ValueError, match="blend"):
        predict(unet, image(8, 8), blend="max")
    with pytest.raises(ValueError, match="shape"):
        predict(unet, np.zeros((2, 2, 8, 8, 1)))
    inputs = keras.Input((None, None, 1))
    shrinking = keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="valid", activation="softmax")(inputs))
    with pytest.raises(ValueError, match="padding='same'"):
        predict(shrinking, image(10, 10))


@pytest.mark.parametrize(
    "module", ["unet_course.inference", "unet_course.evaluation.reports", "unet_course.evaluation.boundary"]
)
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0

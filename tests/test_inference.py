"""inference.predict: any size in, the same size out; tiles agree with the whole image; flip TTA;
the paper's overlap-tile strategy for valid-padding models."""

import keras
import numpy as np
import pytest

from unet_course import inference
from unet_course.inference import mirror_pad, model_divisor, overlap_tile_layout, predict
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


# ---- valid padding: the paper's overlap-tile strategy ---------------------------------


def valid_pair(depth, input_size, big_size, seed=0):
    """A valid U-Net of ``input_size`` and one of ``big_size`` with the same weights."""
    keras.utils.set_random_seed(seed)
    small = build_unet((input_size, input_size, 1), 2, depth=depth, base_filters=4, padding="valid")
    big = build_unet((big_size, big_size, 1), 2, depth=depth, base_filters=4, padding="valid")
    big.set_weights(small.get_weights())  # a valid U-Net's weights do not depend on its input size
    return small, big


@pytest.fixture(scope="module")
def valid3():
    return valid_pair(3, 108, 204)  # 108 -> 20 (margin 44); 204 -> 116


def one_pass(big, x):
    """The big model on the image mirror-padded by the margin (and more at the bottom and right), cropped."""
    size, out = big.input_shape[1], big.output_shape[1]
    margin = (size - out) // 2
    height, width = x.shape[:2]
    assert height <= out and width <= out
    padded = np.pad(x, ((margin, size - margin - height), (margin, size - margin - width), (0, 0)), mode="reflect")
    return keras.ops.convert_to_numpy(big(padded[None]))[0, :height, :width]


@pytest.mark.parametrize("size", [(37, 61), (20, 20), (45, 9), (5, 3)])
def test_overlap_tiles_equal_one_pass_over_the_mirrored_image(valid3, size):
    small, big = valid3
    x = image(*size, seed=8)
    stitched = predict(small, x, probabilities=True)
    assert stitched.shape == (*size, 2)
    np.testing.assert_allclose(stitched, one_pass(big, x), atol=1e-5)


def test_abutting_tiles_shift_the_pooling_grid_of_a_deep_unet(valid3):
    # depth 3: the output (20) is not a multiple of 2**3, so tiles 20 apart see a shifted
    # pooling grid and differ from the one pass; predict's step (16) does not
    small, big = valid3
    x = image(37, 61, seed=8)
    abutting = predict(small, x, probabilities=True, divisor=1)
    assert np.abs(abutting - one_pass(big, x)).max() > 1e-3


def test_overlap_tiles_of_a_depth_2_unet_abut(monkeypatch):
    small, big = valid_pair(2, 52, 124, seed=1)  # 52 -> 12, 12 is a multiple of 4: the tiles abut
    x = image(50, 29, seed=9)
    calls = []
    original = inference._predict_overlap_tiles

    def spy(runner, image, layout):
        calls.append(layout)
        return original(runner, image, layout)

    monkeypatch.setattr(inference, "_predict_overlap_tiles", spy)
    np.testing.assert_allclose(predict(small, x, probabilities=True, batch_size=3), one_pass(big, x), atol=1e-5)
    assert calls[0].step == (12, 12) and calls[0].grid == (5, 3) and calls[0].margin == (20, 20)


def test_valid_model_grey_batches_lists_tta_and_class_ids(valid3):
    small, big = valid3
    images = [image(37, 61, seed=10), image(24, 17, seed=11), image(37, 61, seed=12)]
    out = predict(small, images, batch_size=2)
    assert isinstance(out, list) and [o.shape for o in out] == [(37, 61), (24, 17), (37, 61)]
    assert all(o.dtype == np.uint8 for o in out)
    for one, labels in zip(images, out):
        np.testing.assert_array_equal(labels, one_pass(big, one).argmax(-1))
    batch = predict(small, np.stack([images[0], images[2]]), probabilities=True, batch_size=5)
    assert batch.shape == (2, 37, 61, 2) and batch.dtype == np.float32
    np.testing.assert_allclose(batch[1], one_pass(big, images[2]), atol=1e-5)
    np.testing.assert_array_equal(predict(small, images[1][..., 0]), out[1])  # (H, W) grey
    # TTA flips each input window (not the whole image): the same as a model that averages
    # itself over the four flips of its input, predicted without TTA
    inputs = keras.Input(small.input_shape[1:])
    flips = [(), (1,), (2,), (1, 2)]
    outputs = [keras.ops.flip(small(keras.ops.flip(inputs, a)), a) if a else small(inputs) for a in flips]
    averaged = keras.Model(inputs, keras.layers.Average()(outputs))
    x = images[1]
    tta = predict(small, x, probabilities=True, tta=True)
    np.testing.assert_allclose(tta, predict(averaged, x, probabilities=True), atol=1e-5)
    assert np.abs(tta - predict(small, x, probabilities=True)).max() > 1e-4  # TTA did something


def test_a_saved_and_reloaded_valid_model_predicts_in_tiles(valid3, tmp_path):
    small, _ = valid3
    small.save(tmp_path / "valid.keras")
    loaded = keras.models.load_model(tmp_path / "valid.keras")
    x = image(30, 41, seed=13)
    np.testing.assert_allclose(predict(loaded, x, probabilities=True), predict(small, x, probabilities=True), atol=1e-6)


def test_valid_model_bad_options_are_named(valid3):
    small, _ = valid3
    with pytest.raises(ValueError, match="tile_size=64 does not apply.*108x108.*20x20.*Leave tile_size out"):
        predict(small, image(40, 40), tile_size=64)
    assert predict(small, image(40, 40), tile_size=108).shape == (40, 40)  # its own size: allowed
    inputs = keras.Input((10, 10, 1))
    lopsided = keras.Model(inputs, keras.layers.Conv2D(2, 2, activation="softmax")(inputs))  # 10 -> 9
    with pytest.raises(ValueError, match="same margin on every side"):
        predict(lopsided, image(20, 20))


def test_overlap_tile_layout_covers_the_image():
    layout = overlap_tile_layout((512, 512), 572, 388, divisor=16)
    assert layout.origins == [(0, 0), (0, 384), (384, 0), (384, 384)] and layout.grid == (2, 2)
    assert layout.padding == ((92, 352), (92, 352))
    layout = overlap_tile_layout((100, 30, 1), (52, 44), (12, 4))
    assert layout.margin == (20, 20) and layout.step == (12, 4) and layout.grid == (9, 8)
    (top, bottom), (left, right) = layout.padding
    last_y, last_x = layout.origins[-1]
    assert last_y < 100 <= last_y + 12 and last_x < 30 <= last_x + 4  # covered, no tile wasted
    assert top + 100 + bottom == last_y + 52 and left + 30 + right == last_x + 44
    assert overlap_tile_layout((3, 3), 52, 12).origins == [(0, 0)]
    with pytest.raises(ValueError, match="even number of pixels"):
        overlap_tile_layout((64, 64), 52, 11)
    with pytest.raises(ValueError, match="at most the input"):
        overlap_tile_layout((64, 64), 12, 52)


def test_mirror_pad_reflects_at_the_edges():
    x = np.arange(12).reshape(3, 4)
    padded = mirror_pad(x, 2)
    assert padded.shape == (7, 8)
    np.testing.assert_array_equal(padded[2:5, 2:6], x)
    np.testing.assert_array_equal(padded[2, :2], [2, 1])  # mirrored, the edge pixel not repeated
    np.testing.assert_array_equal(padded[:2, 2], [8, 4])
    assert mirror_pad(np.zeros((2, 3, 5)), ((1, 0), (0, 9))).shape == (3, 12, 5)
    assert mirror_pad(np.ones((1, 1)), 3).shape == (7, 7)  # one pixel: repeated
    with pytest.raises(ValueError, match="margin"):
        mirror_pad(x, -1)


@pytest.mark.parametrize(
    "module", ["unet_course.inference", "unet_course.evaluation.reports", "unet_course.evaluation.boundary"]
)
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0

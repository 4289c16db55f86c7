"""Notebook 01: its teaching code agrees with the package and with Keras; the mask helpers and
the sample browser behave."""

import keras
import matplotlib
import numpy as np
import pytest
from keras import ops

from tests.notebook_code import notebook_namespace
from unet_course import viz
from unet_course.data import make_shapes, masks
from unet_course.widgets import browser

matplotlib.use("Agg")
NAMES = ["label_components", "to_one_hot", "to_class_ids", "bounding_box", "colours_to_ids"]


@pytest.fixture(scope="module")
def nb():
    return notebook_namespace("01_semantic_segmentation", NAMES)


@pytest.fixture(scope="module")
def data():
    return make_shapes(12, image_size=48, seed=3)


def test_one_hot_agrees_with_package_and_keras(nb, data):
    _, batch = data
    ours = nb["to_one_hot"](batch, 4)
    assert ours.shape == (12, 48, 48, 4) and ours.dtype == np.float32
    np.testing.assert_array_equal(ours, masks.to_one_hot(batch, 4))
    np.testing.assert_array_equal(ours, ops.convert_to_numpy(ops.one_hot(batch.astype("int32"), 4)))
    np.testing.assert_array_equal(ours, keras.utils.to_categorical(batch, 4))


def test_class_ids_agree_with_package_and_keras(nb, data):
    _, batch = data
    probabilities = np.random.default_rng(0).random((12, 48, 48, 4))
    for x in (masks.to_one_hot(batch, 4), probabilities):
        ours = nb["to_class_ids"](x)
        np.testing.assert_array_equal(ours, masks.to_class_ids(x))
        np.testing.assert_array_equal(ours, ops.convert_to_numpy(ops.argmax(x, axis=-1)))
    np.testing.assert_array_equal(masks.to_class_ids(masks.to_one_hot(batch, 4)), batch)


def test_class_ids_give_void_back_where_keras_one_hot_left_zeros(nb, data):
    """Exercise 2's premise: keras.ops.one_hot makes the void id 255 a vector of zeros, and the plain argmax
    turns it into class 0; the notebook's to_class_ids gives 255 back."""
    _, batch = data
    with_void = batch.astype("int32")
    with_void[:, :2, :] = 255  # a void border, as in PASCAL VOC
    one_hot = ops.convert_to_numpy(ops.one_hot(with_void, 4))
    assert np.all(one_hot[:, :2, :] == 0)
    assert np.all(np.argmax(one_hot, axis=-1)[:, :2, :] == 0)
    np.testing.assert_array_equal(nb["to_class_ids"](one_hot), with_void)
    np.testing.assert_array_equal(nb["to_class_ids"](one_hot, 4), np.where(with_void == 255, 4, with_void))


def test_colours_to_ids_reads_back_a_mask_painted_in_the_course_colours(nb, data):
    _, batch = data
    palette = np.array([[int(h[i : i + 2], 16) for i in (1, 3, 5)] for h in viz.PALETTE[:4]], dtype=np.uint8)
    rgb = palette[batch]
    rgb[0, 0, 0] = (1, 2, 3)  # a colour in no palette entry
    ids = nb["colours_to_ids"](rgb, palette)
    expected = batch.astype(np.int64)
    expected[0, 0, 0] = 255
    np.testing.assert_array_equal(ids, expected)


def test_bounding_box_agrees_with_package(nb, data):
    _, batch = data
    for mask in batch:
        for class_id in range(5):  # 4 never occurs: None
            assert nb["bounding_box"](mask, class_id) == masks.bounding_box(mask, class_id)
    assert masks.bounding_box(batch[0], 4) is None


def _random_binaries():
    rng = np.random.default_rng(7)
    yield from (rng.random((17, 23)) < p for p in (0.2, 0.45, 0.6))
    _, batch = make_shapes(6, image_size=48, seed=5)
    yield from (m == c for m in batch for c in (1, 2, 3))
    yield np.zeros((4, 5), dtype=bool)
    yield np.ones((4, 5), dtype=bool)


def test_label_components_teaching_version_agrees_with_package(nb):
    for binary in _random_binaries():
        ours, count = nb["label_components"](binary)
        theirs, their_count = masks.label_components(binary)
        assert count == their_count
        np.testing.assert_array_equal(ours, theirs)

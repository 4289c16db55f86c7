"""Notebook 01: its teaching code agrees with the package and with Keras; the mask helpers and
the sample browser behave."""

import keras
import matplotlib
import numpy as np
import pytest
from keras import ops

from unet_course.data import masks
from unet_course.data import make_shapes
from unet_course.widgets import browser
from tests.notebook_code import notebook_namespace

matplotlib.use("Agg")
NAMES = ["label_components", "to_one_hot", "to_class_ids", "bounding_box"]


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


def test_label_components_agrees_with_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")
    for binary in _random_binaries():
        ours, count = masks.label_components(binary)
        theirs, their_count = ndimage.label(binary)  # 4-connectivity by default, same numbering
        assert count == their_count
        np.testing.assert_array_equal(ours, theirs)


def test_instances_of_the_notebook_scene():
    _, scene = make_shapes(20, image_size=96, seed=1)
    ids, classes = masks.instances(scene[2])
    assert classes == [1, 2, 2, 3]
    assert ids.max() == 4 and set(np.unique(ids)) == {0, 1, 2, 3, 4}
    for i, class_id in enumerate(classes, start=1):
        assert np.all(scene[2][ids == i] == class_id)


def test_mask_helpers_refuse_bad_input():
    with pytest.raises(ValueError, match="class id 3"):
        masks.to_one_hot([[0, 3]], 3)
    with pytest.raises(ValueError, match="fractional"):
        masks.to_one_hot([[0.5, 1.0]], 2)
    with pytest.raises(ValueError, match="num_classes"):
        masks.to_one_hot([[0, 1]], 0)
    with pytest.raises(ValueError, match="sigmoid"):
        masks.to_class_ids(np.zeros((4, 4, 1)))
    with pytest.raises(ValueError, match="masks\\[i\\]"):
        masks.bounding_box(np.zeros((2, 4, 4)), 1)
    with pytest.raises(ValueError, match="2-D"):
        masks.label_components(np.zeros((2, 4, 4)))


def test_draw_sample_and_browser(data):
    images, batch = data
    fig = browser.draw_sample(images, batch, index=1, alpha=0.3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["image 1", "mask (class ids)", "overlay, opacity 0.30"]
    with pytest.raises(ValueError, match="alpha"):
        browser.draw_sample(images, batch, alpha=1.5)
    with pytest.raises(ValueError, match="index"):
        browser.draw_sample(images, batch, index=12)
    with pytest.raises(ValueError, match="one mask per image"):
        browser.draw_sample(images, batch[:3])
    box = browser.sample_browser(images, batch)
    index, opacity = box.children[0].children
    assert index.max == 11
    index.value, opacity.value = 5, 0.9  # redraws without error
    matplotlib.pyplot.close("all")

"""Notebook 07's own code agrees with the package: the class weights it computes and the joint augmentation check."""

import keras
import numpy as np

from unet_course.data.augment import Augment
from unet_course.data.pipeline import make_dataset
from unet_course.data.synthetic import make_shapes
from unet_course.data.weight_map import class_balance_weights


def test_notebook_class_weights_equal_package():
    _, shape_masks = make_shapes(8, 64, seed=0, imbalanced=True)
    binary = (shape_masks > 0).astype("int32")
    weights = [1.0, float((binary == 0).sum() / (binary == 1).sum())]  # the notebook's formula
    np.testing.assert_allclose(weights, class_balance_weights(binary, 2))


def _orientation(crop, out):
    for t in range(8):
        candidate = np.rot90(np.fliplr(crop) if t > 3 else crop, t % 4)
        if np.allclose(candidate, out):
            return t
    return None


def test_one_draw_keeps_pairs_aligned_and_two_layers_do_not():
    rng = np.random.default_rng(0)
    images = rng.random((4, 16, 16, 1)).astype("float32")
    masks = (images[..., 0] > 0.5).astype("uint8")
    ds = make_dataset(images, masks, batch_size=4, augment=Augment(flips=True, rot90=True), shuffle=False, seed=2)
    for _ in range(3):
        for xb, yb in ds:
            for k in range(4):
                t = _orientation(images[k], np.asarray(xb[k]))
                assert t is not None
                expected = np.rot90(np.fliplr(masks[k]) if t > 3 else masks[k], t % 4)
                np.testing.assert_array_equal(np.asarray(yb[k]), expected)
    flip_image, flip_mask = keras.layers.RandomFlip("horizontal"), keras.layers.RandomFlip("horizontal")
    batch = images[:1].repeat(64, axis=0)
    out_images = np.asarray(flip_image(batch, training=True))
    out_masks = np.asarray(flip_mask(batch, training=True))
    disagree = np.mean([not np.allclose(a, b) for a, b in zip(out_images, out_masks)])
    assert 0.2 < disagree < 0.8

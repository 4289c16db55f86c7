"""Overlap tiles of an image and its mask (``data/tiles.py``): every pixel in one tile, at the right
place; the centre crop to a multiple of ``2 ** depth``; the validation set of both kinds. (The tile
layout itself is tested with ``inference.predict`` in ``test_inference.py``.)"""

import numpy as np
import pytest

from unet_course.data.tiles import OUTSIDE_LABEL, crop_to_multiple, overlap_tiles, validation_dataset


def test_validation_tiles_cover_every_pixel_once_at_the_right_place():
    rng = np.random.default_rng(3)
    image = rng.random((37, 29, 1), dtype=np.float32)
    mask = np.round(image[..., 0] * 200).astype(np.int32)  # the mask is the image, coded
    inputs, labels = overlap_tiles(image, mask, 108, 20, divisor=8, fill_label=OUTSIDE_LABEL)  # depth 3: step 16
    assert inputs.shape[1:] == (108, 108, 1) and labels.shape[1:] == (20, 20)
    assert len(inputs) == 3 * 2
    own = labels != OUTSIDE_LABEL
    assert own.sum() == 37 * 29  # every pixel in exactly one tile
    np.testing.assert_array_equal(labels[own], np.round(inputs[:, 44:64, 44:64, 0] * 200)[own])
    assert sorted(labels[own].tolist()) == sorted(mask.ravel().tolist())


def test_the_default_fill_is_the_outside_label_the_training_loss_ignores():
    image, mask = np.zeros((30, 30, 1), np.float32), np.zeros((30, 30), np.int32)
    _, labels = overlap_tiles(image, mask, 64, 24, divisor=4)
    assert OUTSIDE_LABEL in labels and set(np.unique(labels)) == {0, OUTSIDE_LABEL}


def test_crop_to_multiple_keeps_the_centre_and_refuses_a_too_small_image():
    image = np.arange(37 * 50, dtype=np.float32).reshape(37, 50, 1)
    cropped, mask = crop_to_multiple(image, image[..., 0].astype(np.int32), 16)
    assert cropped.shape == (32, 48, 1) and mask.shape == (32, 48)
    assert cropped[0, 0, 0] == image[2, 1, 0]  # (37 - 32) // 2 rows and (50 - 48) // 2 columns off
    with pytest.raises(ValueError, match=r"smaller than 16 \(2\*\*depth\); use larger images"):
        crop_to_multiple(image[:10], image[:10, :, 0], 16)


def test_validation_dataset_of_whole_images_and_of_tiles():
    images = [np.zeros((40, 36, 1), np.float32)] * 3
    masks = [np.ones((40, 36), np.int32)] * 3
    whole = [tuple(t.shape) for t in next(iter(validation_dataset(images, masks, 2)))]
    assert whole == [(2, 40, 36, 1), (2, 40, 36)]
    tiled = next(iter(validation_dataset(images, masks, 2, input_size=64, output_size=24)))
    assert tuple(tiled[0].shape[1:]) == (64, 64, 1) and tuple(tiled[1].shape[1:]) == (24, 24)
    with pytest.raises(ValueError, match="output_size"):
        validation_dataset(images, masks, 2, input_size=64)

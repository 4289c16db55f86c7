"""The input pipeline: batches, crops, seeds, sizes, weights, bad input; alignment through the pipeline;
masks centre-cropped to a valid-padding model's output."""

import numpy as np
import pytest
import tensorflow as tf
from test_data_augment import TRANSFORMS, smooth_image

from unet_course.data.augment import Augment
from unet_course.data.pipeline import make_dataset, steps_per_epoch


def data(n=6, size=48, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random((n, size, size, 1), dtype=np.float32)
    return images, (images[..., 0] > 0.5).astype(np.uint8)


def test_dataset_batches_crops_and_keeps_alignment():
    images = np.stack([smooth_image(64, s) for s in range(6)])
    masks = (images[..., 0] > 0.5).astype(np.uint8)
    ds = make_dataset(images, masks, batch_size=4, crop_size=32, augment=TRANSFORMS["everything"], seed=0)
    batches = list(ds)
    assert [b[0].shape[0] for b in batches] == [4, 2]
    x, y = batches[0]
    assert x.shape == (4, 32, 32, 1) and y.shape == (4, 32, 32) and y.dtype == tf.int32
    x, y = x.numpy()[..., 0], y.numpy()
    clear = np.abs(x - 0.5) > 0.08
    assert ((x > 0.5) == (y == 1))[clear].mean() > 0.995


def test_dataset_is_seeded_and_changes_every_epoch():
    images, masks = data()
    first = [
        t.numpy()
        for t in next(iter(make_dataset(images, masks, batch_size=6, crop_size=32, augment=Augment(), seed=3)))
    ]
    again = [
        t.numpy()
        for t in next(iter(make_dataset(images, masks, batch_size=6, crop_size=32, augment=Augment(), seed=3)))
    ]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    ds = make_dataset(images, masks, batch_size=6, crop_size=32, augment=Augment(), seed=3)
    epoch1, epoch2 = next(iter(ds))[0].numpy(), next(iter(ds))[0].numpy()
    assert not np.array_equal(epoch1, epoch2)


def test_images_of_different_sizes_and_whole_small_images():
    rng = np.random.default_rng(0)
    images = [rng.random((40, 56, 3), dtype=np.float32), rng.random((64, 33, 3), dtype=np.float32)]
    masks = [np.zeros((40, 56), np.uint8), np.ones((64, 33), np.uint8)]
    x, y = next(iter(make_dataset(images, masks, batch_size=2, crop_size=32)))
    assert x.shape == (2, 32, 32, 3)
    assert sorted(np.unique(y.numpy()[i]).tolist() for i in range(2)) == [[0], [1]]
    small, small_masks = data(3, 24)
    x, _ = next(iter(make_dataset(small, small_masks, batch_size=3, crop_size=32)))
    assert x.shape == (3, 24, 24, 1)  # smaller than the crop: whole images


def test_weights_come_out_as_a_third_element():
    images, masks = data()
    weights = masks.astype(np.float32) + 1
    x, y, w = next(
        iter(make_dataset(images, masks, weights=weights, batch_size=2, crop_size=32, augment=Augment(rotation=10)))
    )
    np.testing.assert_array_equal(w.numpy(), y.numpy() + 1.0)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda i, m: (i, m[:-1]), "6 images but 5 masks"),
        (lambda i, m: (i, m[:, :-1]), "same height and width"),
        (lambda i, m: (i * 255, m), "scale images to \\[0, 1\\]"),
        (lambda i, m: (i[..., 0], m), "height, width, channels"),
        (lambda i, m: (i, np.where(m == 1, 7, m)), r"outside the classes 0\.\.1: 7 in mask 0"),
        (lambda i, m: (i, np.eye(2)[m]), "not one-hot"),
    ],
)
def test_bad_input_gets_a_clear_error(change, message):
    images, masks = change(*data())
    with pytest.raises(ValueError, match=message):
        make_dataset(images, masks, num_classes=2, crop_size=32)


def test_ignore_value_is_allowed_and_kept():
    images, masks = data()
    masks[:, :4] = 255
    ds = make_dataset(images, masks, num_classes=2, ignore_index=255, batch_size=6, augment=Augment(rotation=15))
    values = set(np.unique(next(iter(ds))[1].numpy()))
    assert 255 in values and values <= {0, 1, 255}


def test_different_sizes_need_a_crop():
    images = [np.zeros((32, 32, 1), np.float32), np.zeros((48, 32, 1), np.float32)]
    masks = [np.zeros((32, 32), np.uint8), np.zeros((48, 32), np.uint8)]
    with pytest.raises(ValueError, match="crop_size"):
        make_dataset(images, masks)


def test_steps_per_epoch_covers_the_pixels_once():
    assert steps_per_epoch([(512, 512)] * 25, 128, 8) == 50
    assert steps_per_epoch([(64, 64)] * 3, None, 2) == 2


# ---- output_size: the masks of a valid-padding model ---------------------------------


def test_output_size_crops_the_mask_and_weights_at_the_image_centre():
    # the mask and the weights are the image itself (coded): after the pipeline they must equal
    # the centre of the image crop, pixel for pixel (flips are exact, so they may be on)
    rng = np.random.default_rng(0)
    images = rng.random((5, 40, 36, 1), dtype=np.float32)
    masks = np.round(images[..., 0] * 200).astype(np.int32)
    weights = images[..., 0] + 1
    ds = make_dataset(
        images, masks, weights=weights, batch_size=5, crop_size=32, output_size=12, augment=Augment(rot90=True)
    )
    x, y, w = (t.numpy() for t in next(iter(ds)))
    assert x.shape == (5, 32, 32, 1) and y.shape == (5, 12, 12) and w.shape == (5, 12, 12)
    centre = x[:, 10:22, 10:22, 0]
    np.testing.assert_array_equal(y, np.round(centre * 200))
    np.testing.assert_allclose(w, centre + 1, atol=1e-6)
    assert not np.array_equal(y, np.round(x[:, 9:21, 10:22, 0] * 200))  # one pixel off: caught


def test_output_size_is_applied_after_the_elastic_deformation():
    images = np.stack([smooth_image(64, s) for s in range(4)])
    masks = (images[..., 0] > 0.5).astype(np.uint8)
    weights = masks.astype(np.float32) * 4 + 1
    elastic = Augment(flips=True, rot90=False, elastic=True, elastic_sigma=6)
    ds = make_dataset(
        images, masks, weights=weights, batch_size=4, crop_size=44, output_size=(24, 20), augment=elastic, seed=1
    )
    x, y, w = (t.numpy() for t in next(iter(ds)))
    assert y.shape == (4, 24, 20) and x.shape == (4, 44, 44, 1)
    centre = x[:, 10:34, 12:32, 0]
    clear = np.abs(centre - 0.5) > 0.08
    assert clear.mean() > 0.5
    assert ((centre > 0.5) == (y == 1))[clear].mean() > 0.995
    np.testing.assert_array_equal(w, y * 4.0 + 1)
    plain = next(iter(make_dataset(images, masks, batch_size=4, crop_size=44, output_size=(24, 20), seed=1)))
    assert not np.array_equal(plain[0].numpy(), x)  # the deformation did change the crops


def test_output_size_with_whole_images_of_one_size():
    images, masks = data(3, 24)
    x, y = next(iter(make_dataset(images, masks, batch_size=3, output_size=8, shuffle=False)))
    assert x.shape == (3, 24, 24, 1) and y.shape == (3, 8, 8)
    np.testing.assert_array_equal(y.numpy(), masks[:, 8:16, 8:16])


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(crop_size=32, output_size=13), "smaller by an even number"),
        (dict(crop_size=32, output_size=40), "at most the crop"),
        (dict(crop_size=32, output_size=0), "output_size must be a positive"),
        (dict(crop_size=32, output_size=(12, 12, 1)), "output_size must be a positive"),
    ],
)
def test_bad_output_size(options, message):
    images, masks = data()
    with pytest.raises(ValueError, match=message):
        make_dataset(images, masks, **options)


def test_output_size_needs_one_example_size():
    images = [np.zeros((32, 32, 1), np.float32), np.zeros((48, 32, 1), np.float32)]
    masks = [np.zeros((32, 32), np.uint8), np.zeros((48, 32), np.uint8)]
    with pytest.raises(ValueError, match="crop_size"):
        make_dataset(images, masks, output_size=8)


def test_docstring_examples_run():
    import doctest

    from unet_course.data import pipeline

    result = doctest.testmod(pipeline, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0

"""The input pipeline and joint augmentation: image and mask stay aligned under every transform."""

import numpy as np
import pytest
import tensorflow as tf

from unet_course.data.augment import Augment, augment_pair
from unet_course.data.pipeline import make_dataset, steps_per_epoch


def smooth_image(size=64, seed=0):
    """A smooth random image in [0, 1] (a few Gaussian bumps), so interpolation barely moves its level sets."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    image = np.zeros((size, size), np.float32)
    for _ in range(5):
        cy, cx, r = rng.uniform(8, size - 8), rng.uniform(8, size - 8), rng.uniform(5, 12)
        image += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2))
    return (image / image.max())[..., None]


TRANSFORMS = {
    "flips": Augment(flips=True, rot90=False),
    "rot90": Augment(flips=False, rot90=True),
    "rotation": Augment(flips=False, rot90=False, rotation=30),
    "scale": Augment(flips=False, rot90=False, scale=(0.7, 1.4)),
    "elastic": Augment(flips=False, rot90=False, elastic=True, elastic_sigma=6),
    "everything": Augment(flips=True, rot90=True, rotation=20, scale=(0.8, 1.25), elastic=True),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_mask_follows_the_image_under_every_transform(name):
    """The mask is computed from the image (image > 0.5); after the transform it must still be."""
    image = smooth_image()
    mask = (image[..., 0] > 0.5).astype(np.int32)
    changed = 0
    for s in range(6):
        out_image, out_mask = augment_pair(
            tf.constant(image), tf.constant(mask), TRANSFORMS[name], tf.constant([s, 7], tf.int64)
        )
        out_image, out_mask = out_image.numpy()[..., 0], out_mask.numpy()
        clear = np.abs(out_image - 0.5) > 0.08  # away from the level set, interpolation cannot flip a pixel
        assert clear.mean() > 0.5
        agreement = ((out_image > 0.5) == (out_mask == 1))[clear].mean()
        assert agreement > 0.995, f"{name}, draw {s}: image and mask disagree on {1 - agreement:.1%} of clear pixels"
        changed += not np.array_equal(out_mask, mask)
    assert changed >= 3, "the transform should change the mask in most draws"


def test_an_independent_draw_for_the_mask_would_be_caught():
    """The check above can fail: the mask of another draw does not follow the image."""
    image = smooth_image()
    mask = (image[..., 0] > 0.5).astype(np.int32)
    aug = TRANSFORMS["everything"]
    out_image, _ = augment_pair(tf.constant(image), tf.constant(mask), aug, tf.constant([1, 7], tf.int64))
    _, other_mask = augment_pair(tf.constant(image), tf.constant(mask), aug, tf.constant([2, 7], tf.int64))
    out_image = out_image.numpy()[..., 0]
    clear = np.abs(out_image - 0.5) > 0.08
    assert ((out_image > 0.5) == (other_mask.numpy() == 1))[clear].mean() < 0.99


@pytest.mark.parametrize("name", ["rotation", "scale", "elastic", "everything"])
def test_masks_are_resampled_with_nearest_neighbour(name):
    """No new label appears, the ignore value (255) included."""
    rng = np.random.default_rng(0)
    mask = rng.choice(np.array([0, 3, 255], np.int32), size=(48, 48))
    image = rng.random((48, 48, 3), dtype=np.float32)
    for s in range(4):
        _, out = augment_pair(tf.constant(image), tf.constant(mask), TRANSFORMS[name], tf.constant([s, 1], tf.int64))
        assert set(np.unique(out.numpy())) <= {0, 3, 255}


def test_photometric_changes_touch_the_image_only():
    image = smooth_image()
    mask = (image[..., 0] > 0.5).astype(np.int32)
    geometric = Augment(flips=True, rot90=True)
    both = Augment(flips=True, rot90=True, brightness=0.2, contrast=0.3, gamma=0.3, noise=0.05)
    seed = tf.constant([3, 4], tf.int64)
    img_g, mask_g = augment_pair(image, mask, geometric, seed)
    img_b, mask_b = augment_pair(image, mask, both, seed)
    np.testing.assert_array_equal(mask_g.numpy(), mask_b.numpy())
    assert not np.allclose(img_g.numpy(), img_b.numpy())
    assert 0.0 <= img_b.numpy().min() and img_b.numpy().max() <= 1.0


def test_weights_travel_with_the_mask():
    image = smooth_image()
    mask = (image[..., 0] > 0.5).astype(np.int32)
    weight = mask.astype(np.float32) * 5.0 + 1.0
    out = augment_pair(image, mask, TRANSFORMS["everything"], tf.constant([5, 5], tf.int64), weight=weight)
    np.testing.assert_array_equal(out[2].numpy(), out[1].numpy() * 5.0 + 1.0)


def test_augment_validates_its_options():
    with pytest.raises(ValueError, match="scale"):
        Augment(scale=(1.2, 0.8))
    with pytest.raises(ValueError, match="rotation"):
        Augment(rotation=-5)
    with pytest.raises(ValueError, match="contrast"):
        Augment(contrast=1.5)
    assert Augment(flips=False, rot90=False).is_identity()


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
        (lambda i, m: (i, np.where(m == 1, 7, m)), "values \\[7\\]"),
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

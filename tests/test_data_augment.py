"""Joint augmentation: image and mask stay aligned under every transform; masks stay nearest-neighbour."""

import numpy as np
import pytest
import tensorflow as tf

from unet_course.data.augment import Augment, augment_pair


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


def dihedral(image):
    """The 8 flips and quarter turns of a square (H, W, ...) array."""
    out = []
    for k in range(4):
        turned = np.rot90(image, k)
        out += [turned, turned[:, ::-1]]
    return out


def test_flips_and_quarter_turns_move_pixels_exactly():
    """Flips and turns go through the same resampling as rotations, but must not blur: each
    output is one of the 8 dihedral copies of its input, bit for bit."""
    rng = np.random.default_rng(1)
    image = rng.random((32, 32, 2), dtype=np.float32)
    mask = rng.integers(0, 3, (32, 32)).astype(np.int32)
    seen = set()
    for s in range(12):
        out_image, out_mask = augment_pair(image, mask, Augment(flips=True, rot90=True), tf.constant([s, 3], tf.int64))
        matches = [i for i, copy in enumerate(dihedral(image)) if np.array_equal(out_image.numpy(), copy)]
        assert len(matches) == 1, f"draw {s}: the image is not an exact flip/turn of the input"
        np.testing.assert_array_equal(out_mask.numpy(), dihedral(mask)[matches[0]])
        seen.add(matches[0])
    assert len(seen) >= 5, f"12 draws gave only {len(seen)} of the 8 flips/turns"


def test_every_example_of_a_batch_gets_its_own_draw_and_keeps_its_mask():
    """augment_batch: one draw per example (not one per batch), image and mask together."""
    from unet_course.data.augment import augment_batch

    images = np.stack([smooth_image(seed=i) for i in range(6)])
    masks = (images[..., 0] > 0.5).astype(np.int32)
    aug = TRANSFORMS["everything"]
    out_images, out_masks = augment_batch(images, masks, aug, tf.constant([4, 2], tf.int64))
    out_images, out_masks = out_images.numpy()[..., 0], out_masks.numpy()
    for i in range(6):
        clear = np.abs(out_images[i] - 0.5) > 0.08
        assert ((out_images[i] > 0.5) == (out_masks[i] == 1))[clear].mean() > 0.995, f"example {i} lost its mask"
    # the same input six times: six different outputs if each example has its own draw
    same = np.repeat(images[:1], 6, axis=0)
    outs, _ = augment_batch(same, np.repeat(masks[:1], 6, axis=0), aug, tf.constant([4, 2], tf.int64))
    outs = outs.numpy()
    assert len({outs[i].tobytes() for i in range(6)}) == 6


def test_saturation_and_hue_change_colour_images_only():
    """Colour jitter touches RGB images (not their masks), keeps grey levels, and leaves grey images alone."""
    rng = np.random.default_rng(2)
    rgb = rng.uniform(0.3, 0.7, (4, 16, 16, 3)).astype(np.float32)  # stays inside [0, 1]: no clipping
    masks = rng.integers(0, 3, (4, 16, 16)).astype(np.int32)
    colour = Augment(flips=False, rot90=False, saturation=0.3, hue=0.1)
    from unet_course.data.augment import augment_batch

    out, out_masks = augment_batch(rgb, masks, colour, tf.constant([1, 1], tf.int64))
    out = out.numpy()
    np.testing.assert_array_equal(out_masks.numpy(), masks)
    assert np.abs(out - rgb).max() > 0.05, "the colours should change"
    # hue and saturation keep each pixel's luminance
    luminance = np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(out @ luminance, rgb @ luminance, atol=1e-5)
    # each image gets one colour matrix: the output is a linear function of its input, pixel by pixel
    for i in range(4):
        matrix, *_ = np.linalg.lstsq(rgb[i].reshape(-1, 3), out[i].reshape(-1, 3), rcond=None)
        np.testing.assert_allclose(rgb[i].reshape(-1, 3) @ matrix, out[i].reshape(-1, 3), atol=1e-5)
    # a grey image (1 channel) and a grey RGB image (no saturation, no hue) do not change
    grey = rgb[..., :1]
    np.testing.assert_array_equal(augment_batch(grey, masks, colour, tf.constant([1, 1], tf.int64))[0].numpy(), grey)
    flat = np.repeat(grey, 3, axis=-1)
    np.testing.assert_allclose(
        augment_batch(flat, masks, colour, tf.constant([1, 1], tf.int64))[0].numpy(), flat, atol=1e-5
    )
    with pytest.raises(ValueError, match="hue"):
        Augment(hue=0.7)


def test_a_batch_is_warped_as_each_example_alone():
    """warp on (N, H, W, C) with (N, H, W, 2) fields = warp of each example with its own field."""
    from unet_course.data.augment import warp

    rng = np.random.default_rng(0)
    stack = rng.random((3, 20, 24, 2)).astype(np.float32)
    field = (rng.normal(size=(3, 20, 24, 2)) * 3).astype(np.float32)
    for interpolation in ("bilinear", "nearest"):
        batch = warp(tf.constant(stack), tf.constant(field), interpolation).numpy()
        alone = np.stack([warp(tf.constant(stack[i]), tf.constant(field[i]), interpolation).numpy() for i in range(3)])
        np.testing.assert_array_equal(batch, alone)

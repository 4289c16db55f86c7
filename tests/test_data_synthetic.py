"""unet_course.data.synthetic: the shapes data set, deterministic and seeded."""

import numpy as np
import pytest

from unet_course.data import CLASS_NAMES, make_shapes


def test_make_shapes_contract():
    images, masks = make_shapes(12, 48, seed=3)
    assert images.shape == (12, 48, 48, 3) and images.dtype == np.float32
    assert masks.shape == (12, 48, 48) and masks.dtype == np.uint8
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert set(np.unique(masks)) <= set(range(len(CLASS_NAMES)))
    assert len(set(np.unique(masks))) == 4  # background and all three shapes occur


def test_make_shapes_is_deterministic_and_seeded():
    a = make_shapes(4, 32, seed=1)
    b = make_shapes(4, 32, seed=1)
    c = make_shapes(4, 32, seed=2)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_shapes_overlap_sometimes():
    # with several shapes per image, some image has a shape partly hidden by another
    _, masks = make_shapes(40, 64, seed=0, max_shapes=4, noise=0)
    assert any(len(np.unique(m)) >= 3 for m in masks)


def test_imbalanced_variant_is_tiny_foreground():
    _, masks = make_shapes(50, 64, imbalanced=True)
    fraction = np.mean(masks > 0)
    assert 0.0005 < fraction < 0.02
    assert all((m > 0).any() for m in masks)  # every image has its one shape


def test_images_depend_on_masks():
    # the shapes are visible: pixels inside a shape differ from the background around it
    images, masks = make_shapes(5, 64, noise=0.0)
    for image, mask in zip(images, masks):
        assert np.abs(image[mask > 0].mean(0) - image[mask == 0].mean(0)).max() > 0.05


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        (dict(num_images=0), "num_images must be at least 1"),
        (dict(num_images=3, image_size=8), "image_size must be at least 16"),
        (dict(num_images=3, image_size=32.5), "whole number"),
        (dict(num_images=3, noise=-1), "noise"),
    ],
)
def test_make_shapes_bad_input(kwargs, phrase):
    with pytest.raises(ValueError, match=phrase):
        make_shapes(**kwargs)

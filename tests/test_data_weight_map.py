"""The paper's weight map (equation 2) against hand-worked cases."""

import math

import numpy as np
import pytest

from unet_course.data.weight_map import border_term, class_balance_weights, unet_weight_map


def test_one_row_two_cells_by_hand():
    mask = np.array([[1, 1, 0, 0, 0, 1, 1]])
    # every gap pixel: d1 + d2 = 4 (e.g. pixel 2: 1 to the left cell, 3 to the right one)
    border = 10 * math.exp(-(4**2) / (2 * 5**2))
    expected = np.array([[1, 1, 4 / 3 + border, 4 / 3 + border, 4 / 3 + border, 1, 1]])
    np.testing.assert_allclose(unet_weight_map(mask), expected, rtol=1e-6)
    np.testing.assert_allclose(
        unet_weight_map(mask, class_weights=None), np.where(mask == 1, 1.0, 1.0 + border), rtol=1e-6
    )


def test_two_squares_by_hand():
    """Two 2x2 cells in a 6x8 image, 2 background columns apart, sigma 2, w0 3."""
    mask = np.zeros((6, 8), int)
    mask[2:4, 1:3] = 1
    mask[2:4, 5:7] = 1
    w = unet_weight_map(mask, w0=3.0, sigma=2.0, class_weights=None)
    # pixel (2, 3): 1 from the left cell, 2 from the right one
    assert w[2, 3] == pytest.approx(1 + 3 * math.exp(-(3**2) / 8))
    # pixel (0, 0): sqrt(2^2 + 1^2) from the left cell, sqrt(2^2 + 5^2) from the right
    d1, d2 = math.hypot(2, 1), math.hypot(2, 5)
    assert w[0, 0] == pytest.approx(1 + 3 * math.exp(-((d1 + d2) ** 2) / 8), rel=1e-6)
    assert np.all(w[mask == 1] == 1)  # the border term is for the gaps only


def test_a_single_object_has_no_border_term():
    mask = np.zeros((10, 10), int)
    mask[3:6, 3:6] = 1
    assert np.all(border_term(mask == 1) == 0)
    np.testing.assert_allclose(unet_weight_map(mask), np.where(mask == 1, 91 / 9, 1.0))


def test_balanced_weights_and_ignore():
    mask = np.array([[0, 0, 0, 1, 255, 255]])
    np.testing.assert_allclose(class_balance_weights(mask, 2, ignore_index=255), [1.0, 3.0])
    w = unet_weight_map(mask, ignore_index=255, num_classes=2)
    assert w[0, 4] == 0 and w[0, 5] == 0 and w[0, 3] == pytest.approx(3.0)


def test_bad_input():
    with pytest.raises(ValueError, match="one mask at a time"):
        unet_weight_map(np.zeros((2, 4, 4), int))
    with pytest.raises(ValueError, match="sigma"):
        unet_weight_map(np.zeros((4, 4), int), sigma=0)
    with pytest.raises(ValueError, match="one per class"):
        unet_weight_map(np.array([[0, 2]]), class_weights=[1.0, 1.0])


def brute_force_border_term(objects, w0=10.0, sigma=5.0):
    """Every object's distance transform over the whole image: the definition, slowly."""
    from scipy import ndimage

    labels, count = ndimage.label(objects)
    distances = np.sort(np.stack([ndimage.distance_transform_edt(labels != i) for i in range(1, count + 1)]), axis=0)
    return w0 * np.exp(-((distances[0] + distances[1]) ** 2) / (2 * sigma**2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_windowed_distances_match_the_whole_image_definition(seed):
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    blobs = ndimage.gaussian_filter(rng.random((96, 128)), 3) > 0.52  # a few dozen irregular objects
    assert ndimage.label(blobs)[1] >= 5
    fast = border_term(blobs, 10.0, 5.0, tolerance=1e-6)
    np.testing.assert_allclose(fast, brute_force_border_term(blobs), atol=1e-5, rtol=1e-5)
    # a looser tolerance cuts off more of the tail, never more than tolerance * w0
    loose = border_term(blobs, 10.0, 5.0, tolerance=1e-2)
    assert np.abs(loose - brute_force_border_term(blobs)).max() <= 1e-2 * 10.0
    assert (loose == 0).sum() > (fast == 0).sum()
    with pytest.raises(ValueError, match="tolerance"):
        border_term(blobs, tolerance=0)

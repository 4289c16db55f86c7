"""unet_course.data.sampling: rare-class shares, which images to repeat, clear errors."""

import numpy as np
import pytest

from unet_course.data.sampling import oversample, oversampling_indices, rare_class_shares

VOID = 11


def _masks():
    plain = np.zeros((4, 4), np.uint8)  # no rare class
    pole = plain.copy()
    pole[0, :2] = 2  # 2 of 16 pixels
    sign_and_void = np.full((4, 4), VOID, np.uint8)
    sign_and_void[0, 0] = 6  # the only labelled pixel
    return [plain, pole, sign_and_void]


def test_shares_leave_void_out():
    shares = rare_class_shares(_masks(), classes=[2, 6], ignore_index=VOID)
    np.testing.assert_allclose(shares, [0.0, 2 / 16, 1.0])
    # without ignore_index, void counts as labelled: the third image's share drops to 1/16
    np.testing.assert_allclose(rare_class_shares(_masks(), classes=[2, 6]), [0.0, 2 / 16, 1 / 16])


def test_indices_repeat_rare_images_in_order():
    assert oversampling_indices(_masks(), [2, 6], factor=3, ignore_index=VOID).tolist() == [0, 1, 1, 1, 2, 2, 2]
    assert oversampling_indices(_masks(), [2, 6], factor=1).tolist() == [0, 1, 2]
    # min_share: only images above it are repeated
    assert oversampling_indices(_masks(), [2, 6], factor=2, min_share=0.5, ignore_index=VOID).tolist() == [0, 1, 2, 2]


def test_oversample_arrays_and_lists():
    masks = np.stack(_masks())
    images = np.arange(3, dtype=np.float32)[:, None, None, None] * np.ones((3, 4, 4, 3), np.float32)
    new_images, new_masks = oversample(images, masks, [2], factor=2)
    assert isinstance(new_images, np.ndarray) and new_images.shape == (4, 4, 4, 3)
    assert new_images[:, 0, 0, 0].tolist() == [0, 1, 1, 2]
    np.testing.assert_array_equal(new_masks[2], masks[1])
    list_images, list_masks = oversample(list(images), list(masks), [2], factor=2)
    assert isinstance(list_images, list) and len(list_masks) == 4


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: oversampling_indices(_masks(), [], factor=2), "classes is empty"),
        (lambda: oversampling_indices(_masks(), [2], factor=0), "factor"),
        (lambda: oversampling_indices(_masks(), [2], min_share=1.5), "min_share"),
        (lambda: oversampling_indices(np.zeros((4, 4)), [2]), "one mask"),
        (lambda: oversampling_indices([], [2]), "empty"),
        (lambda: oversample(np.zeros((2, 4, 4, 3)), np.stack(_masks()), [2]), "one mask per image"),
    ],
)
def test_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()

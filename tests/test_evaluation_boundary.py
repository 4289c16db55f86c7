"""Tests of unet_course.evaluation: boundary band and boundary IoU on hand-worked masks."""

import numpy as np
import pytest

from unet_course.evaluation import boundary_band, boundary_iou, evaluate_variants, foreground_iou


def square_mask(size=8, start=2, stop=6, value=1):
    mask = np.zeros((size, size), dtype=np.uint8)
    mask[start:stop, start:stop] = value
    return mask


def test_band_of_a_square_by_hand():
    band = boundary_band(square_mask(), 1)
    # width 1: the 6x6 block rows/cols 1..6 holds every pixel next to the edge, except the 2x2 core
    expected = np.zeros((8, 8), bool)
    expected[1:7, 1:7] = True
    expected[3:5, 3:5] = False
    np.testing.assert_array_equal(band, expected)
    assert band.sum() == 32
    assert boundary_band(square_mask(), 2).sum() == 64  # the whole 8x8 image


def test_band_ignores_the_image_border_and_uniform_masks():
    assert not boundary_band(np.zeros((5, 7), int), 2).any()
    assert not boundary_band(np.ones((5, 7), int), 1).any()
    half = np.zeros((4, 6), int)
    half[:, 3:] = 1
    band = boundary_band(half, 1)
    np.testing.assert_array_equal(band.any(axis=0), [False, False, True, True, False, False])
    assert band[:, 2:4].all()


def test_band_separates_classes_not_just_foreground():
    mask = np.zeros((6, 6), int)
    mask[:, :3] = 1
    mask[:, 3:] = 2  # two touching classes, no background
    assert boundary_band(mask, 1)[:, 2:4].all()
    assert boundary_band(mask, 1).sum() == 12


def test_band_of_a_batch_is_per_image():
    batch = np.stack([square_mask(), np.zeros((8, 8), np.uint8)])
    band = boundary_band(batch, 1)
    assert band.shape == (2, 8, 8)
    assert band[0].sum() == 32 and band[1].sum() == 0


def test_band_agrees_with_scipy():
    ndimage = pytest.importorskip("scipy.ndimage")
    from unet_course.data import make_shapes

    _, masks = make_shapes(3, 32, seed=3)
    for width in (1, 2, 3):
        size = (1, 2 * width + 1, 2 * width + 1)
        reference = ndimage.maximum_filter(masks, size=size, mode="nearest") != ndimage.minimum_filter(
            masks, size=size, mode="nearest"
        )
        np.testing.assert_array_equal(boundary_band(masks, width), reference)


def test_boundary_iou_by_hand():
    truth = square_mask()
    assert boundary_iou(truth, truth, 1) == 1.0
    # prediction shrunk by one pixel on every side: 3..4, a 2x2 square
    shrunk = square_mask(start=3, stop=5)
    # band (32 pixels) holds 12 true foreground pixels (the ring 2..5 minus core) and no predicted ones
    assert boundary_iou(truth, shrunk, 1) == 0.0
    # grown by one pixel: predicted 1..6 (36 px); in the band: 12 true, 32 predicted, 12 shared
    grown = square_mask(start=1, stop=7)
    assert boundary_iou(truth, grown, 1) == pytest.approx(12 / 32)
    # plain IoU of the grown prediction is 16 / 36: the band makes the error count more
    assert foreground_iou(truth, grown, 2) == pytest.approx(16 / 36)


def test_boundary_iou_multiclass_is_mean_over_foreground_classes():
    truth = np.zeros((6, 6), int)
    truth[:, :3] = 1
    truth[:, 3:] = 2
    swapped = np.where(truth == 1, 2, 1)
    assert boundary_iou(truth, truth, 1, num_classes=3) == 1.0
    assert boundary_iou(truth, swapped, 1, num_classes=3) == 0.0
    # shift the edge right by one: column 3 predicted as class 1
    shifted = truth.copy()
    shifted[:, 3] = 1
    # band = columns 2..3; class 1: true 6, predicted 12, shared 6 -> 0.5; class 2: true 6, pred 0 -> 0
    assert boundary_iou(truth, shifted, 1, num_classes=3) == pytest.approx(0.25)


def test_boundary_iou_empty_band_and_batches():
    empty = np.zeros((4, 4), int)
    assert boundary_iou(empty, empty, 2) == 1.0
    truth = np.stack([square_mask(), square_mask()])
    pred = np.stack([square_mask(), square_mask(start=1, stop=7)])
    # pooled: intersection 12 + 12, union 12 + 32
    assert boundary_iou(truth, pred, 1) == pytest.approx(24 / 44)


@pytest.mark.parametrize(
    "call, phrase",
    [
        (lambda: boundary_band(np.zeros((4, 4)), 0), "width must be at least 1"),
        (lambda: boundary_band(np.zeros((4, 4)), 1.5), "whole number"),
        (lambda: boundary_band(np.zeros((1, 4, 4, 3)), 1), "argmax"),
        (lambda: boundary_band(np.zeros(4), 1), "(height, width)"),
        (lambda: boundary_iou(np.zeros((4, 4)), np.zeros((4, 5)), 1), "must match"),
        (lambda: boundary_iou(np.full((4, 4), 2), np.zeros((4, 4)), 1), "binary"),
        (lambda: boundary_iou(np.full((4, 4), 0.5), np.zeros((4, 4)), 1), "fractional"),
        (lambda: boundary_iou(np.full((4, 4), 3), np.zeros((4, 4)), 1, num_classes=3), "outside 0..2"),
        (lambda: boundary_iou(np.zeros((4, 4)), np.zeros((4, 4)), 1, num_classes=1), "at least 2"),
        (lambda: evaluate_variants({}, np.zeros((1, 8, 8, 3)), np.zeros((1, 8, 8))), "non-empty dict"),
    ],
)
def test_bad_input_raises_value_error(call, phrase):
    with pytest.raises(ValueError, match=None) as info:
        call()
    assert phrase in str(info.value)


def test_evaluate_variants_on_a_tiny_model():
    import keras

    from unet_course.models import build_unet

    keras.utils.set_random_seed(0)
    model = build_unet((16, 16, 3), 2, depth=1, base_filters=2)
    images = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    masks = np.stack([square_mask(16, 4, 12)] * 2)
    rows = evaluate_variants({"tiny": model}, images, masks, width=1)
    assert rows[0]["name"] == "tiny" and rows[0]["parameters"] == model.count_params()
    assert rows[0]["predictions"].shape == (2, 16, 16)
    assert 0.0 <= rows[0]["boundary_iou"] <= 1.0 and 0.0 <= rows[0]["iou"] <= 1.0

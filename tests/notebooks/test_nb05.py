"""Notebook 05's teaching code agrees with the package (decoder block, crop, boundary IoU)."""

import keras
import numpy as np
import pytest
from tests.notebook_code import notebook_namespace

from unet_course import evaluation
from unet_course.exercises import ex05
from unet_course.models import build_unet, decoder_block

NAMES = [
    "center_crop_amounts",
    "decoder_block_from_scratch",
    "boundary_band",
    "boundary_iou",
    "skip_crops",
    "add_decoder_block",
    "buggy_valid_decoder_block",
    "boundary_iou_both",
]


@pytest.fixture(scope="module")
def nb():
    return notebook_namespace("05_decoder_and_skips", NAMES)


def _block_model(block_fn, x_shape, skip_shape, num_filters, **options):
    x_in, skip_in = keras.Input(x_shape), keras.Input(skip_shape)
    return keras.Model([x_in, skip_in], block_fn(x_in, skip_in, num_filters, **options))


@pytest.mark.parametrize("mode", ["concat", "add", "none"])
@pytest.mark.parametrize("padding, x_shape, skip_shape", [("same", (4, 4, 8), (8, 8, 4)), ("valid", (6, 6, 8), (16, 16, 4)), ("valid", (5, 7, 8), (13, 16, 4))])
def test_scratch_decoder_block_matches_package(nb, mode, padding, x_shape, skip_shape):
    scratch = _block_model(nb["decoder_block_from_scratch"], x_shape, skip_shape, 4, skip_mode=mode, padding=padding)
    package = _block_model(decoder_block, x_shape, skip_shape, 4, skip_mode=mode, padding=padding)
    assert scratch.output_shape == package.output_shape
    assert scratch.count_params() == package.count_params()


def test_scratch_crop_matches_keras_cropping(nb):
    # odd differences: the package (Cropping2D in merge_skip) and the notebook agree on the side
    skip = np.arange(13 * 16).reshape(1, 13, 16, 1).astype("float32")
    x_in, skip_in = keras.Input((10, 14, 1)), keras.Input((13, 16, 1))
    from unet_course.models import merge_skip

    merged = keras.Model([x_in, skip_in], merge_skip(x_in, skip_in, "concat"))
    package_crop = np.asarray(merged.predict([np.zeros((1, 10, 14, 1), "float32"), skip], verbose=0))[..., 0]
    top, _ = nb["center_crop_amounts"](13, 10)
    left, _ = nb["center_crop_amounts"](16, 14)
    np.testing.assert_array_equal(package_crop[0], skip[0, top : top + 10, left : left + 14, 0])


def test_paper_crop_amounts(nb):
    assert nb["center_crop_amounts"](568, 392) == (88, 88)
    assert nb["center_crop_amounts"](64, 56) == (4, 4)
    assert nb["center_crop_amounts"](7, 4) == (1, 2)


@pytest.mark.parametrize("input_size, depth", [(572, 4), (132, 3), (60, 2)])
def test_notebook_crop_table_is_the_models(nb, input_size, depth):
    model = build_unet((input_size, input_size, 1), 2, depth=depth, base_filters=1, padding="valid")
    from_model = [model.get_layer(f"dec{level}_crop").cropping[0][0] for level in range(1, depth + 1)]
    assert nb["skip_crops"](input_size, depth) == ex05.skip_crops(input_size, depth) == from_model


def test_notebook_exercise_solutions_pass_and_agree_with_the_package(nb):
    for exercise, name in ((ex05.q1, "skip_crops"), (ex05.q2, "add_decoder_block"), (ex05.q4, "boundary_iou_both")):
        passed, message = exercise.verdict(nb[name])
        assert passed, f"{name}: {message}"
    # with equal channel counts the added block is the package's skip_mode="add" block
    ours = _block_model(nb["add_decoder_block"], (4, 4, 16), (8, 8, 8), 8)
    package = _block_model(lambda x, s, f: decoder_block(x, s, f, skip_mode="add"), (4, 4, 16), (8, 8, 8), 8)
    assert ours.output_shape == package.output_shape and ours.count_params() == package.count_params()
    # with different counts the projection costs channels x filters weights and filters biases
    projected = _block_model(nb["add_decoder_block"], (4, 4, 16), (8, 8, 4), 8)
    assert projected.count_params() == package.count_params() + 4 * 8 + 8


def test_notebook_buggy_block_is_the_exercises(nb):
    passed, message = ex05.q3.verdict(nb["buggy_valid_decoder_block"])
    assert not passed and "you cut nothing at the top" in message
    ours = _block_model(nb["buggy_valid_decoder_block"], (28, 28, 16), (64, 64, 8), 8)
    reference = _block_model(ex05.buggy_valid_decoder_block, (28, 28, 16), (64, 64, 8), 8)
    assert ours.output_shape == reference.output_shape == (None, 52, 52, 8)


def test_notebook_boundary_iou_both_on_shapes(nb):
    from unet_course.data import make_shapes

    _, masks = make_shapes(4, 32, seed=7)
    binary = (masks > 0).astype("uint8")
    rng = np.random.default_rng(1)
    for truth in binary:
        noisy = np.where(rng.random(truth.shape) < 0.1, 1 - truth, truth)
        assert nb["boundary_iou_both"](truth, noisy, 2) == pytest.approx(ex05.boundary_iou_both(truth, noisy, 2))


def test_paper_parameter_counts_of_the_three_merges():
    counts = {mode: build_unet((572, 572, 1), 2, padding="valid", skip=mode).count_params() for mode in ("concat", "add", "none")}
    assert counts["concat"] == 31_030_658
    assert counts["add"] == counts["none"] == 31_030_658 - 9 * (64**2 + 128**2 + 256**2 + 512**2) == 27_897_218


def test_boundary_band_and_iou_hand_worked(nb):
    truth = np.zeros((8, 8), dtype=np.uint8)
    truth[2:6, 2:6] = 1
    grown = np.zeros_like(truth)
    grown[1:7, 1:7] = 1
    band = nb["boundary_band"](truth, 1)
    assert band.sum() == 32
    np.testing.assert_array_equal(band, evaluation.boundary_band(truth, 1))
    assert nb["boundary_iou"](truth, grown, 1) == pytest.approx(12 / 32)
    assert evaluation.boundary_iou(truth, grown, 1) == pytest.approx(12 / 32)


def test_boundary_band_scratch_matches_package_on_shapes(nb):
    from unet_course.data import make_shapes

    _, masks = make_shapes(4, 32, seed=7)
    binary = (masks > 0).astype("uint8")
    rng = np.random.default_rng(0)
    for mask, fg in zip(masks, binary):
        for width in (1, 2, 3):
            np.testing.assert_array_equal(nb["boundary_band"](mask, width), evaluation.boundary_band(mask, width))
            noisy = np.where(rng.random(fg.shape) < 0.1, 1 - fg, fg)
            assert nb["boundary_iou"](fg, noisy, width) == pytest.approx(evaluation.boundary_iou(fg, noisy, width))


def test_valid_decoder_exercise_solution_is_the_package_block_with_valid_padding():
    ns = notebook_namespace("05_decoder_and_skips", ["valid_decoder_block"])
    passed, message = ex05.q3.verdict(ns["valid_decoder_block"])
    assert passed, message
    for x_shape, skip_shape in (((28, 28, 16), (64, 64, 8)), ((5, 7, 6), (13, 16, 4))):
        ours = _block_model(ns["valid_decoder_block"], x_shape, skip_shape, 4)
        package = _block_model(lambda x, s, f: decoder_block(x, s, f, padding="valid"), x_shape, skip_shape, 4)
        assert ours.output_shape == package.output_shape
        assert ours.count_params() == package.count_params()

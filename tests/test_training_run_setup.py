"""What a training run derives from its checked inputs (``training/run_setup.py``): the crop fitted to
the images and the model, the valid-padding output, the label the loss ignores, the steps of an epoch."""

import dataclasses

import numpy as np
import pytest

from unet_course.data.tiles import OUTSIDE_LABEL
from unet_course.training import RECIPES
from unet_course.training.run_setup import run_setup

TINY = RECIPES["course"].replace(base_filters=4, depth=2, crop_size=32, batch_size=4)
VALID = TINY.replace(padding="valid", crop_size=60)  # depth 2: 60 in, 20 out


def masks(n, size):
    return [np.zeros((size, size), np.int32)] * n


def test_same_padding_shrinks_the_crop_to_the_smallest_image_and_a_multiple_of_2_to_the_depth():
    setup = run_setup(
        TINY.replace(crop_size=64), masks(4, 50), num_classes=2, ignore_index=None, crop_size=None,
        batch_size=None, has_validation=True,
    )  # fmt: skip
    assert (setup.crop, setup.output_size, setup.batch) == (48, None, 4) and not setup.valid_padding
    assert setup.loss_ignore is None and setup.recipe.crop_size == 48
    assert setup.steps_per_epoch == 1  # 4 images of 50x50 = 2.7 crops of 48x48: one batch of 4
    with pytest.raises(dataclasses.FrozenInstanceError):
        setup.crop = 32


def test_valid_padding_validates_on_tiles_whose_outside_the_loss_ignores():
    options = dict(num_classes=3, crop_size=None, batch_size=2)
    setup = run_setup(VALID, masks(4, 64), ignore_index=None, has_validation=True, **options)
    assert (setup.crop, setup.output_size) == (60, 20) and setup.valid_padding
    assert setup.loss_ignore == OUTSIDE_LABEL and setup.recipe.batch_size == 2
    assert run_setup(VALID, masks(4, 64), ignore_index=None, has_validation=False, **options).loss_ignore is None
    assert run_setup(VALID, masks(4, 64), ignore_index=7, has_validation=True, **options).loss_ignore == 7


@pytest.mark.parametrize(
    "recipe, size, options, message",
    [
        (VALID, 32, {}, "Training images of 32 pixels are too small for a valid-padding U-Net of depth 2.*at least 44"),
        (TINY, 2, {}, "Training images of 2 pixels are too small for a U-Net of depth 2; they need at least 4"),
        (VALID, 64, dict(num_classes=300), "num_classes=300 leaves no free label.*give ignore_index"),
        (TINY, 64, dict(crop_size=0), "crop_size must be at least 1, got 0"),
        (TINY, 64, dict(batch_size=2.5), r"batch_size must be a whole number, got 2\.5"),
    ],
)
def test_what_cannot_be_had_is_a_clear_error(recipe, size, options, message):
    arguments = dict(num_classes=2, ignore_index=None, crop_size=None, batch_size=None, has_validation=True)
    with pytest.raises(ValueError, match=message):
        run_setup(recipe, masks(2, size), **{**arguments, **options})

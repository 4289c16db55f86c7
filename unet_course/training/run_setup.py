"""What a training run derives from its checked inputs, once: crop, output size, batch, ignored label, steps.

:func:`run_setup` fits the crop to the smallest training image and to the model (a
valid-padding U-Net takes only some input sizes, :func:`~unet_course.models.unet.valid_crop`),
picks the label the loss and the metric leave out, and counts the steps of an epoch; each
problem is a ``ValueError`` that says what to change. :class:`RunSetup` holds the answers for
:func:`~unet_course.training.fit.train_segmenter`.
"""

from __future__ import annotations

from dataclasses import dataclass

from unet_course._validation import check_positive_int
from unet_course.data.pipeline import steps_per_epoch
from unet_course.data.tiles import OUTSIDE_LABEL
from unet_course.models.unet import largest_valid_input, smallest_valid_input, valid_crop
from unet_course.training.recipes import Recipe


@dataclass(frozen=True)
class RunSetup:
    """What :func:`train_segmenter` derives from its checked inputs, once, for the rest of the run.

    ``recipe`` carries the run's ``crop_size`` and ``batch_size``. ``output_size`` is the
    model's output (the masks' crop) with valid padding, else ``None``. ``loss_ignore`` is the
    label the loss and the metric leave out: the void label (``ignore_index``), or, for the
    overlap tiles of a valid-padding validation set, :data:`~unet_course.data.tiles.OUTSIDE_LABEL`.
    """

    recipe: Recipe
    num_classes: int
    ignore_index: int | None
    loss_ignore: int | None
    crop: int
    output_size: int | None
    batch: int
    steps_per_epoch: int
    has_validation: bool

    @property
    def valid_padding(self) -> bool:
        return self.output_size is not None


def run_setup(recipe, masks, *, num_classes, ignore_index, crop_size, batch_size, has_validation) -> RunSetup:
    """The crop (fitted to the smallest training image and to the model), the output size, the
    batch, the label the loss ignores and the steps per epoch, each a clear ``ValueError`` when
    it cannot be had."""
    crop = check_positive_int("crop_size", crop_size if crop_size is not None else recipe.crop_size)
    batch = check_positive_int("batch_size", batch_size if batch_size is not None else recipe.batch_size)
    smallest = min(min(m.shape) for m in masks)
    output_size = None
    if recipe.padding == "valid":
        crop, output_size = valid_crop(crop, recipe.depth)
        if crop > smallest:  # like 'same': the crop shrinks to the smallest training image
            fits = largest_valid_input(smallest, recipe.depth)
            if fits is None:
                raise ValueError(
                    f"Training images of {smallest} pixels are too small for a valid-padding U-Net of depth "
                    f"{recipe.depth}: it needs inputs of at least {smallest_valid_input(recipe.depth)} "
                    "pixels. Use larger images, a smaller depth, or padding='same'."
                )
            crop, output_size = valid_crop(fits, recipe.depth)
    else:
        depth = recipe.model_depth  # 5 for a backbone U-Net (stride 32)
        crop = min(crop, smallest - smallest % 2**depth)
        if crop < 2**depth:
            what = (
                f"a U-Net with the {recipe.encoder} encoder (depth 5)"
                if recipe.encoder
                else f"a U-Net of depth {depth}"
            )
            raise ValueError(
                f"Training images of {smallest} pixels are too small for {what}; they need at least {2**depth}."
            )
    # valid padding: the validation tiles mark pixels outside the image (or owned by another
    # tile) with a label the loss and the metric ignore: the void label, or OUTSIDE_LABEL
    # (a label no training mask holds, so the training loss is unchanged)
    loss_ignore = ignore_index
    if output_size is not None and has_validation and ignore_index is None:
        if num_classes > OUTSIDE_LABEL:
            raise ValueError(
                f"num_classes={num_classes} leaves no free label for the pixels outside the validation tiles "
                f"({OUTSIDE_LABEL}); give ignore_index (a void label the masks may hold) for padding='valid'."
            )
        loss_ignore = OUTSIDE_LABEL
    return RunSetup(
        recipe=recipe.replace(crop_size=crop, batch_size=batch),
        num_classes=num_classes,
        ignore_index=ignore_index,
        loss_ignore=loss_ignore,
        crop=crop,
        output_size=output_size,
        batch=batch,
        # an epoch covers the labelled pixels once: with valid padding, only the output of each crop
        steps_per_epoch=steps_per_epoch([m.shape for m in masks], output_size or crop, batch),
        has_validation=has_validation,
    )

"""Training: recipes, a thin layer over ``model.fit``, and its callbacks.

>>> from unet_course.training import RECIPES
>>> sorted(RECIPES)
['course', 'textbook']

- :mod:`~unet_course.training.recipes`: :class:`Recipe`, ``RECIPES`` (``"textbook"``, ``"course"``);
  ``Recipe(encoder="vgg16", encoder_weights="hed", freeze_encoder=True)`` trains a pretrained
  ``keras.applications`` encoder under the course's decoder (``build_backbone_unet``, notebook 10)
- :mod:`~unet_course.training.fit`: :func:`train_segmenter` (data in, trained model out),
  :func:`train` (``model.fit`` with the course's callbacks), :func:`build_model`,
  :func:`valid_crop` and :func:`overlap_tiles` (training a valid-padding U-Net, the paper's)
- :mod:`~unet_course.training.callbacks`: ``TimeBudget``, ``CosineDecay``, ``BestWeights``,
  ``LivePrediction``
"""

from unet_course.training.callbacks import BestWeights, CosineDecay, LivePrediction, TimeBudget
from unet_course.training.fit import (
    TrainResult,
    build_model,
    make_loss,
    make_optimizer,
    normalization_statistics,
    overlap_tiles,
    train,
    train_segmenter,
    valid_crop,
)
from unet_course.training.recipes import COURSE, RECIPES, TEXTBOOK, Recipe, get_recipe, resolve_precision

__all__ = [
    "COURSE",
    "RECIPES",
    "TEXTBOOK",
    "BestWeights",
    "CosineDecay",
    "LivePrediction",
    "Recipe",
    "TimeBudget",
    "TrainResult",
    "build_model",
    "get_recipe",
    "make_loss",
    "make_optimizer",
    "normalization_statistics",
    "resolve_precision",
    "overlap_tiles",
    "train",
    "train_segmenter",
    "valid_crop",
]

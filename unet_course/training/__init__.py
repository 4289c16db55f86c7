"""Training: recipes, building a recipe's model, a thin layer over ``model.fit``, its callbacks, devices.

>>> from unet_course.training import RECIPES
>>> sorted(RECIPES)
['course', 'textbook']

- :mod:`~unet_course.training.recipes`: :class:`Recipe`, ``RECIPES`` (``"textbook"``, ``"course"``);
  ``Recipe(encoder="vgg16", encoder_weights="hed", freeze_encoder=True)`` trains a pretrained
  ``keras.applications`` encoder under the course's decoder (``build_backbone_unet``, notebook 10)
- :mod:`~unet_course.training.build`: :func:`build_model`, :func:`make_loss`, :func:`make_optimizer`,
  :func:`normalization_statistics` (a recipe's model, loss and optimiser)
- :mod:`~unet_course.training.fit`: :func:`train_segmenter` (data in, trained model out),
  :func:`train` (``model.fit`` with the course's callbacks)
- :mod:`~unet_course.training.callbacks`: ``TimeBudget``, ``CosineDecay``, ``BestWeights``,
  ``LivePrediction``, ``TiledLivePrediction``
- :mod:`~unet_course.training.distribute`: ``data_parallel`` (training on several devices);
  :mod:`~unet_course.training.replicas_experiment`: notebook 11's experiment in a fresh process
- re-exported for valid padding (the paper's U-Net): :func:`valid_crop`
  (:mod:`unet_course.models.unet`) and :func:`overlap_tiles` (:mod:`unet_course.data.tiles`)
"""

from unet_course.data.tiles import overlap_tiles
from unet_course.models.unet import valid_crop
from unet_course.training.build import build_model, make_loss, make_optimizer, normalization_statistics
from unet_course.training.callbacks import BestWeights, CosineDecay, LivePrediction, TimeBudget
from unet_course.training.fit import TrainResult, train, train_segmenter
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

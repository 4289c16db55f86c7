"""Build what a training run needs from a recipe: the model, its loss and its optimiser.

:func:`build_model` is the recipe's U-Net (or a pretrained encoder under the course's decoder),
with the training set's normalisation inside it (:func:`normalization_statistics`) and, for
``output_bias="prior"``, its classifier started at the class shares (:func:`class_shares`,
:func:`set_output_prior`); :func:`make_loss` and :func:`make_optimizer` are the recipe's loss
and optimiser.
"""

from __future__ import annotations

import keras
import numpy as np

from unet_course.data.masks import class_counts
from unet_course.losses import CrossEntropy, CrossEntropyDiceLoss, DiceLoss
from unet_course.models import build_backbone_unet, build_unet, set_encoder_trainable
from unet_course.models.unet import valid_crop
from unet_course.training.recipes import get_recipe, resolve_precision


def normalization_statistics(images) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and variance over every pixel of ``images`` (a list of (H, W, C))."""
    channels = images[0].shape[-1]
    total = np.zeros(channels)
    squares = np.zeros(channels)
    count = 0
    for image in images:
        pixels = image.reshape(-1, channels).astype(np.float64)
        total += pixels.sum(0)
        squares += (pixels**2).sum(0)
        count += len(pixels)
    mean = total / count
    variance = np.maximum(squares / count - mean**2, 1e-6)
    return mean.astype(np.float32), variance.astype(np.float32)


def build_model(recipe, channels: int, num_classes: int, *, mean=None, variance=None, class_shares=None) -> keras.Model:
    """The recipe's U-Net for images with ``channels`` channels.

    With ``recipe.normalize``, the training set's ``mean`` and ``variance`` are built into
    the model (a ``Normalization`` layer), so the saved model takes images in [0, 1] as
    they are loaded. With ``padding="same"`` the model takes any height and width divisible
    by ``2 ** recipe.depth``; with ``padding="valid"`` it takes ``recipe.crop_size`` rounded up
    to a valid size (:func:`~unet_course.models.unet.valid_crop`), square, and predicts its centre.

    With ``recipe.encoder`` it is :func:`~unet_course.models.build_backbone_unet` (the
    encoder's preprocessing inside it, any height and width divisible by 32), built with the
    recipe's ``encoder_weights``, ``freeze_encoder``, and ``base_filters``, ``upsampling`` and
    ``batch_norm`` for the decoder. Batch norm: the decoder's layers get
    ``recipe.batch_norm_momentum``; the encoder's too when it starts from random weights; a
    pretrained encoder that is fine-tuned keeps its batch-norm layers frozen (see
    :class:`~unet_course.training.recipes.Recipe`).

    ``recipe.precision`` (unless ``None``: Keras's global policy) sets the dtype policy of
    the layers built here, and the global policy is restored afterwards. With
    ``recipe.output_bias == "prior"`` and ``class_shares`` (:func:`class_shares` of the
    training masks) the classifier starts at the class prior (:func:`set_output_prior`).
    """
    recipe = get_recipe(recipe)
    precision = resolve_precision(recipe.precision)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)  # the layers built below keep it; restored after
    try:
        model = _build_model(recipe, channels, num_classes, mean=mean, variance=variance)
    finally:
        keras.config.set_dtype_policy(previous)
    if recipe.output_bias == "prior" and class_shares is not None:
        set_output_prior(model, class_shares)
    return model


def set_output_prior(model: keras.Model, class_shares) -> None:
    """Start the classifier's biases at ``log(share)``: the untrained model predicts about the shares.

    A softmax of ``log(p)`` is ``p``. The kernel is scaled to a standard deviation of 0.01
    (as RetinaNet's classifier is initialised), so that its random contribution does not
    drown the prior: the model's first guess is then near each class's share of the training
    pixels (whose cross-entropy is the entropy of the labels, the best a model that ignores
    its input can do) instead of a random mix around ``1 / num_classes``. Adam's steps do not
    depend on the size of a gradient, so the small kernel does not slow the layers below.
    Shares are floored at 1e-4 (a class absent from the training masks gets a finite bias).
    """
    layer = _find_classifier(model)
    kernel, bias = layer.get_weights()
    kernel = kernel * (0.01 / max(float(np.std(kernel)), 1e-12))
    shares = np.maximum(np.asarray(class_shares, dtype=np.float64), 1e-4)
    if shares.shape != bias.shape:
        raise ValueError(f"class_shares has {shares.size} values; the classifier has {bias.size} outputs.")
    shares = shares / shares.sum()
    layer.set_weights([kernel, np.log(shares).astype(bias.dtype)])


def _find_classifier(model):
    for layer in reversed(model.layers):
        if isinstance(layer, keras.Model):
            found = _find_classifier(layer)
            if found is not None:
                return found
        elif layer.name == "classifier":
            return layer
    return None


def class_shares(masks, num_classes: int, ignore_index=None) -> np.ndarray:
    """Each class's share of the labelled training pixels (``ignore_index`` left out)."""
    counts = class_counts(list(masks), num_classes, ignore_index)
    total = counts.sum()
    return counts / total if total else np.full(num_classes, 1.0 / num_classes)


def _build_model(recipe, channels: int, num_classes: int, *, mean=None, variance=None) -> keras.Model:
    if recipe.encoder is not None:
        return _build_backbone_model(recipe, channels, num_classes)
    size = valid_crop(recipe.crop_size, recipe.depth)[0] if recipe.padding == "valid" else None
    unet = build_unet(
        (size, size, channels),
        num_classes,
        depth=recipe.depth,
        base_filters=recipe.base_filters,
        upsampling=recipe.upsampling,
        padding=recipe.padding,
        batch_norm=recipe.batch_norm,
        dropout=recipe.dropout,
    )
    _set_momentum(unet.layers, recipe.batch_norm_momentum)
    if not recipe.normalize:
        return unet
    if mean is None or variance is None:
        raise ValueError("recipe.normalize needs the training set's mean and variance (see normalization_statistics).")
    inputs = keras.Input((size, size, channels), name="image")
    x = keras.layers.Normalization(
        mean=list(np.ravel(mean)), variance=list(np.ravel(variance)), name="normalize", dtype="float32"
    )(inputs)
    return keras.Model(inputs, unet(x), name=f"unet_{recipe.name}")


def _set_momentum(layers, momentum: float) -> None:
    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum


def _build_backbone_model(recipe, channels: int, num_classes: int) -> keras.Model:
    model = build_backbone_unet(
        (None, None, channels),
        num_classes,
        encoder=recipe.encoder,
        encoder_weights=recipe.encoder_weights,
        freeze_encoder=recipe.freeze_encoder,
        base_filters=recipe.base_filters,
        upsampling=recipe.upsampling,
        batch_norm=recipe.batch_norm,
    )
    _set_momentum(model.layers, recipe.batch_norm_momentum)  # the decoder's (the encoder is one nested layer)
    if recipe.encoder_weights is None:
        # trained from scratch: its batch norm learns its statistics like the decoder's
        _set_momentum(model.get_layer("encoder").layers, recipe.batch_norm_momentum)
    elif not recipe.freeze_encoder:
        # fine-tuning a pretrained encoder: its convolutions train, its batch norm keeps the
        # pretrained statistics (in inference mode) instead of those of a few small batches
        set_encoder_trainable(model, True, batch_norm=False)
    return model


def make_loss(recipe, num_classes: int, *, class_weights=None, ignore_index=None):
    """The recipe's loss: cross-entropy, Dice, or both (``recipe.dice_weight``)."""
    recipe = get_recipe(recipe)
    if recipe.loss == "ce":
        return CrossEntropy(class_weights=class_weights, ignore_index=ignore_index)
    if recipe.loss == "dice":
        return DiceLoss(class_weights=class_weights, ignore_index=ignore_index)
    return CrossEntropyDiceLoss(dice_weight=recipe.dice_weight, class_weights=class_weights, ignore_index=ignore_index)


def make_optimizer(recipe):
    """The recipe's optimiser (Adam or AdamW), with its warm-up when ``recipe.schedule == "warmup"``."""
    recipe = get_recipe(recipe)
    rate = recipe.learning_rate
    if recipe.schedule == "warmup" and recipe.warmup_steps > 0:
        rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=recipe.learning_rate / 100,
            decay_steps=1,
            alpha=1.0,  # no decay after warm-up
            warmup_target=recipe.learning_rate,
            warmup_steps=recipe.warmup_steps,
        )
    if recipe.optimizer == "adamw":
        return keras.optimizers.AdamW(learning_rate=rate, weight_decay=recipe.weight_decay or 1e-4)
    return keras.optimizers.Adam(learning_rate=rate)

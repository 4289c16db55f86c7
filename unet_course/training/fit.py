"""Train a U-Net: a thin layer over ``model.fit``.

:func:`train_segmenter` does what every segmentation run needs, in the order a careful
person would: check the data, seed everything, build the model of a recipe (with the
training set's normalisation inside it), build the ``tf.data`` pipelines, compile, and
call ``model.fit`` with Keras's own callbacks (``ModelCheckpoint`` of the best model as
``.keras``, ``CSVLogger``, ``EarlyStopping``) plus a wall-clock budget. The training loop
is Keras's; nothing here replaces it.

:func:`train` is the part after the model and the data exist, for a model of your own.

**Valid padding** (``Recipe(padding="valid")``, the paper's network). The model has a fixed
input size: the training crop, rounded up to the nearest size a valid U-Net of the recipe's
depth accepts (:func:`valid_crop`); it predicts the centre of each crop, so the pipeline
centre-crops the masks (and weights) to the output size after augmentation, and the image
keeps its context. Whole validation images cannot pass through a fixed-size model: the
validation set is made of overlap tiles instead (:func:`validation_dataset`), the same tiles
``unet_course.inference.predict`` uses, so ``val_mean_iou`` is the score of the stitched
predictions over every validation pixel, each counted once.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from unet_course._validation import check_positive_int
from unet_course.config import SEED, seed_everything
from unet_course.data.masks import to_class_ids
from unet_course.data.pipeline import (
    check_pairs,
    make_dataset,
    mirror_pad,
    overlap_tile_layout,
    steps_per_epoch,
    stitch_tiles,
)
from unet_course.training.callbacks import BestWeights, CosineDecay, LivePrediction, TimeBudget
from unet_course.training.recipes import Recipe, get_recipe, resolve_precision

#: Epochs when only a time budget is given: training ends on the budget, not on this.
_MANY_EPOCHS = 100_000
VALIDATION_BATCH = 2  # images (or valid-padding tiles) per validation batch


@dataclass
class TrainResult:
    """What :func:`train` and :func:`train_segmenter` return."""

    model: keras.Model
    history: dict
    elapsed: float
    epochs_run: int
    steps_run: int
    best_epoch: int | None = None
    best_path: Path | None = None
    stopped_by: str = "epochs"  # "epochs", "time budget", "early stopping" or "interrupted"
    recipe: Recipe | None = None
    depth: int = 4
    live: LivePrediction | None = None
    validation_images: list = field(default_factory=list, repr=False)
    validation_masks: list = field(default_factory=list, repr=False)
    first_step_seconds: float | None = None  # the first step also builds the graph
    devices: int = 1  # replicas of data-parallel training (train_segmenter's devices=)

    @property
    def images_per_second(self) -> float:
        batch = self.recipe.batch_size if self.recipe else 1
        return self.steps_run * batch / self.elapsed if self.elapsed else 0.0


def _verbose(verbose):
    if verbose != "auto":
        return verbose
    return 2 if "ipykernel" in sys.modules else 1  # one line per epoch in notebooks, the progress bar in a terminal


class _StepCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.steps = 0
        self.first_step_seconds = None

    def on_train_begin(self, logs=None):
        self._start = time.monotonic()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.first_step_seconds is None:
            self.first_step_seconds = time.monotonic() - self._start


def train(
    model: keras.Model,
    train_data,
    validation_data=None,
    *,
    epochs: int | None = None,
    time_budget: float | None = None,
    steps_per_epoch: int | None = None,
    out_dir=None,
    monitor: str | None = None,
    patience: int | None = None,
    callbacks=(),
    verbose="auto",
    budget_after_first_step: bool = False,
    cosine_decay: bool = False,
    warmup_steps: int = 0,
    decay_fraction: float = 1.0,
) -> TrainResult:
    """``model.fit`` with the course's callbacks; returns a :class:`TrainResult`.

    Stops after ``epochs``, or when ``time_budget`` seconds have passed (checked after
    every batch), whichever comes first; at least one of them is needed. With
    ``budget_after_first_step=True`` the budget is counted from the end of the first step,
    which also builds the graph (see :class:`~unet_course.training.callbacks.TimeBudget`);
    ``elapsed`` then leaves that step out too. The weights of
    the best epoch on ``monitor`` (default ``val_loss``, or ``loss`` without validation
    data; :func:`train_segmenter` monitors ``val_mean_iou``) are restored at the
    end, however training ended (also on Ctrl-C). With ``out_dir``, the best model is
    saved as ``out_dir/model.keras`` and the history as ``out_dir/history.csv``.

    With ``cosine_decay=True`` the optimizer's learning rate falls from its value at the start
    to 0 along a cosine (after ``warmup_steps`` of linear warm-up) over the whole run, whose
    end is ``epochs`` (with ``steps_per_epoch``) or the end of ``time_budget``
    (:class:`~unet_course.training.callbacks.CosineDecay`); with ``decay_fraction`` below 1,
    the rate holds until the last ``decay_fraction`` of the run and the cosine takes only that.
    """
    if epochs is None and time_budget is None:
        raise ValueError("Give epochs=N or time_budget=SECONDS (or both): training needs a way to end.")
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")
    if monitor is None:
        monitor = "loss" if validation_data is None else "val_loss"
    mode = "min" if monitor.endswith("loss") else "max"
    best = BestWeights(monitor, mode)
    history = keras.callbacks.History()
    steps = _StepCounter()
    all_callbacks = [history, steps, best, *callbacks]
    budget = None
    if time_budget is not None:
        budget = TimeBudget(time_budget, after_first_step=budget_after_first_step)
        all_callbacks.insert(0, budget)
    if cosine_decay:
        total = epochs * steps_per_epoch if epochs is not None and steps_per_epoch else None
        if total is None and budget is None:
            raise ValueError(
                "cosine_decay needs to know when the run ends: give steps_per_epoch with epochs, or a time_budget."
            )
        peak = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
        decay = CosineDecay(
            peak, total_steps=total, budget=budget, warmup_steps=warmup_steps, decay_fraction=decay_fraction
        )
        all_callbacks.insert(1, decay)
    best_path = None
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        best_path = out_dir / "model.keras"
        all_callbacks.append(
            keras.callbacks.ModelCheckpoint(best_path, monitor=monitor, mode=mode, save_best_only=True)
        )
        all_callbacks.append(keras.callbacks.CSVLogger(out_dir / "history.csv"))
    early = None
    if patience is not None:
        early = keras.callbacks.EarlyStopping(monitor=monitor, mode=mode, patience=patience)
        all_callbacks.append(early)
    if budget is not None and validation_data is not None:
        # Time one validation pass before training (it also compiles the evaluation step),
        # so that the budget can keep room for the validation after the last batch.
        before = time.monotonic()
        model.evaluate(validation_data, verbose=0)
        budget.validation_seconds = time.monotonic() - before
    start = time.monotonic()
    stopped_by = "epochs"
    try:
        model.fit(
            train_data,
            validation_data=validation_data,
            epochs=epochs if epochs is not None else _MANY_EPOCHS,
            steps_per_epoch=steps_per_epoch,
            callbacks=all_callbacks,
            shuffle=False,  # the tf.data pipeline shuffles
            verbose=_verbose(verbose),
        )
    except KeyboardInterrupt:
        stopped_by = "interrupted"
        best.restore()
        print("Training interrupted: the best weights so far are kept.", file=sys.stderr)
    elapsed = time.monotonic() - start
    first_step = steps.first_step_seconds
    if budget_after_first_step and first_step is not None:
        elapsed -= first_step
    if stopped_by != "interrupted":
        if budget is not None and budget.stopped:
            stopped_by = "time budget"
        elif early is not None and early.stopped_epoch > 0:
            stopped_by = "early stopping"
    if best_path is not None and best.best_weights is None:
        model.save(best_path)  # no validated epoch finished: keep the last weights
    record = {key: list(values) for key, values in history.history.items()}
    return TrainResult(
        model=model,
        history=record,
        elapsed=elapsed,
        epochs_run=len(next(iter(record.values()), [])),
        steps_run=steps.steps,
        best_epoch=None if best.best_epoch is None else best.best_epoch + 1,
        best_path=best_path,
        stopped_by=stopped_by,
        first_step_seconds=first_step,
    )


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


def valid_crop(crop_size: int, depth: int) -> tuple[int, int]:
    """``(input size, output size)`` of a valid-padding U-Net of ``depth`` for a requested crop.

    The input is the smallest size at or above ``crop_size`` that the network accepts
    (:func:`~unet_course.models.unet.valid_input_sizes`: every feature map before a pooling
    must have an even size); the output is its centre, ``12 * 2 ** depth - 8`` pixels smaller
    (184 for the paper's depth 4).

    >>> valid_crop(570, 4)  # the paper's tile
    (572, 388)
    >>> valid_crop(64, 2)
    (64, 24)
    """
    from unet_course.models.unet import _valid_output_size

    depth = check_positive_int("depth", depth)
    if isinstance(crop_size, bool) or not isinstance(crop_size, (int, np.integer)) or crop_size < 1:
        raise ValueError(f"crop_size must be a positive number of pixels, got {crop_size!r}.")
    smallest = _smallest_valid_input(depth)
    if crop_size < smallest:
        raise ValueError(
            f"crop_size={crop_size} is too small for a valid-padding U-Net of depth {depth}: its unpadded "
            f"convolutions need an input of at least {smallest} pixels (which predicts only its centre "
            f"{_valid_output_size(smallest, depth)}x{_valid_output_size(smallest, depth)}). Give crop_size >= "
            f"{smallest} (the paper: 572, for depth 4), or use a smaller depth."
        )
    size = int(crop_size)
    while not _valid_output_size(size, depth):
        size += 1
    return size, _valid_output_size(size, depth)


def _smallest_valid_input(depth: int) -> int:
    from unet_course.models.unet import valid_input_sizes

    return valid_input_sizes(depth, 1, 16 * 2**depth)[0]


def _largest_valid_input(limit: int, depth: int) -> int | None:
    from unet_course.models.unet import valid_input_sizes

    sizes = valid_input_sizes(depth, 1, limit + 1)
    return sizes[-1] if sizes else None


def build_model(recipe, channels: int, num_classes: int, *, mean=None, variance=None, class_shares=None) -> keras.Model:
    """The recipe's U-Net for images with ``channels`` channels.

    With ``recipe.normalize``, the training set's ``mean`` and ``variance`` are built into
    the model (a ``Normalization`` layer), so the saved model takes images in [0, 1] as
    they are loaded. With ``padding="same"`` the model takes any height and width divisible
    by ``2 ** recipe.depth``; with ``padding="valid"`` it takes ``recipe.crop_size`` rounded up
    to a valid size (:func:`valid_crop`), square, and predicts its centre.

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
    from unet_course.data.masks import class_counts

    counts = class_counts(list(masks), num_classes, ignore_index)
    total = counts.sum()
    return counts / total if total else np.full(num_classes, 1.0 / num_classes)


def _build_model(recipe, channels: int, num_classes: int, *, mean=None, variance=None) -> keras.Model:
    if recipe.encoder is not None:
        return _build_backbone_model(recipe, channels, num_classes)
    from unet_course.models import build_unet

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
    from unet_course.models import build_backbone_unet, set_encoder_trainable

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
    from unet_course.losses import CrossEntropy, CrossEntropyDiceLoss, DiceLoss

    recipe = get_recipe(recipe)
    if recipe.loss == "ce":
        return CrossEntropy(class_weights=class_weights, ignore_index=ignore_index)
    if recipe.loss == "dice":
        return DiceLoss(class_weights=class_weights, ignore_index=ignore_index)
    return CrossEntropyDiceLoss(dice_weight=recipe.dice_weight, class_weights=class_weights, ignore_index=ignore_index)


def make_optimizer(recipe):
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


def _fit_to_depth(image, mask, depth: int):
    """Centre crop to the largest height and width divisible by ``2 ** depth``."""
    step = 2**depth
    height, width = (image.shape[0] // step) * step, (image.shape[1] // step) * step
    if height == 0 or width == 0:
        raise ValueError(
            f"A validation image of size {image.shape[:2]} is smaller than 2**depth = {step}; use larger images."
        )
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return image[top : top + height, left : left + width], mask[top : top + height, left : left + width]


def overlap_tiles(image, mask, input_size: int, output_size: int, *, divisor: int = 1, fill_label: int = 255):
    """The overlap tiles of one image and its mask: ``(inputs (n, I, I, C), masks (n, O, O))``.

    The tiles are those :func:`~unet_course.inference.predict` feeds a valid-padding model
    (:func:`~unet_course.data.pipeline.overlap_tile_layout`): mirror-padded ``I x I`` input
    windows and the ``O x O`` mask under each one's output. Every pixel of the mask is in
    exactly one tile; the places where a tile reaches past the image, or that a later tile
    also covers, hold ``fill_label`` (to be ignored by the loss and the metrics).
    """
    layout = overlap_tile_layout(image.shape, input_size, output_size, divisor=divisor)
    padded = mirror_pad(image, layout.padding)
    height, width = mask.shape
    (step_h, step_w), (last_y, last_x) = layout.step, layout.origins[-1]
    inputs, labels = [], []
    for y, x in layout.origins:
        tile = np.full((output_size, output_size), fill_label, np.int32)
        # owned: up to the next tile's origin (the last tile: to the image's edge)
        bottom = height if y == last_y else min(height, y + step_h)
        right = width if x == last_x else min(width, x + step_w)
        tile[: bottom - y, : right - x] = mask[y:bottom, x:right]
        inputs.append(padded[y : y + input_size, x : x + input_size])
        labels.append(tile)
    return np.stack(inputs).astype(np.float32), np.stack(labels)


def validation_dataset(
    images,
    masks,
    depth: int,
    batch_size: int = VALIDATION_BATCH,
    *,
    input_size: int | None = None,
    fill_label: int = 255,
):
    """The validation set for ``model.fit``, batched and cached.

    Without ``input_size`` (``padding="same"``): whole validation images, centre-cropped to a
    multiple of ``2 ** depth``. With ``input_size`` (a valid-padding model's input size):
    every image as :func:`overlap_tiles` (``2 ** depth`` is the tile step's divisor), in order,
    with ``fill_label`` where a tile's mask holds no pixel of its own.
    """
    import tensorflow as tf

    if input_size is not None:
        from unet_course.models.unet import _valid_output_size

        output_size = _valid_output_size(input_size, depth)
        if not output_size:
            raise ValueError(f"input_size={input_size} does not fit a valid-padding U-Net of depth {depth}.")
        tiles = [
            overlap_tiles(i, m, input_size, output_size, divisor=2**depth, fill_label=fill_label)
            for i, m in zip(images, masks)
        ]
        inputs = np.concatenate([t[0] for t in tiles])
        labels = np.concatenate([t[1] for t in tiles])
        return tf.data.Dataset.from_tensor_slices((inputs, labels)).batch(batch_size).cache().prefetch(2)
    pairs = [_fit_to_depth(i, m, depth) for i, m in zip(images, masks)]
    if len({p[0].shape for p in pairs}) == 1:
        images_array = np.stack([p[0] for p in pairs]).astype(np.float32)
        masks_array = np.stack([p[1] for p in pairs]).astype(np.int32)
        return tf.data.Dataset.from_tensor_slices((images_array, masks_array)).batch(batch_size).cache().prefetch(2)
    channels = pairs[0][0].shape[-1]
    signature = (tf.TensorSpec((None, None, channels), tf.float32), tf.TensorSpec((None, None), tf.int32))
    generator = lambda: ((i.astype(np.float32), m.astype(np.int32)) for i, m in pairs)  # noqa: E731
    return tf.data.Dataset.from_generator(generator, output_signature=signature).batch(1).cache().prefetch(2)


class _TiledLivePrediction(LivePrediction):
    """:class:`LivePrediction` of a whole image through a valid-padding model, in overlap tiles
    (as :func:`unet_course.inference.predict` cuts them)."""

    def __init__(self, image, mask, *, input_size: int, output_size: int, divisor: int, **options):
        super().__init__(image, mask, **options)
        self.layout = overlap_tile_layout(self.image.shape, input_size, output_size, divisor=divisor)
        padded = mirror_pad(self.image, self.layout.padding)
        self.tiles = np.stack([padded[y : y + input_size, x : x + input_size] for y, x in self.layout.origins])

    def _predict(self) -> np.ndarray:
        outputs = np.asarray(self.model.predict_on_batch(self.tiles))
        return to_class_ids(stitch_tiles(outputs, self.layout, self.image.shape), threshold=0.5)


def train_segmenter(
    images,
    masks,
    val_images=None,
    val_masks=None,
    *,
    num_classes: int,
    ignore_index: int | None = None,
    recipe="course",
    epochs: int | None = None,
    time_budget: float | None = None,
    crop_size: int | None = None,
    batch_size: int | None = None,
    class_weights=None,
    weights=None,
    seed: int = SEED,
    out_dir=None,
    live_every: int | None = None,
    budget_after_first_step: bool = False,
    devices: int | None = None,
    callbacks=(),
    verbose="auto",
) -> TrainResult:
    """Train the recipe's U-Net on ``images`` and ``masks``; return a :class:`TrainResult`.

    Args:
        images, masks: training data, as for :func:`~unet_course.data.pipeline.make_dataset`
            (arrays, or lists of images of different sizes).
        val_images, val_masks: held-out data, predicted whole at the end of each epoch (in
            overlap tiles for ``padding="valid"``, see the module docstring); the best epoch's
            model is kept. Without them, training monitors its own loss.
        num_classes: number of classes (2 for a binary task: a softmax over 2 channels).
        ignore_index: a label left out of the loss and the metrics (void).
        recipe: ``"course"`` (default), ``"textbook"`` or a :class:`Recipe`.
        epochs, time_budget: when to stop (epochs, seconds of wall clock, or both).
            An epoch covers the training pixels once on average (see ``steps_per_epoch``).
        crop_size, batch_size: override the recipe's. A crop larger than the smallest
            training image shrinks to fit it. With ``padding="valid"`` the crop is the model's
            input: rounded up to the nearest size the valid U-Net accepts (:func:`valid_crop`;
            a crop below the depth's smallest valid input is a ``ValueError``), and the masks
            are centre-cropped to the model's output.
        class_weights: one weight per class for the cross-entropy.
        weights: per-pixel weights (e.g. the paper's weight map), one array per mask;
            only with a recipe whose loss is ``"ce"``.
        seed: seeds weights, crops, augmentation and shuffling.
        out_dir: where ``model.keras`` (best epoch) and ``history.csv`` go.
        live_every: show a validation image's prediction every N epochs (notebooks).
        budget_after_first_step: count ``time_budget`` from the end of the first step (which
            also builds the graph): for comparisons at equal training time.
        devices: train data-parallel on this many devices (GPUs; on a machine without them,
            the CPU split into logical devices, which only works before the backend has run
            anything): ``tf.distribute.MirroredStrategy`` on TensorFlow,
            ``keras.distribution.DataParallel`` on JAX, batch norm over the global batch
            (:mod:`unet_course.training.distribute`). The batch size is the global batch and
            must split evenly; the recipe's learning rate is kept (see
            :func:`~unet_course.training.distribute.scaled_learning_rate`). ``None``/``1``:
            one device, plain Keras.
    """
    recipe = get_recipe(recipe)
    from unet_course.training.distribute import data_parallel

    replicas = data_parallel(devices)  # first: splitting the CPU must precede any TensorFlow op
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"num_classes must be an integer >= 2, got {num_classes!r}: a binary task has 2 classes "
            "(background and foreground), predicted by a softmax over 2 channels."
        )
    if time_budget is not None and (not isinstance(time_budget, (int, float)) or time_budget <= 0):
        raise ValueError(f"time_budget must be a positive number of seconds, got {time_budget!r}.")
    if weights is not None and recipe.loss != "ce":
        raise ValueError(
            f"Per-pixel weights need a cross-entropy loss; this recipe's loss is {recipe.loss!r}. "
            "Use recipe.replace(loss='ce')."
        )
    images, masks, weights = check_pairs(
        images, masks, num_classes=num_classes, ignore_index=ignore_index, weights=weights
    )
    has_validation = val_images is not None
    if has_validation:
        if val_masks is None:
            raise ValueError("val_images needs val_masks (one mask per validation image).")
        val_images, val_masks, _ = check_pairs(
            val_images, val_masks, num_classes=num_classes, ignore_index=ignore_index
        )
        if val_images[0].shape[-1] != images[0].shape[-1]:
            raise ValueError(
                f"Validation images have {val_images[0].shape[-1]} channels, training images {images[0].shape[-1]}."
            )
    crop = crop_size if crop_size is not None else recipe.crop_size
    batch = batch_size if batch_size is not None else recipe.batch_size
    smallest = min(min(m.shape) for m in masks)
    valid = recipe.padding == "valid"
    output_size = None
    if valid:
        crop, output_size = valid_crop(crop, recipe.depth)
        if crop > smallest:  # like 'same': the crop shrinks to the smallest training image
            fits = _largest_valid_input(smallest, recipe.depth)
            if fits is None:
                raise ValueError(
                    f"Training images of {smallest} pixels are too small for a valid-padding U-Net of depth "
                    f"{recipe.depth}: it needs inputs of at least {_smallest_valid_input(recipe.depth)} "
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
    recipe = recipe.replace(crop_size=crop, batch_size=batch)
    replicas.per_replica_batch(batch)  # a ValueError when the global batch does not split evenly
    if has_validation:
        _check_validation_shares(replicas, val_images, valid)
    with replicas.scope():
        result = _train_prepared(
            replicas, recipe, images, masks, val_images, val_masks,
            weights=weights, num_classes=num_classes, ignore_index=ignore_index, class_weights=class_weights,
            has_validation=has_validation, valid=valid, crop=crop, output_size=output_size, batch=batch,
            epochs=epochs, time_budget=time_budget, seed=seed, out_dir=out_dir, live_every=live_every,
            budget_after_first_step=budget_after_first_step, callbacks=callbacks, verbose=verbose,
        )  # fmt: skip
    result.devices = replicas.count
    return result


def _check_validation_shares(replicas, val_images, valid: bool) -> None:
    """A clear error where TensorFlow's oneDNN ``Conv2D`` would fail on an empty replica share.

    On a CPU split into logical devices, a validation batch smaller than the number of replicas
    leaves a replica an empty share, and oneDNN's ``Conv2D`` returns the wrong shape for it
    (tensorflow/tensorflow#112639). Validation batches hold ``VALIDATION_BATCH`` images of one
    size, else 1 (images of several sizes; the tiles of ``padding="valid"`` are counted as 1
    here, which errs on the side of the error).
    """
    import os

    if replicas.count == 1 or replicas.backend != "tensorflow" or os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":
        return
    if not all(name.startswith("cpu") for name in replicas.devices):
        return  # GPUs do not run oneDNN
    same_size = len({image.shape for image in val_images}) == 1 and not valid
    smallest = (len(val_images) % VALIDATION_BATCH or VALIDATION_BATCH) if same_size else 1
    if smallest < replicas.count:
        raise ValueError(
            f"devices={replicas.count} on the CPU: a validation batch of {smallest} image(s) leaves a replica "
            "nothing to compute, and TensorFlow's oneDNN Conv2D fails on an empty share "
            "(tensorflow/tensorflow#112639). Start Python with TF_ENABLE_ONEDNN_OPTS=0 (unet-course train "
            "--devices sets it), or validate on an even number of images of one size with devices=2."
        )


def _train_prepared(
    replicas, recipe, images, masks, val_images, val_masks, *, weights, num_classes, ignore_index, class_weights,
    has_validation, valid, crop, output_size, batch, epochs, time_budget, seed, out_dir, live_every,
    budget_after_first_step, callbacks, verbose,
):  # fmt: skip
    """The rest of :func:`train_segmenter`, inside the replicas' scope: build, compile, fit."""
    seed_everything(seed)
    mean, variance = normalization_statistics(images) if recipe.normalize else (None, None)
    channels = images[0].shape[-1]
    shares = class_shares(masks, num_classes, ignore_index) if recipe.output_bias == "prior" else None
    model = replicas.prepare(
        build_model(recipe, channels, num_classes, mean=mean, variance=variance, class_shares=shares)
    )
    from unet_course.metrics import IoUScore

    # valid padding: the validation tiles mark pixels outside the image (or owned by another
    # tile) with a label the loss and the metric ignore: the void label, or num_classes
    # (a label no training mask holds, so the training loss is unchanged)
    loss_ignore = ignore_index
    if valid and has_validation and ignore_index is None:
        loss_ignore = num_classes
    metric_options = {"ignore_index": loss_ignore} if loss_ignore is not None else {}
    model.compile(
        optimizer=make_optimizer(recipe),
        loss=make_loss(recipe, num_classes, class_weights=class_weights, ignore_index=loss_ignore),
        metrics=[IoUScore(num_classes, class_ids=list(range(num_classes)), name="mean_iou", **metric_options)],
    )
    train_ds = make_dataset(
        images,
        masks,
        batch_size=batch,
        crop_size=crop,
        augment=recipe.augment,
        shuffle=True,
        repeat=True,
        seed=seed,
        weights=weights,
        drop_remainder=True,
        output_size=output_size,
    )
    # an epoch covers the labelled pixels once: with valid padding, only the output of each crop
    steps = steps_per_epoch([m.shape for m in masks], output_size or crop, batch)
    callbacks = list(callbacks)
    live = None
    val_ds = None
    if has_validation:
        if valid:
            val_ds = validation_dataset(val_images, val_masks, recipe.depth, input_size=crop, fill_label=loss_ignore)
            if live_every:
                live = _TiledLivePrediction(
                    val_images[0],
                    val_masks[0],
                    input_size=crop,
                    output_size=output_size,
                    divisor=2**recipe.depth,
                    every=live_every,
                    num_classes=num_classes,
                )
        else:
            val_ds = validation_dataset(val_images, val_masks, recipe.model_depth)
            if live_every:
                image, mask = _fit_to_depth(val_images[0], val_masks[0], recipe.model_depth)
                live = LivePrediction(image, mask, every=live_every, num_classes=num_classes)
        if live is not None:
            callbacks.append(live)
    result = train(
        model,
        train_ds,
        val_ds,
        epochs=epochs,
        time_budget=time_budget,
        steps_per_epoch=steps,
        out_dir=out_dir,
        monitor="val_mean_iou" if has_validation else "loss",
        patience=recipe.patience,
        callbacks=callbacks,
        verbose=verbose,
        budget_after_first_step=budget_after_first_step,
        cosine_decay=recipe.schedule == "cosine",
        warmup_steps=recipe.warmup_steps if recipe.schedule == "cosine" else 0,
        decay_fraction=recipe.decay_fraction,
    )
    result.recipe = recipe
    result.depth = recipe.model_depth
    result.live = live
    if has_validation:
        result.validation_images, result.validation_masks = val_images, val_masks
    return result

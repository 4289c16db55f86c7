"""Train a U-Net: a thin layer over ``model.fit``, and a whole run from data to trained model.

:func:`train_segmenter` does what every segmentation run needs, in the order a careful
person would: check the data, seed everything, build the model of a recipe (with the
training set's normalisation inside it, :mod:`~unet_course.training.build`), build the
``tf.data`` pipelines, compile, and call ``model.fit`` with Keras's own callbacks
(``ModelCheckpoint`` of the best model as ``.keras``, ``CSVLogger``, ``EarlyStopping``) plus a
wall-clock budget. The training loop is Keras's; nothing here replaces it. What it derives
from its checked inputs (the crop, the output size, the batch, the label the loss ignores,
the steps per epoch) is one frozen :class:`~unet_course.training.run_setup.RunSetup`, built once.

:func:`train` is the part after the model and the data exist, for a model of your own.

**Valid padding** (``Recipe(padding="valid")``, the paper's network). The model has a fixed
input size: the training crop, rounded up to the nearest size a valid U-Net of the recipe's
depth accepts (:func:`~unet_course.models.unet.valid_crop`); it predicts the centre of each
crop, so the pipeline centre-crops the masks (and weights) to the output size after
augmentation, and the image keeps its context. Whole validation images cannot pass through a
fixed-size model: the validation set is made of overlap tiles instead
(:func:`~unet_course.data.tiles.validation_dataset`), the same tiles
``unet_course.inference.predict`` uses, so ``val_mean_iou`` is the score of the stitched
predictions over every validation pixel, each counted once.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras

from unet_course._validation import check_num_classes
from unet_course.config import SEED, seed_everything
from unet_course.data.pipeline import check_pairs, dataset_of_checked_pairs
from unet_course.data.tiles import VALIDATION_BATCH, crop_to_multiple, validation_dataset
from unet_course.metrics import IoUScore
from unet_course.training.build import (
    build_model,
    class_shares,
    make_loss,
    make_optimizer,
    normalization_statistics,
)
from unet_course.training.callbacks import (
    BestWeights,
    CosineDecay,
    LivePrediction,
    TiledLivePrediction,
    TimeBudget,
    check_time_budget,
)
from unet_course.training.distribute import data_parallel
from unet_course.training.recipes import Recipe, get_recipe
from unet_course.training.run_setup import RunSetup, run_setup

#: Epochs when only a time budget is given: training ends on the budget, not on this.
_MANY_EPOCHS = 100_000


@dataclass(frozen=True)
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
    return TrainResult(**_fit(**locals()))  # locals(): exactly the arguments, as given


def _check_ending(epochs, time_budget) -> None:
    """Training needs a way to end: ``epochs`` (a positive integer), a ``time_budget``, or both."""
    if epochs is None and time_budget is None:
        raise ValueError("Give epochs=N or time_budget=SECONDS (or both): training needs a way to end.")
    if epochs is not None and (isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")


def _fit(
    model,
    train_data,
    validation_data,
    *,
    epochs,
    time_budget,
    steps_per_epoch,
    out_dir,
    monitor,
    patience,
    callbacks,
    verbose,
    budget_after_first_step,
    cosine_decay,
    warmup_steps,
    decay_fraction,
) -> dict:
    """:func:`train`'s work; returns the fields of a :class:`TrainResult` that ``model.fit`` determines
    (the time budget is checked by :class:`~unet_course.training.callbacks.TimeBudget`)."""
    _check_ending(epochs, time_budget)
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
    return dict(
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
            input: rounded up to the nearest size the valid U-Net accepts
            (:func:`~unet_course.models.unet.valid_crop`;
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
    replicas = data_parallel(devices)  # first: splitting the CPU must precede any TensorFlow op
    num_classes = check_num_classes(num_classes)
    _check_ending(epochs, time_budget)
    if time_budget is not None:
        check_time_budget(time_budget)
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
                f"Validation images have {val_images[0].shape[-1]} channels, training images {images[0].shape[-1]}: "
                "give both sets the same channels (all grey or all RGB)."
            )
    setup = run_setup(
        recipe,
        masks,
        num_classes=num_classes,
        ignore_index=ignore_index,
        crop_size=crop_size,
        batch_size=batch_size,
        has_validation=has_validation,
    )
    replicas.per_replica_batch(setup.batch)  # a ValueError when the global batch does not split evenly
    if has_validation:
        replicas.check_validation_shares(val_images, VALIDATION_BATCH, tiles=setup.valid_padding)
    seed_everything(seed)
    with replicas.scope():
        model = _compiled_model(replicas, setup, images, masks, class_weights)
        train_ds = dataset_of_checked_pairs(
            images,
            masks,
            batch_size=setup.batch,
            crop_size=setup.crop,
            augment=setup.recipe.augment,
            shuffle=True,
            repeat=True,
            seed=seed,
            weights=weights,
            drop_remainder=True,
            output_size=setup.output_size,
        )
        val_ds, live = _validation(setup, val_images, val_masks, live_every) if has_validation else (None, None)
        fitted = _fit(
            model,
            train_ds,
            val_ds,
            epochs=epochs,
            time_budget=time_budget,
            steps_per_epoch=setup.steps_per_epoch,
            out_dir=out_dir,
            monitor="val_mean_iou" if has_validation else "loss",
            patience=setup.recipe.patience,
            callbacks=[*callbacks, *([live] if live is not None else [])],
            verbose=verbose,
            budget_after_first_step=budget_after_first_step,
            cosine_decay=setup.recipe.schedule == "cosine",
            warmup_steps=setup.recipe.warmup_steps if setup.recipe.schedule == "cosine" else 0,
            decay_fraction=setup.recipe.decay_fraction,
        )
    return TrainResult(
        **fitted,
        recipe=setup.recipe,
        depth=setup.recipe.model_depth,
        live=live,
        validation_images=val_images if has_validation else [],
        validation_masks=val_masks if has_validation else [],
        devices=replicas.count,
    )


def _compiled_model(replicas, setup: RunSetup, images, masks, class_weights) -> keras.Model:
    """The recipe's model, built and compiled in the replicas' scope."""
    recipe, num_classes = setup.recipe, setup.num_classes
    mean, variance = normalization_statistics(images) if recipe.normalize else (None, None)
    shares = class_shares(masks, num_classes, setup.ignore_index) if recipe.output_bias == "prior" else None
    channels = images[0].shape[-1]
    model = replicas.prepare(
        build_model(recipe, channels, num_classes, mean=mean, variance=variance, class_shares=shares)
    )
    metric_options = {"ignore_index": setup.loss_ignore} if setup.loss_ignore is not None else {}
    model.compile(
        optimizer=make_optimizer(recipe),
        loss=make_loss(recipe, num_classes, class_weights=class_weights, ignore_index=setup.loss_ignore),
        metrics=[IoUScore(num_classes, class_ids=list(range(num_classes)), name="mean_iou", **metric_options)],
    )
    return model


def _validation(setup: RunSetup, val_images, val_masks, live_every):
    """The validation set for ``model.fit`` and its live prediction (or ``None``)."""
    recipe, live = setup.recipe, None
    options = dict(every=live_every, num_classes=setup.num_classes)
    if setup.valid_padding:
        val_ds = validation_dataset(
            val_images,
            val_masks,
            recipe.depth,
            input_size=setup.crop,
            output_size=setup.output_size,
            fill_label=setup.loss_ignore,
        )
        if live_every:
            live = TiledLivePrediction(
                val_images[0],
                val_masks[0],
                input_size=setup.crop,
                output_size=setup.output_size,
                divisor=2**recipe.depth,
                **options,
            )
    else:
        val_ds = validation_dataset(val_images, val_masks, recipe.model_depth)
        if live_every:
            live = LivePrediction(*crop_to_multiple(val_images[0], val_masks[0], 2**recipe.model_depth), **options)
    return val_ds, live

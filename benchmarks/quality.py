"""Quality at equal wall-clock time: the course recipe against a textbook Keras U-Net.

Run from the repository root::

    .venv/bin/python benchmarks/quality.py --budgets 60 180 600 --seeds 0 1 --datasets isbi shapes --threads 1

Both recipes run one after the other, each in a fresh Python process (``--same-process``: in
this one), on the same data, with the same seed and the same wall-clock budget (a callback
stops training when the clock passes the budget, checked after every batch; the clock starts
when ``fit`` starts, so tracing counts).
Both are scored on the same held-out images, predicted whole. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
RESULTS_PATH = HERE / "RESULTS_quality.md"
ISBI_ROOT = Path("/work/shared/data/isbi2012_membrane")

_THREADS_SET = False


def set_threads(threads: int) -> None:
    """Limit TensorFlow to ``threads`` intra-op and inter-op threads (before any TF work)."""
    global _THREADS_SET
    import tensorflow as tf

    if threads and not _THREADS_SET:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        _THREADS_SET = True


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


@dataclass
class Data:
    name: str
    train_images: object
    train_masks: object
    test_images: object
    test_masks: object
    num_classes: int
    class_names: tuple
    note: str = ""


def load_isbi(root=ISBI_ROOT) -> Data:
    from unet_course.data.isbi2012 import CLASS_NAMES, load_isbi2012

    images, masks = load_isbi2012("train", root=root)
    return Data(
        "isbi",
        images[:25],
        masks[:25],
        images[25:],
        masks[25:],
        2,
        tuple(CLASS_NAMES),
        "ISBI 2012 membranes, 512x512 grey; slices 0-24 train, 25-29 held out",
    )


def load_shapes(num_train=48, num_test=16, size=256, *, imbalanced=False) -> Data:
    from unet_course.data.synthetic import CLASS_NAMES, make_shapes

    images, masks = make_shapes(num_train, size, seed=0, imbalanced=imbalanced)
    test_images, test_masks = make_shapes(num_test, size, seed=1, imbalanced=imbalanced)
    name = "shapes_imbalanced" if imbalanced else "shapes"
    return Data(
        name,
        images,
        masks,
        test_images,
        test_masks,
        4,
        tuple(CLASS_NAMES),
        f"make_shapes({num_train}, {size}, seed=0{', imbalanced=True' if imbalanced else ''}) train, "
        f"make_shapes({num_test}, {size}, seed=1) held out",
    )


# --------------------------------------------------------------------------------------
# Input pipeline (tf.data): random crops, flips, optional 90-degree turns
# --------------------------------------------------------------------------------------


def make_train_dataset(images, masks, *, crop_size=128, batch_size=8, seed=0, rot90=False):
    """Infinite dataset of (image crop, mask crop) batches; image and mask get one draw."""
    import numpy as np
    import tensorflow as tf

    images = np.asarray(images, dtype=np.float32)
    masks = np.asarray(masks).astype(np.int32)
    height, width, channels = images.shape[1:]
    crop = min(crop_size, height, width)
    # image and mask stacked on the channel axis: one crop, one flip, one turn for both
    stacked = np.concatenate([images, masks[..., None].astype(np.float32)], axis=-1)

    def transform(index, x):
        seeds = tf.random.experimental.stateless_split(tf.stack([tf.cast(seed, tf.int64), index]), 4)
        x = tf.image.stateless_random_crop(x, (crop, crop, channels + 1), seed=seeds[0])
        x = tf.image.stateless_random_flip_left_right(x, seed=seeds[1])
        x = tf.image.stateless_random_flip_up_down(x, seed=seeds[2])
        if rot90:
            k = tf.random.stateless_uniform((), seeds[3], 0, 4, dtype=tf.int32)
            x = tf.image.rot90(x, k)
        return x[..., :channels], tf.cast(x[..., channels], tf.int32)

    n = len(images)
    ds = tf.data.Dataset.from_tensor_slices(stacked).cache().repeat()
    ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ds = tf.data.Dataset.zip((tf.data.Dataset.counter(), ds))
    ds = ds.map(transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------


def textbook_unet(channels, num_classes, *, depth=4, base_filters=16):
    """The textbook Keras U-Net: two 3x3 conv + ReLU per level, MaxPool, 2x2 transposed convs."""
    import keras
    from keras import layers

    inputs = keras.Input((None, None, channels))
    x, skips = inputs, []
    for level in range(depth):
        filters = base_filters * 2**level
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        skips.append(x)
        x = layers.MaxPooling2D(2)(x)
    filters = base_filters * 2**depth
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    for level in reversed(range(depth)):
        filters = base_filters * 2**level
        x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same")(x)
        x = layers.Concatenate()([x, skips[level]])
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    outputs = layers.Conv2D(num_classes, 1, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="textbook_unet")


def variant_unet(
    channels,
    num_classes,
    *,
    depth=4,
    base_filters=16,
    norm="none",
    bn_momentum=0.9,
    groups=8,
    upsampling="transpose",
    normalizer=None,
):
    """A U-Net of the same depth and width with the options screened to choose the course recipe.

    Not used by the benchmark itself (the course side runs through the package); kept so that
    the screening in ``benchmarks/README.md`` can be re-run: ``norm`` "none", "bn" (batch norm
    with ``bn_momentum``) or "gn" (group norm); ``upsampling`` "transpose", "bilinear" or
    "nearest" (resize, then a 3x3 convolution); ``normalizer`` an adapted
    ``keras.layers.Normalization`` applied first.
    """
    import keras
    from keras import layers

    def conv(x, filters):
        use_bias = norm == "none"
        x = layers.Conv2D(filters, 3, padding="same", use_bias=use_bias)(x)
        if norm == "bn":
            x = layers.BatchNormalization(momentum=bn_momentum)(x)
        elif norm == "gn":
            x = layers.GroupNormalization(groups=min(groups, filters))(x)
        return layers.Activation("relu")(x)

    inputs = keras.Input((None, None, channels))
    x = normalizer(inputs) if normalizer is not None else inputs
    skips = []
    for level in range(depth):
        filters = base_filters * 2**level
        x = conv(conv(x, filters), filters)
        skips.append(x)
        x = layers.MaxPooling2D(2)(x)
    x = conv(conv(x, base_filters * 2**depth), base_filters * 2**depth)
    for level in reversed(range(depth)):
        filters = base_filters * 2**level
        if upsampling == "transpose":
            x = layers.Conv2DTranspose(filters, 2, strides=2, padding="same")(x)
        else:
            x = layers.UpSampling2D(2, interpolation=upsampling)(x)
            x = layers.Conv2D(filters, 3, padding="same")(x)
        x = layers.Concatenate()([x, skips[level]])
        x = conv(conv(x, filters), filters)
    outputs = layers.Conv2D(num_classes, 1, activation="softmax", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="course_unet")


# --------------------------------------------------------------------------------------
# Training with a wall-clock budget
# --------------------------------------------------------------------------------------


def _budget_callback(budget):
    import keras

    class TimeBudget(keras.callbacks.Callback):
        """Stops training once the wall clock passes ``budget`` seconds (checked per batch)."""

        def __init__(self):
            super().__init__()
            self.start = None
            self.steps = 0
            self.elapsed = 0.0

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            self.elapsed = time.perf_counter() - self.start
            if self.elapsed >= budget:
                self.model.stop_training = True

    return TimeBudget()


def StepTimer(skip=3):  # noqa: N802 (a factory: keras is imported only after set_threads)
    """A callback that times batches; ``images_per_second`` ignores the first ``skip`` (tracing)."""
    import keras

    class _StepTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.times = []
            self.start = None

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())

        def batch_ends(self):
            """Seconds from the start of ``fit`` to the end of each batch."""
            return [t - self.start for t in self.times]

        def images_per_second(self, batch_size):
            if len(self.times) <= skip + 1:
                return float("nan")
            return (len(self.times) - 1 - skip) * batch_size / (self.times[-1] - self.times[skip])

    return _StepTimer()


def ce_dice_loss(num_classes, dice_weight=1.0, smooth=1.0):
    """Cross-entropy + soft Dice (mean over classes, pooled over the batch), as screened."""
    import keras
    from keras import ops

    def loss(y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        ce = ops.mean(keras.losses.sparse_categorical_crossentropy(y_true, y_pred))
        one_hot = ops.one_hot(y_true, num_classes)
        inter = ops.sum(one_hot * y_pred, axis=(0, 1, 2))
        sizes = ops.sum(one_hot, axis=(0, 1, 2)) + ops.sum(y_pred, axis=(0, 1, 2))
        dice = (2 * inter + smooth) / (sizes + smooth)
        return ce + dice_weight * (1 - ops.mean(dice))

    return loss


def fit_for(model, dataset, budget, *, optimizer, loss, max_steps=10**7, jit_compile=False, callbacks=()):
    """Compile and fit ``model`` until ``budget`` seconds of wall clock; return (steps, elapsed)."""
    model.compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile)
    callback = _budget_callback(budget)
    model.fit(dataset, epochs=1, steps_per_epoch=max_steps, callbacks=[callback, *callbacks], shuffle=False, verbose=0)
    return callback.steps, callback.elapsed


def predict_classes(model, images):
    import numpy as np

    out = []
    for image in images:
        probs = model.predict_on_batch(np.asarray(image, np.float32)[None])
        out.append(np.argmax(np.asarray(probs)[0], axis=-1))
    return np.stack(out)


def score(data: Data, predicted):
    import numpy as np

    from unet_course.metrics import mean_iou, per_class_dice, pixel_accuracy

    truth = np.asarray(data.test_masks)
    dice = per_class_dice(truth, predicted, data.num_classes)
    result = {
        "mean_iou": mean_iou(truth, predicted, data.num_classes),
        "pixel_accuracy": pixel_accuracy(truth, predicted),
    }
    if data.name == "isbi":
        result["membrane_dice"] = float(dice[0])
    else:
        result["foreground_dice"] = float(np.mean(dice[1:]))
    return result


# --------------------------------------------------------------------------------------
# The two recipes
# --------------------------------------------------------------------------------------

#: The textbook recipe, as the issue states it.
TEXTBOOK = dict(crop_size=128, batch_size=8, learning_rate=1e-3, rot90=False)


@dataclass
class Run:
    dataset: str
    budget: float
    seed: int
    recipe: str
    metrics: dict
    steps: int
    elapsed: float
    batch_size: int
    crop_size: int
    source: str = ""
    steady_images_per_second: float = float("nan")
    batch_ends: tuple = ()  # seconds from the start of fit to the end of each batch
    stopped_by: str = "time budget"

    @property
    def images_per_second(self) -> float:
        return self.steps * self.batch_size / self.elapsed if self.elapsed else float("nan")


def train_textbook(data: Data, seed: int, budget: float) -> Run:
    """The textbook Keras U-Net, trained in plain Keras for ``budget`` seconds."""
    import keras

    keras.utils.set_random_seed(seed)
    model = textbook_unet(data.train_images.shape[-1], data.num_classes)
    dataset = make_train_dataset(
        data.train_images,
        data.train_masks,
        crop_size=TEXTBOOK["crop_size"],
        batch_size=TEXTBOOK["batch_size"],
        seed=seed,
    )
    timer = StepTimer()
    steps, elapsed = fit_for(
        model,
        dataset,
        budget,
        optimizer=keras.optimizers.Adam(TEXTBOOK["learning_rate"]),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        callbacks=[timer],
    )
    metrics = score(data, predict_classes(model, data.test_images))
    run = Run(
        data.name,
        budget,
        seed,
        "textbook",
        metrics,
        steps,
        elapsed,
        TEXTBOOK["batch_size"],
        TEXTBOOK["crop_size"],
        "plain Keras in quality.py",
    )
    run.steady_images_per_second = timer.images_per_second(TEXTBOOK["batch_size"])
    run.batch_ends = tuple(timer.batch_ends())
    return run


def course_recipe(changes=None):
    """``RECIPES["course"]``, or a candidate: ``RECIPES["course"].replace(**changes)`` (``--course-changes``)."""
    from unet_course.training import RECIPES

    return RECIPES["course"].replace(**changes) if changes else RECIPES["course"]


def train_course(data: Data, seed: int, budget: float, changes=None) -> Run:
    """The course recipe, through the package: ``train_segmenter(..., recipe="course", time_budget=...)``.

    ``changes`` (a dict) trains a candidate instead, ``RECIPES["course"].replace(**changes)``:
    how a change to the default is measured before it is made.

    No validation data is passed: the held-out images are the test set and must not choose
    the model. Without validation, ``train_segmenter`` keeps the epoch with the lowest
    training loss (as any user running it without a validation set gets).
    """
    from unet_course.training import train_segmenter

    candidate = course_recipe(changes)
    timer = StepTimer()
    result = train_segmenter(
        data.train_images,
        data.train_masks,
        num_classes=data.num_classes,
        recipe=candidate,
        time_budget=budget,
        seed=seed,
        callbacks=[timer],
        verbose=0,
    )
    recipe = result.recipe or candidate
    metrics = score(data, predict_classes(result.model, data.test_images))
    run = Run(
        data.name,
        budget,
        seed,
        "course",
        metrics,
        result.steps_run,
        result.elapsed,
        recipe.batch_size,
        recipe.crop_size,
        "unet_course.training.train_segmenter(recipe='course')",
    )
    run.steady_images_per_second = timer.images_per_second(recipe.batch_size)
    run.batch_ends = tuple(timer.batch_ends())
    run.stopped_by = result.stopped_by
    return run


# --------------------------------------------------------------------------------------
# Throughput
# --------------------------------------------------------------------------------------


def pipeline_images_per_second(data: Data, *, crop_size=128, batch_size=8, seconds=5.0, seed=0) -> float:
    """Images/s the input pipeline alone delivers (after a warm-up batch)."""
    iterator = iter(
        make_train_dataset(data.train_images, data.train_masks, crop_size=crop_size, batch_size=batch_size, seed=seed)
    )
    next(iterator)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(iterator)
        count += batch_size
    return count / (time.perf_counter() - start)


def package_pipeline_images_per_second(data: Data, *, seconds=5.0, seed=0) -> float:
    """Images/s of the package's ``make_dataset`` with the course recipe's augmentation."""
    from unet_course.data.pipeline import make_dataset
    from unet_course.training import RECIPES

    recipe = RECIPES["course"]
    dataset = make_dataset(
        data.train_images,
        data.train_masks,
        batch_size=recipe.batch_size,
        crop_size=min(recipe.crop_size, *data.train_masks.shape[1:]),
        augment=recipe.augment,
        shuffle=True,
        repeat=True,
        seed=seed,
        drop_remainder=True,
    )
    iterator = iter(dataset)
    next(iterator)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(iterator)
        count += recipe.batch_size
    return count / (time.perf_counter() - start)


# --------------------------------------------------------------------------------------
# The benchmark and its report
# --------------------------------------------------------------------------------------

METRICS = {
    "isbi": ("membrane_dice", "mean_iou", "pixel_accuracy"),
    "shapes": ("foreground_dice", "mean_iou", "pixel_accuracy"),
}
METRIC_LABELS = {
    "membrane_dice": "membrane Dice",
    "foreground_dice": "foreground Dice (mean of 3 shapes)",
    "mean_iou": "mean IoU",
    "pixel_accuracy": "pixel accuracy",
}
LOADERS = {"isbi": load_isbi, "shapes": load_shapes}


def run_benchmark(
    datasets: dict, budgets, seeds, *, pipeline_seconds=5.0, log=print, course_changes=None, isolate=None
):
    """Both recipes for every dataset, budget and seed (textbook first, then course).

    ``course_changes``: train ``RECIPES["course"].replace(**course_changes)`` as the course side.
    ``isolate``: ``None`` trains in this process; ``(threads, isbi_root)`` trains every run in a
    fresh Python process (:func:`isolated_run`), as ``main`` does.
    """
    runs, pipelines = [], {}
    for name, data in datasets.items():
        pipelines[name] = {
            "textbook pipeline (quality.py)": pipeline_images_per_second(data, seconds=pipeline_seconds),
            "course pipeline (unet_course.data.pipeline.make_dataset)": package_pipeline_images_per_second(
                data, seconds=pipeline_seconds
            ),
        }
        log(f"{name}: input pipeline alone, images/s: " + ", ".join(f"{k} {v:.0f}" for k, v in pipelines[name].items()))
        for budget in budgets:
            for seed in seeds:
                for recipe in ("textbook", "course"):
                    if isolate is not None:
                        run = isolated_run(name, recipe, seed, budget, course_changes, *isolate)
                    else:
                        run = train_one(data, recipe, seed, budget, course_changes)
                    runs.append(run)
                    log(
                        f"{name} budget {budget:g}s seed {seed} {run.recipe}: {run.steps} steps in {run.elapsed:.1f}s, "
                        + ", ".join(f"{k} {v:.4f}" for k, v in run.metrics.items())
                    )
    return runs, pipelines


def load_dataset(name: str, isbi_root=ISBI_ROOT) -> Data:
    """One of ``LOADERS`` by name (ISBI from ``isbi_root``)."""
    return load_isbi(isbi_root) if name == "isbi" else LOADERS[name]()


def train_one(data: Data, recipe: str, seed: int, budget: float, course_changes=None) -> Run:
    """``"textbook"`` or ``"course"`` (a candidate with ``course_changes``), in this process."""
    if recipe == "textbook":
        return train_textbook(data, seed, budget)
    return train_course(data, seed, budget, changes=course_changes)


def isolated_run(dataset: str, recipe: str, seed: int, budget: float, course_changes, threads, isbi_root) -> Run:
    """One training, in a fresh Python process (``quality.py --worker``); its :class:`Run`.

    Why: in one long process, the course recipe's first step (tracing) after a 60 s textbook
    run took 27 s, and 50 s after the next, against 4-5 s in a fresh process (2026-12-05, two
    benchmark processes side by side, each on its own core; the process sat idle in futex
    waits). A fresh process per run gives each recipe the same start, whatever ran before.
    """
    import subprocess

    job = dict(
        dataset=dataset, recipe=recipe, seed=seed, budget=budget, changes=course_changes,
        threads=threads, isbi_root=str(isbi_root),
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)],
        capture_output=True,
        text=True,
    )
    run = parse_run(done.stdout)
    if done.returncode != 0 or run is None:
        raise RuntimeError(f"the {recipe} run ({dataset}, seed {seed}, {budget:g} s) failed:\n{done.stderr[-3000:]}")
    return run


def parse_run(stdout: str) -> Run | None:
    """The :class:`Run` a worker printed (``RUN {json}``), or ``None``."""
    line = next((x for x in stdout.splitlines() if x.startswith("RUN ")), None)
    if line is None:
        return None
    fields = json.loads(line[4:])
    fields["batch_ends"] = tuple(fields["batch_ends"])
    return Run(**fields)


def _worker(job: dict) -> None:
    """``quality.py --worker JSON``: train one run and print it as ``RUN {json}``."""
    import dataclasses

    set_threads(job["threads"])
    data = load_dataset(job["dataset"], job["isbi_root"])
    run = train_one(data, job["recipe"], job["seed"], job["budget"], job["changes"])
    print("RUN " + json.dumps(dataclasses.asdict(run)), flush=True)


def _mean(values):
    return statistics.fmean(values) if values else float("nan")


def summarize(runs):
    """``{(dataset, budget): {recipe: {metric: mean over seeds}}}`` and whether course wins each metric."""
    table = {}
    for run in runs:
        table.setdefault((run.dataset, run.budget), {}).setdefault(run.recipe, []).append(run)
    summary = {}
    for key, by_recipe in table.items():
        summary[key] = {
            recipe: {metric: _mean([r.metrics[metric] for r in rs]) for metric in rs[0].metrics}
            for recipe, rs in by_recipe.items()
        }
    return table, summary


def _paired_runs(by_recipe) -> list:
    """``[(course run, textbook run)]`` for every seed both recipes ran."""
    textbook = {r.seed: r for r in by_recipe.get("textbook", [])}
    return [(r, textbook[r.seed]) for r in by_recipe.get("course", []) if r.seed in textbook]


def environment_lines(threads):
    import keras
    import numpy as np
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return [
        f"- Date: {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- CPU: {cpu}, {os.cpu_count()} logical cores",
        f"- OS: {platform.system()} {platform.release()}",
        f"- Load average (1, 5, 15 min) at the end: {load}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, Keras {keras.__version__} "
        f"({keras.backend.backend()}), TensorFlow {tf.__version__}",
        f"- TensorFlow threads: intra-op {tf.config.threading.get_intra_op_parallelism_threads()}, "
        f"inter-op {tf.config.threading.get_inter_op_parallelism_threads()} (--threads {threads}); "
        "tf.data uses its own thread pool",
    ]


def _fmt(x):
    return "nan" if x != x else f"{x:.3f}"


def write_report(
    runs, pipelines, datasets, *, threads, path, command, append=False, course_changes=None, isolated=False
):
    from unet_course.evaluation.compare import compare

    table, summary = summarize(runs)
    if course_changes:
        course_line = (
            f'- **course**: a candidate, `RECIPES["course"].replace(**{course_changes!r})` (--course-changes), '
            f"through `unet_course.training.train_segmenter(recipe=..., time_budget=...)`, no validation data: "
            f"`{course_recipe(course_changes)}`"
        )
    else:
        course_line = (
            f'- **course**: `unet_course.training.train_segmenter(recipe="course", time_budget=...)`, no validation '
            f'data; `RECIPES["course"]` = `{course_recipe()}`'
        )
    lines = [
        "# Quality at equal wall-clock time: course recipe vs textbook U-Net",
        "",
        'Written by `benchmarks/quality.py`; see `benchmarks/README.md` ("Quality at equal time").',
        (
            "Both recipes train one after the other, each in a fresh Python process, on the same data with the same"
            if isolated
            else "Both recipes train in the same process, one after the other, on the same data with the same"
        ),
        "seed for the same wall-clock budget (checked after every batch; tracing counts), and are scored",
        "on the same held-out images, predicted whole, with `unet_course.metrics`.",
        "",
        f"Command: `{command}`",
        "",
        *environment_lines(threads),
        "",
        "Recipes (both U-Nets of depth 4, base 16 filters, 'same' padding, 2x2 transposed convolutions):",
        "",
        "- **textbook**: plain Keras in `quality.py`; images as loaded in [0, 1]; no normalisation layers;",
        "  Adam 1e-3; sparse categorical cross-entropy; random 128x128 crops + random flips; batch 8.",
        course_line,
        "",
        "Data:",
        "",
    ]
    for data in datasets.values():
        lines.append(f"- `{data.name}`: {data.note}")
    lines += ["", "## Results", ""]
    verdicts = []
    for (dataset, budget), by_recipe in sorted(summary.items()):
        metrics = METRICS.get(dataset, METRICS["shapes"])
        lines += [f"### {dataset}, budget {budget:g} s", ""]
        header = (
            "| recipe | "
            + " | ".join(f"{METRIC_LABELS[m]}: mean (per seed)" for m in metrics)
            + " | steps (per seed) | training images/s: whole run / after 3 steps |"
        )
        lines += [header, "|---|" + "---:|" * (len(metrics) + 2)]  # bold: the better of the two means
        for recipe in ("textbook", "course"):
            rs = table[(dataset, budget)].get(recipe, [])
            if not rs:
                continue
            cells = []
            for m in metrics:
                per_seed = ", ".join(_fmt(r.metrics[m]) for r in rs)
                mean = _fmt(by_recipe[recipe][m])
                others = [v[m] for name, v in by_recipe.items() if name != recipe]
                better = all(by_recipe[recipe][m] > other for other in others)  # bold: the better mean only
                cells.append(f"{f'**{mean}**' if better and others else mean} ({per_seed})")
            steps = ", ".join(str(r.steps) for r in rs)
            speed = (
                f"{_mean([r.images_per_second for r in rs]):.1f} / "
                f"{_mean([r.steady_images_per_second for r in rs]):.1f}"
            )
            lines.append(f"| {recipe} | " + " | ".join(cells) + f" | {steps} | {speed} |")
        # the course's one comparison rule, paired by seed (unet_course.evaluation.compare)
        pairs = _paired_runs(table[(dataset, budget)])
        lines += ["", "Verdicts (the course's comparison rule, paired by seed, 95% interval):", ""]
        decided = []
        for m in metrics if pairs else ():
            result = compare(
                [c.metrics[m] for c, _ in pairs],
                [t.metrics[m] for _, t in pairs],
                names=("course", "textbook"),
            )
            decided.append(result.better == "course")
            lines.append(f"- {METRIC_LABELS[m]}: {result}")
        verdicts.append((dataset, budget, bool(decided) and all(decided)))
        lines.append("")
    lines += [
        "## Throughput",
        "",
        'Training images/s (128x128 crops, batch 8) are in the tables above: "whole run" is steps x batch /',
        'training time (start-up and tracing included); "after 3 steps" leaves the first three batches out.',
        "The input pipeline alone (iterated as fast as it goes, after one warm-up batch, same process):",
        "",
        "| dataset | pipeline | images/s | x the fastest training rate measured on it |",
        "|---|---|---:|---:|",
    ]
    for dataset, entries in pipelines.items():
        fastest = max(
            [
                r.steady_images_per_second
                for r in runs
                if r.dataset == dataset and r.steady_images_per_second == r.steady_images_per_second
            ]
            or [float("nan")]
        )
        for label, rate in entries.items():
            lines.append(f"| {dataset} | {label} | {rate:.0f} | {rate / fastest:.0f}x |")
    lines.append("")
    text = "\n".join(lines)
    if append and Path(path).exists():
        text = (
            Path(path).read_text()
            + "\n---\n\n"
            + text.replace("# Quality at equal", "# (another run) Quality at equal", 1)
        )
    Path(path).write_text(text)
    return verdicts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60, 180, 600], help="seconds of training per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--datasets", nargs="+", default=["isbi", "shapes"], choices=sorted(LOADERS))
    parser.add_argument(
        "--threads", type=int, default=1, help="TensorFlow intra-op and inter-op threads (0: TF's default)"
    )
    parser.add_argument("--isbi-root", default=str(ISBI_ROOT))
    parser.add_argument("--output", default=str(RESULTS_PATH))
    parser.add_argument(
        "--course-changes",
        type=json.loads,
        default=None,
        help='train a candidate, RECIPES["course"].replace(**CHANGES), as the course side: a JSON object, e.g. '
        '\'{"precision": "mixed_bfloat16"}\'',
    )
    parser.add_argument(
        "--append", action="store_true", help="add this run's report at the end of --output instead of replacing it"
    )
    parser.add_argument(
        "--same-process",
        action="store_true",
        help="train every run in this process instead of a fresh process per run (see isolated_run)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # one run, for isolated_run
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(json.loads(args.worker))
    if args.course_changes is not None:
        if not isinstance(args.course_changes, dict):
            parser.error(f"--course-changes must be a JSON object, got {args.course_changes!r}")
        try:
            course_recipe(args.course_changes)
        except (TypeError, ValueError) as error:
            parser.error(f"--course-changes: {error}")
    if any(b <= 0 for b in args.budgets):
        parser.error(f"--budgets must be positive seconds, got {args.budgets}")
    set_threads(args.threads)
    datasets = {name: load_dataset(name, args.isbi_root) for name in args.datasets}
    isolate = None if args.same_process else (args.threads, args.isbi_root)
    runs, pipelines = run_benchmark(
        datasets, args.budgets, args.seeds, course_changes=args.course_changes, isolate=isolate
    )
    command = "python benchmarks/quality.py " + " ".join(argv if argv is not None else sys.argv[1:])
    verdicts = write_report(
        runs,
        pipelines,
        datasets,
        threads=args.threads,
        path=args.output,
        command=command,
        append=args.append,
        course_changes=args.course_changes,
        isolated=isolate is not None,
    )
    print(Path(args.output).read_text())
    return runs, pipelines, verdicts


if __name__ == "__main__":
    main()

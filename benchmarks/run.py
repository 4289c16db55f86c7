"""Benchmarks of unet_course, each as a ratio against a plain Keras baseline.

Run from the repository root::

    make bench                                  # full sizes, writes benchmarks/RESULTS.md
    .venv/bin/python benchmarks/run.py --quick  # tiny sizes, 1 repeat: a smoke test
    .venv/bin/python benchmarks/run.py --repeats 11

Every benchmark times *our* code and a *baseline* written directly in this file with
plain Keras, in the same process, on the same data, interleaved repeat by repeat (so a
burst of load from another job hits both sides alike). A timing is: one warm-up call
(tracing, compilation, first allocation), then the median over ``--repeats`` repeats,
each repeat the mean of ``number`` calls timed with ``time.perf_counter`` (``number``
is chosen so that one repeat lasts at least ``--min-time`` seconds).

What we report is the ratio ``ours / baseline``: absolute times depend on the machine
and on what else it is running; the ratio much less. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import logging
import math
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from unet_course.config import environment, import_backend  # noqa: E402

keras = import_backend()
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # no retracing notices: each benchmark model traces once
import numpy as np  # noqa: E402
from keras import layers, ops  # noqa: E402

from unet_course.data.synthetic import make_shapes  # noqa: E402
from unet_course.losses import CrossEntropyDiceLoss  # noqa: E402
from unet_course.metrics import IoUScore  # noqa: E402
from unet_course.models import build_unet, upsample  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS_PATH = HERE / "RESULTS.md"
NUM_CLASSES = 4  # background, circle, square, triangle (the shapes data set)
SEED = 42
#: A benchmark whose paired ratios span more than this factor is flagged as noisy.
NOISY_SPREAD = 2.0

#: Problem sizes. ``full`` is what ``make bench`` reports; ``quick`` is a smoke test. Quick
#: trains with SGD: tracing Adam's update takes seconds per model, the smoke test should not.
SIZES = {
    "full": dict(image_size=128, channels=3, batch=8, base_filters=16, depth=4, optimizer="adam"),
    "quick": dict(image_size=16, channels=3, batch=2, base_filters=4, depth=2, optimizer="sgd"),
}


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


@dataclass
class Timing:
    """Median seconds per call of ours and of the baseline, and the paired ratios."""

    ours: float
    baseline: float
    paired_ratios: list[float]
    number: int

    @property
    def ratio(self) -> float:
        return self.ours / self.baseline

    @property
    def noisy(self) -> bool:
        """True when the per-repeat ratios span more than a factor of 2 (a busy machine)."""
        return max(self.paired_ratios) > NOISY_SPREAD * min(self.paired_ratios)


def compare(ours, baseline, *, repeats: int, min_time: float) -> Timing:
    """Time two zero-argument callables the same way, interleaved.

    Each is called once to warm up. ``number`` (calls per repeat) is set from a second,
    timed call of the baseline so that a repeat lasts at least ``min_time`` seconds, and
    is the same for both sides. The order alternates from one repeat to the next.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}.")
    ours()
    baseline()
    start = time.perf_counter()
    baseline()
    once = max(time.perf_counter() - start, 1e-9)
    number = max(1, math.ceil(min_time / once)) if min_time > 0 else 1

    def timed(fn) -> float:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - start) / number

    ours_times, baseline_times = [], []
    for r in range(repeats):
        if r % 2 == 0:
            ours_times.append(timed(ours))
            baseline_times.append(timed(baseline))
        else:
            baseline_times.append(timed(baseline))
            ours_times.append(timed(ours))
    return Timing(
        ours=statistics.median(ours_times),
        baseline=statistics.median(baseline_times),
        paired_ratios=[o / b for o, b in zip(ours_times, baseline_times)],
        number=number,
    )


@dataclass
class Result:
    name: str
    timing: Timing
    baseline_is: str
    checks: dict[str, object] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.timing.ratio


# --------------------------------------------------------------------------------------
# The plain Keras baseline U-Net
# --------------------------------------------------------------------------------------


def plain_keras_unet(input_shape, num_classes: int, depth: int, base_filters: int) -> keras.Model:
    """U-Net written directly with ``keras.layers``, without unet_course.

    The same architecture as ``build_unet(input_shape, num_classes, depth=depth,
    base_filters=base_filters)`` with its defaults: "same" padding, no batch norm, no
    dropout, 2x2 stride-2 transposed convolutions, concatenated skips, softmax output.
    Layers are created in the same order, so the two models' weight lists line up.
    """
    inputs = keras.Input(shape=input_shape)
    x = inputs
    skips = []
    for level in range(depth):  # contracting path
        filters = base_filters * 2**level
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
        skips.append(x)
        x = layers.MaxPooling2D(2)(x)
    filters = base_filters * 2**depth  # bottleneck
    x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
    x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
    for level in reversed(range(depth)):  # expanding path
        filters = base_filters * 2**level
        x = layers.Conv2DTranspose(filters, 2, strides=2)(x)
        x = layers.Concatenate()([skips[level], x])
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", kernel_initializer="he_normal")(x)
    outputs = layers.Conv2D(num_classes, 1, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="plain_keras_unet")


# --------------------------------------------------------------------------------------
# Benchmarks
# --------------------------------------------------------------------------------------


class _Setup:
    """Data and the two models, shared by the benchmarks of one run."""

    def __init__(self, image_size: int, channels: int, batch: int, base_filters: int, depth: int, optimizer: str):
        keras.utils.set_random_seed(SEED)
        self.sizes = dict(
            image_size=image_size,
            channels=channels,
            batch=batch,
            base_filters=base_filters,
            depth=depth,
            optimizer=optimizer,
        )
        if channels != 3:
            raise ValueError(f"channels must be 3 (the shapes data set is RGB), got {channels}.")
        images, masks = make_shapes(batch, image_size, seed=SEED)
        self.images, self.masks = images, masks.astype("int32")
        input_shape = (image_size, image_size, channels)
        self.ours = build_unet(input_shape, NUM_CLASSES, depth=depth, base_filters=base_filters)
        self.plain = plain_keras_unet(input_shape, NUM_CLASSES, depth, base_filters)
        self.ours_params = self.ours.count_params()
        self.plain_params = self.plain.count_params()
        if self.ours_params != self.plain_params:
            raise AssertionError(
                f"build_unet has {self.ours_params} parameters, the plain Keras U-Net {self.plain_params}: "
                "not the same architecture."
            )
        # Same weights in both: then the same outputs show the same computation, not just the same size.
        self.plain.set_weights(self.ours.get_weights())
        difference = float(
            np.max(np.abs(self.ours.predict_on_batch(self.images) - self.plain.predict_on_batch(self.images)))
        )
        if difference > 1e-5:
            raise AssertionError(
                f"With the same weights, build_unet and the plain U-Net differ by {difference:.2e}: "
                "not the same architecture."
            )
        self.max_output_difference = difference
        for model in (self.ours, self.plain):
            model.compile(optimizer=keras.optimizers.get(optimizer), loss="sparse_categorical_crossentropy")
        probabilities = ops.softmax(
            keras.random.normal((batch, image_size, image_size, NUM_CLASSES), seed=SEED), axis=-1
        )
        self.probabilities = ops.convert_to_tensor(probabilities)
        self.y_true = ops.convert_to_tensor(self.masks)

    def architecture_checks(self) -> dict[str, object]:
        return {
            "parameters (build_unet)": self.ours_params,
            "parameters (plain Keras)": self.plain_params,
            "max |output difference| with shared weights": f"{self.max_output_difference:.1e}",
        }


def bench_train_step(s: _Setup, repeats: int, min_time: float) -> Result:
    timing = compare(
        lambda: s.ours.train_on_batch(s.images, s.masks),
        lambda: s.plain.train_on_batch(s.images, s.masks),
        repeats=repeats,
        min_time=min_time,
    )
    return Result(
        "train step: build_unet",
        timing,
        f"hand-written plain Keras functional U-Net, same architecture "
        f"(train_on_batch, {s.sizes['optimizer']}, sparse CE)",
        s.architecture_checks(),
    )


def bench_forward(s: _Setup, repeats: int, min_time: float) -> Result:
    timing = compare(
        lambda: s.ours.predict_on_batch(s.images),
        lambda: s.plain.predict_on_batch(s.images),
        repeats=repeats,
        min_time=min_time,
    )
    return Result(
        "forward: build_unet", timing, "the same plain Keras U-Net (predict_on_batch)", s.architecture_checks()
    )


def bench_iou_metric(s: _Setup, repeats: int, min_time: float) -> Result:
    # Every class, so that both compute the same number (MeanIoU averages all classes).
    ours = IoUScore(NUM_CLASSES, class_ids=list(range(NUM_CLASSES)))
    baseline = keras.metrics.MeanIoU(num_classes=NUM_CLASSES, sparse_y_pred=False)

    def run(metric):
        metric.reset_state()
        metric.update_state(s.y_true, s.probabilities)
        return float(metric.result())

    ours_value, baseline_value = run(ours), run(baseline)
    timing = compare(lambda: run(ours), lambda: run(baseline), repeats=repeats, min_time=min_time)
    checks = {
        "IoUScore": f"{ours_value:.6f}",
        "MeanIoU": f"{baseline_value:.6f}",
        "same value": abs(ours_value - baseline_value) < 1e-5,
    }
    return Result(
        "metric: IoUScore",
        timing,
        "keras.metrics.MeanIoU(sparse_y_pred=False), same probabilities (eager reset+update+result)",
        checks,
    )


def bench_loss(s: _Setup, repeats: int, min_time: float) -> Result:
    ours = CrossEntropyDiceLoss()
    baseline = keras.losses.SparseCategoricalCrossentropy()
    ours_value = float(ours(s.y_true, s.probabilities))
    baseline_value = float(baseline(s.y_true, s.probabilities))
    timing = compare(
        lambda: float(ours(s.y_true, s.probabilities)),
        lambda: float(baseline(s.y_true, s.probabilities)),
        repeats=repeats,
        min_time=min_time,
    )
    checks = {"CE + Dice": f"{ours_value:.6f}", "CE alone": f"{baseline_value:.6f}"}
    return Result(
        "loss: CrossEntropyDiceLoss",
        timing,
        "keras.losses.SparseCategoricalCrossentropy: cross-entropy ALONE, "
        "so the ratio is the cost of the added Dice term (eager)",
        checks,
    )


def bench_upsampling(s: _Setup, repeats: int, min_time: float) -> list[Result]:
    """The three ``upsample`` modes at the last decoder level, relative to ``transpose``."""
    size, base, batch = s.sizes["image_size"], s.sizes["base_filters"], s.sizes["batch"]
    shape = (size // 2, size // 2, 2 * base)  # what dec1 receives in the full U-Net
    keras.utils.set_random_seed(SEED)
    x = keras.random.normal((batch, *shape), seed=SEED)
    x = ops.convert_to_numpy(x)
    models = {}
    for mode in ("transpose", "bilinear", "nearest"):
        inputs = keras.Input(shape=shape)
        models[mode] = keras.Model(inputs, upsample(inputs, base, mode, name="up"), name=f"upsample_{mode}")
    for mode, model in models.items():
        out = model.predict_on_batch(x)
        if out.shape != (batch, size, size, base):
            raise AssertionError(f"upsample({mode!r}) gave {out.shape}, expected {(batch, size, size, base)}.")
    params = {mode: model.count_params() for mode, model in models.items()}
    results = []
    for mode in ("bilinear", "nearest"):
        timing = compare(
            lambda m=models[mode]: m.predict_on_batch(x),
            lambda: models["transpose"].predict_on_batch(x),
            repeats=repeats,
            min_time=min_time,
        )
        checks = {
            "input": f"{(batch, *shape)}",
            "output": f"{(batch, size, size, base)}",
            f"parameters ({mode})": params[mode],
            "parameters (transpose)": params["transpose"],
        }
        results.append(
            Result(
                f"upsample: {mode}",
                timing,
                "upsample(mode='transpose'): 2x2 stride-2 Conv2DTranspose on the same tensor (predict_on_batch)",
                checks,
            )
        )
    return results


def bench_predict(s: _Setup, repeats: int, min_time: float) -> list[Result]:
    """``inference.predict`` on a large image, against one plain ``predict_on_batch`` of it.

    The image is ``4 x image_size`` on a side (512x512 in full mode). Ours returns class ids
    (padding check, the model call, argmax); the baseline is the model call alone plus a NumPy
    argmax. The tiled row predicts the same image in overlapping tiles of half its size
    (``tile_size``, ``overlap=32``): the price of bounded memory.
    """
    from unet_course.inference import predict

    size = 4 * s.sizes["image_size"]
    rng = np.random.default_rng(SEED)
    image = rng.random((size, size, s.sizes["channels"])).astype("float32")
    # the benchmarks' model takes fixed 128x128 inputs: the same weights in a model of any input size
    model = build_unet(
        (None, None, s.sizes["channels"]), NUM_CLASSES, depth=s.sizes["depth"], base_filters=s.sizes["base_filters"]
    )
    model.set_weights(s.ours.get_weights())
    whole_ids = predict(model, image)
    plain_ids = np.asarray(model.predict_on_batch(image[None]))[0].argmax(-1)
    tile = size // 2
    tiled_ids = predict(model, image, tile_size=tile, overlap=min(32, tile // 4))
    results = []
    for name, ours, ids in (
        (f"predict: {size}x{size}, whole", lambda: predict(model, image), whole_ids),
        (
            f"predict: {size}x{size}, tiles of {tile}",
            lambda: predict(model, image, tile_size=tile, overlap=min(32, tile // 4)),
            tiled_ids,
        ),
    ):
        timing = compare(
            ours,
            lambda: np.asarray(model.predict_on_batch(image[None]))[0].argmax(-1),
            repeats=repeats,
            min_time=min_time,
        )
        checks = {
            "image": f"{image.shape}",
            "images/s (ours)": f"{1 / timing.ours:.2f}",
            "images/s (baseline)": f"{1 / timing.baseline:.2f}",
            "pixels equal to the baseline's class ids": f"{np.mean(ids == plain_ids):.2%}",
        }
        results.append(
            Result(name, timing, "model.predict_on_batch of the whole image + NumPy argmax (same model)", checks)
        )
    return results


def bench_export(s: _Setup, repeats: int, min_time: float) -> list[Result]:
    """Inference through the exported SavedModel against the Keras model it came from.

    ``unet_course.deploy.export_model`` writes the model as a TensorFlow SavedModel (the artifact
    TensorFlow Serving runs); ours calls it, loaded back with ``load_exported`` (TensorFlow runs
    the graph, no Keras model), on a batch of ``4 x image_size`` square images (512x512 in full
    mode), batch 1 and batch 8; the baseline is the Keras model's ``predict_on_batch`` on the
    same batch. Both return the probabilities; the checks give both rates in images/s.
    """
    import tempfile

    from unet_course.deploy import export_model, load_exported

    size = 4 * s.sizes["image_size"]
    model = build_unet(
        (None, None, s.sizes["channels"]), NUM_CLASSES, depth=s.sizes["depth"], base_filters=s.sizes["base_filters"]
    )
    model.set_weights(s.ours.get_weights())
    results = []
    with tempfile.TemporaryDirectory() as folder:
        exported = load_exported(export_model(model, Path(folder) / "unet" / "1"))
        rng = np.random.default_rng(SEED)
        for batch in (1, 8):
            images = rng.random((batch, size, size, s.sizes["channels"])).astype("float32")
            difference = float(np.max(np.abs(exported(images) - np.asarray(model.predict_on_batch(images)))))
            timing = compare(
                lambda x=images: exported(x),
                lambda x=images: model.predict_on_batch(x),
                repeats=repeats,
                min_time=min_time,
            )
            checks = {
                "input": f"{images.shape}",
                "images/s (exported SavedModel)": f"{batch / timing.ours:.2f}",
                "images/s (Keras model)": f"{batch / timing.baseline:.2f}",
                "max |probability difference|": f"{difference:.1e}",
            }
            results.append(
                Result(
                    f"export: {size}x{size}, batch {batch}",
                    timing,
                    "the same model in Keras (predict_on_batch); "
                    "ours: its SavedModel (export_model, run by tf.saved_model.load)",
                    checks,
                )
            )
    return results


BENCHMARKS = (
    bench_train_step,
    bench_forward,
    bench_iou_metric,
    bench_loss,
    bench_upsampling,
    bench_predict,
    bench_export,
)


def notebook_09_section(path: Path = HERE.parent / "notebooks" / "09_isbi_paper_experiment.ipynb") -> list[str]:
    """The ISBI 2012 comparison table as printed by notebook 09's committed (full) run."""
    import json

    if not path.exists():
        return []
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            text = "".join(output.get("text", ""))
            if "u-net, the paper (test slices)" in text:
                return [
                    "",
                    "## ISBI 2012: the paper's experiment (notebook 09)",
                    "",
                    "Copied from the committed full run of `notebooks/09_isbi_paper_experiment.ipynb` "
                    "(`make notebooks`);",
                    "the notebook names every reason the rows are not comparable. Lower is better.",
                    "",
                    "```",
                    text.rstrip(),
                    "```",
                ]
    return []


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g}" if seconds < 1 else f"{seconds * 1e3:.0f}"


def _paired(timing: Timing) -> str:
    ratios = timing.paired_ratios
    text = f"{statistics.median(ratios):.2f} [{min(ratios):.2f}–{max(ratios):.2f}]"
    return text + (" noisy" if timing.noisy else "")


def machine() -> dict[str, str]:
    """CPU count and model, OS, load, and the versions/backend/devices of ``unet_course.config.environment``."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"CPU": f"{cpu}, {os.cpu_count()} logical cores", "OS": f"{platform.system()} {platform.release()}"}
    if hasattr(os, "getloadavg"):  # other jobs on the machine: the reason for a wide paired range
        info["Load average (1, 5, 15 min) at the end"] = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    env = environment()
    for key in ("Python", "NumPy", "Keras", "Keras backend", "TensorFlow", "Devices"):
        info[key] = env[key]
    return info


def text_table(results: list[Result]) -> str:
    rows = [("benchmark", "ours ms", "baseline ms", "ratio", "paired median [min-max]", "baseline is")]
    for r in results:
        rows.append(
            (r.name, _ms(r.timing.ours), _ms(r.timing.baseline), f"{r.ratio:.2f}", _paired(r.timing), r.baseline_is)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths)) + "  " + row[-1])
    return "\n".join(lines)


def markdown(
    results: list[Result], *, mode: str, sizes: dict, repeats: int, min_time: float, when: _dt.datetime
) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Written by `benchmarks/run.py` (`make bench`); see `benchmarks/README.md` for how to read it.",
        "**Read the ratio** (ours / baseline, both timed in the same process, interleaved);",
        "absolute milliseconds depend on the machine and on its load.",
        "",
        f"- Date: {when.strftime('%Y-%m-%d %H:%M UTC')}",
    ]
    lines += [f"- {key}: {value}" for key, value in machine().items()]
    lines += [
        f"- Mode: {mode} (input {sizes['image_size']}x{sizes['image_size']}x{sizes['channels']}, "
        f"batch {sizes['batch']}, base_filters {sizes['base_filters']}, depth {sizes['depth']}, "
        f"{NUM_CLASSES} classes, optimizer {sizes['optimizer']})",
        f"- Timing: 1 warm-up call, then the median of {repeats} repeats (each at least {min_time:g} s of calls), "
        "time.perf_counter",
        "",
        "| benchmark | ours (ms) | baseline (ms) | ratio ours/baseline "
        "| paired ratios: median [min–max] | the baseline is |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {_ms(r.timing.ours)} | {_ms(r.timing.baseline)} | **{r.ratio:.2f}** | {_paired(r.timing)} | "
            f"{r.baseline_is} |"
        )
    if any(r.timing.noisy for r in results):
        lines += [
            "",
            f"*noisy*: the per-repeat ratios of that row span more than a factor of {NOISY_SPREAD:g}; "
            "the machine was busy (see the load average). "
            "Read its ratio as a rough value and re-run on a quieter machine, or with more `--repeats`.",
        ]
    lines += ["", "## Checks", ""]
    seen = set()
    for r in results:
        items = tuple((k, str(v)) for k, v in r.checks.items())
        if not items or items in seen:
            continue
        seen.add(items)
        lines.append(f"- {r.name}: " + "; ".join(f"{k} = {v}" for k, v in items))
    lines += notebook_09_section()
    lines.append("")
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny sizes and 1 repeat (a smoke test); does not overwrite RESULTS.md unless --output is given",
    )
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per benchmark (default 15, or 1 with --quick)"
    )
    parser.add_argument(
        "--min-time", type=float, default=None, help="minimum seconds per repeat (default 0.2, or 0 with --quick)"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help=f"Markdown file to write (default {RESULTS_PATH.relative_to(HERE.parent)} in full mode, none with --quick "
        "or --only)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[b.__name__.removeprefix("bench_") for b in BENCHMARKS],
        help="run these benchmarks only (e.g. --only export); RESULTS.md is then not written unless --output is given",
    )
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 15
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}.")
    if args.min_time is None:
        args.min_time = 0.0 if args.quick else 0.2
    if args.min_time < 0:
        parser.error(f"--min-time must be 0 or more, got {args.min_time}.")
    if args.output is None and not args.quick and not args.only:
        args.output = RESULTS_PATH
    return args


def main(argv=None) -> list[Result]:
    """Run every benchmark, print the table, write the Markdown report; return the results."""
    args = parse_args(argv)
    mode = "quick" if args.quick else "full"
    sizes = SIZES[mode]
    when = _dt.datetime.now(_dt.timezone.utc)
    setup = _Setup(**sizes)
    results: list[Result] = []
    for bench in BENCHMARKS:
        if args.only and bench.__name__.removeprefix("bench_") not in args.only:
            continue
        out = bench(setup, args.repeats, args.min_time)
        for r in out if isinstance(out, list) else [out]:
            results.append(r)
            print(f"  {r.name:<28} ratio {r.ratio:.2f}", flush=True)
    print()
    print(text_table(results))
    if args.output is not None:
        args.output.write_text(
            markdown(results, mode=mode, sizes=sizes, repeats=args.repeats, min_time=args.min_time, when=when)
        )
        print(f"\nWrote {args.output}")
    return results


if __name__ == "__main__":
    main()

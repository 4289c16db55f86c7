"""The model commands evaluate and predict, and what train shares with them: one-line errors, a quiet start.

Every bad input is one line ``unet-course: error: ...`` on stderr and exit status 2
(:func:`guarded`), before training starts. The command checks what only it knows (the folders,
``--out``, the flags that go together, the validation split); the package checks every other
value once (:func:`unet_course.training.train_segmenter`, the :class:`~unet_course.training.Recipe`,
the loaders of :mod:`unet_course.data.io`), and its ``ValueError`` is that one line.

``evaluate`` and ``predict`` recognise a valid-padding model by its fixed input size and
predict whole images in overlap tiles (:func:`unet_course.inference.predict`).

TensorFlow's C++ start-up log ("All log messages before absl::InitializeLog() is called ...",
the oneDNN notice, "failed call to cuInit" without a GPU) is hidden unless ``--verbose``
(:func:`start_backend`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


class CommandError(Exception):
    """A bad input to a command: printed as one line, exit status 2."""


def fail(message) -> int:
    """Print ``message`` as one line ``unet-course: error: ...`` on stderr; return the exit status 2."""
    print(f"unet-course: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def guarded(function):
    """Run a command; bad input (CommandError, ValueError, OSError) becomes one line on stderr."""

    def run(args) -> int:
        try:
            return function(args)
        except (CommandError, ValueError) as error:
            return fail(error)
        except OSError as error:
            return fail(f"{error.filename or ''}: {error.strerror or error}".lstrip(": "))

    return run


def start_backend(verbose: bool) -> None:
    """Import Keras and its backend with TensorFlow's C++ log lines hidden, or shown with ``verbose``.

    ``unet_course.config`` sets ``TF_CPP_MIN_LOG_LEVEL=2``, but TensorFlow prints its start-up
    notices through absl before it reads that variable, and probes CUDA ("failed call to
    cuInit") on first use: :func:`unet_course.config.import_backend` imports it and probes the
    devices with file descriptor 2 silenced. ``verbose`` sets the level back to 0 (every line).
    Called first, before anything imports TensorFlow.
    """
    from unet_course import config

    if verbose:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    else:
        config.import_backend()


def check_out(out, overwrite: bool) -> Path:
    """``--out``: a folder, empty unless ``--overwrite``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise CommandError(f"--out {out} is a file; give a folder (it is created if needed).")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise CommandError(
            f"--out {out} is not empty; nothing is written into it unless you add --overwrite (or choose a new folder)."
        )
    return out


def load_model(path):
    """The ``.keras`` model at ``path`` (:func:`unet_course.deploy.load_model`, uncompiled), or one line why not."""
    from unet_course.deploy import load_model

    try:
        return load_model(path, compile=False)
    except Exception as error:  # missing, not .keras, corrupt or foreign: say so in one line
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CommandError(
            f"cannot load the model {path}: {first} Give the model.keras that `unet-course train` wrote."
        ) from None


def check_channels(model, images, stems):
    """Every image has the channels the model takes; the first that does not is named by its file."""
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


def print_notes(notes):
    for note in notes:
        print(f"note: {note}")


def evaluate(args) -> int:
    """``unet-course evaluate``: score a trained model on a folder of images and masks."""
    start_backend(args.verbose)
    from unet_course.data.io import load_folder_pairs
    from unet_course.evaluation import evaluate_model, format_report, model_num_classes, write_csv, write_json

    for name, path in (("--json", args.json), ("--csv", args.csv)):
        if path is not None and Path(path).is_dir():
            raise CommandError(f"{name} {path} is a folder; give a file name such as report.{name[2:]}.")
    model = load_model(args.model)
    num_classes = model_num_classes(model)
    pairs = load_folder_pairs(args.images, args.masks, num_classes, args.ignore_index)
    print_notes(pairs.notes)
    check_channels(model, pairs.images, pairs.stems)
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


def predict(args) -> int:
    """``unet-course predict``: one class-id PNG (and with --probabilities one .npy) per image."""
    start_backend(args.verbose)
    import numpy as np
    from PIL import Image

    from unet_course.data.io import load_image_folder
    from unet_course.data.masks import to_class_ids
    from unet_course.inference import predict

    out = check_out(args.out, args.overwrite)
    model = load_model(args.model)
    images, stems, notes = load_image_folder(args.images)
    print_notes(notes)
    check_channels(model, images, stems)
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

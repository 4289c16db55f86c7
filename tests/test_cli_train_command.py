"""unet-course train on tiny folders: the split, the outputs, the recipe from the flags, and every bad
input as one line on stderr with a non-zero exit (never a traceback)."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from tests.cli_helpers import assert_one_line_error, evaluate_argv, make_folders, run, save, train_argv
from unet_course import metrics as M
from unet_course.cli import train_command
from unet_course.models import build_unet


@pytest.fixture
def fake_engine(monkeypatch):
    """A stand-in for train_segmenter: records its arguments, saves a tiny model, optionally raises Ctrl-C."""
    import unet_course.training as training

    calls = {}

    def train_segmenter(images, masks, val_images=None, val_masks=None, *, out_dir=None, **options):
        calls.update(images=images, masks=masks, val_images=val_images, val_masks=val_masks, out_dir=out_dir, **options)
        keras.utils.set_random_seed(0)
        model = build_unet((None, None, images[0].shape[-1]), options["num_classes"], depth=2, base_filters=2)
        model.save(out_dir / "model.keras")
        (out_dir / "history.csv").write_text("epoch,loss\n0,1.0\n")
        if calls.get("interrupt"):
            raise KeyboardInterrupt
        return training.TrainResult(
            model=model,
            history={"loss": [1.0]},
            elapsed=0.1,
            epochs_run=1,
            steps_run=1,
            depth=2,
            best_path=out_dir / "model.keras",
        )

    monkeypatch.setattr(training, "train_segmenter", train_segmenter)
    return calls


def test_train_holds_out_20_percent_and_writes_every_output(tmp_path, capsys, fake_engine):
    images, masks = make_folders(tmp_path, count=5, extra_size=(40, 36), mask_scale=255)
    out = tmp_path / "run"
    code, stdout, err = run(capsys, *train_argv(images, masks, out))
    assert code == 0, err
    assert "255 became class 1" in stdout
    assert "holding out 1 of 5 images for validation:" in stdout
    assert len(fake_engine["images"]) == 4 and len(fake_engine["val_images"]) == 1
    assert fake_engine["epochs"] == 1 and fake_engine["time_budget"] is None and fake_engine["out_dir"] == out
    assert all(set(np.unique(m)) <= {0, 1} for m in fake_engine["masks"])
    assert sorted(p.name for p in out.iterdir()) == sorted(train_command.TRAIN_OUTPUTS)
    run_info = json.loads((out / "run.json").read_text())
    assert run_info["command"].startswith("unet-course train --images") and "--epochs 1" in run_info["command"]
    assert run_info["versions"]["keras"] == keras.__version__
    # precision="auto" resolved on this machine, as the model was built
    from unet_course.training import resolve_precision

    assert run_info["recipe"]["precision"] == cli_recipe("course").precision
    policy = resolve_precision(cli_recipe("course").precision)
    assert run_info["dtype_policy"] == policy and policy in ("float32", "mixed_bfloat16")
    held = run_info["validation_images"]
    assert (
        len(held) == 1 and held[0] in stdout and sorted(held + run_info["train_images"]) == [f"s{i}" for i in range(5)]
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["num_images"] == 1 and metrics["per_image"][0]["image"] == held[0]
    # metrics.json holds the saved model's scores on the held-out image
    from unet_course.data.io import read_image
    from unet_course.inference import predict

    model = keras.models.load_model(out / "model.keras")
    truth = (np.asarray(Image.open(masks / f"{held[0]}.png")) > 0).astype(int)
    predicted = predict(model, read_image(images / f"{held[0]}.png"))
    assert metrics["pixel_accuracy"] == pytest.approx(M.pixel_accuracy(truth, predicted))
    assert Image.open(out / "predictions.png").format == "PNG"
    # the same folder again: refused, and the model is untouched
    before = (out / "model.keras").stat().st_mtime_ns
    code, _, err = run(capsys, *train_argv(images, masks, out))
    assert_one_line_error(code, err, "not empty")
    assert (out / "model.keras").stat().st_mtime_ns == before


def test_train_with_validation_folders_and_a_time_budget(tmp_path, capsys, fake_engine):
    images, masks = make_folders(tmp_path / "train", count=3)
    val_images, val_masks = make_folders(tmp_path / "val", count=2, size=(24, 24))
    code, stdout, err = run(
        capsys,
        "train",
        "--images",
        images,
        "--masks",
        masks,
        "--val-images",
        val_images,
        "--val-masks",
        val_masks,
        "--num-classes",
        2,
        "--time-budget",
        3,
        "--crop-size",
        16,
        "--batch-size",
        2,
        "--seed",
        7,
        "--out",
        tmp_path / "run",
    )
    assert code == 0, err
    assert len(fake_engine["images"]) == 3 and len(fake_engine["val_images"]) == 2
    assert (fake_engine["time_budget"], fake_engine["crop_size"], fake_engine["batch_size"], fake_engine["seed"]) == (
        3,
        16,
        2,
        7,
    )
    assert "holding out" not in stdout


def test_ctrl_c_keeps_the_best_model_and_writes_the_outputs(tmp_path, capsys, fake_engine):
    fake_engine["interrupt"] = True
    images, masks = make_folders(tmp_path, count=4)
    code, stdout, err = run(capsys, *train_argv(images, masks, tmp_path / "run", "--epochs", 5))
    assert code == 130
    assert "keeping the best model" in err and "Traceback" not in err
    assert (tmp_path / "run" / "metrics.json").exists()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["stopped_by"] == "interrupted"


@pytest.mark.parametrize(
    "change, phrases",
    [
        (lambda root: ["--num-classes", "0"], ["classes must be", "got 0"]),
        (lambda root: ["--num-classes", "-3"], ["got -3"]),
        (lambda root: ["--time-budget", "0"], ["time_budget must be a positive number of seconds"]),
        (lambda root: ["--epochs", "0"], ["epochs must be a positive integer"]),
        (lambda root: ["--val-fraction", "1.5"], ["--val-fraction"]),
        (lambda root: ["--val-images", str(root / "img")], ["--val-masks"]),
        (lambda root: ["--images", str(root / "nothing")], ["nothing does not exist"]),
        (lambda root: ["--images", str(root / "empty")], ["holds no images"]),
        (
            lambda root: ((root / "img" / "s9.png").write_bytes((root / "img" / "s0.png").read_bytes()), [])[-1],
            ["no mask", "s9"],
        ),
        (
            lambda root: (save(root / "msk" / "s1.png", np.full((32, 32), 3, np.uint8)), ["--num-classes", "2"])[-1],
            ["3 in s1.png"],
        ),
        (
            lambda root: (save(root / "msk" / "s1.png", np.zeros((30, 32), np.uint8)), [])[-1],
            ["s1.png is 32x32", "30x32"],
        ),
        (
            lambda root: ((root / "img" / "s2.png").write_bytes(b"\x89PNG\r\n\x1a\n broken"), [])[-1],
            ["s2.png is not a readable image"],
        ),
        (
            lambda root: ((root / "img" / "s0.png").write_bytes((root / "img" / "s0.png").read_bytes()[:100]), [])[-1],
            ["s0.png is not a readable image"],
        ),
        (lambda root: ((root / "out").write_text("a file"), [])[-1], ["is a file"]),
        (lambda root: ["--num-classes", "two"], ["invalid int value"]),
    ],
)
def test_train_bad_inputs_stop_before_training(tmp_path, capsys, monkeypatch, change, phrases):

    def must_not_train(*args, **kwargs):
        raise AssertionError("training started despite bad input")

    # the real train_segmenter: it checks what the package checks (the time budget, the epochs)
    monkeypatch.setattr(keras.Model, "fit", must_not_train)
    images, masks = make_folders(tmp_path)
    (tmp_path / "empty").mkdir()
    argv = ["train", "--images", images, "--masks", masks, "--num-classes", "2", "--out", tmp_path / "out"]
    extra = change(tmp_path) or []
    argv += extra  # argparse keeps the last value of a repeated option
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, *phrases)


def test_a_single_image_cannot_be_split(tmp_path, capsys, fake_engine):
    images, masks = make_folders(tmp_path, count=1)
    code, _, err = run(capsys, *train_argv(images, masks, tmp_path / "o"))
    assert_one_line_error(code, err, "only 1 image", "--val-images")
    assert "images" not in fake_engine


# ---- the paper's options: --padding valid, --elastic, --weight-map ----------------------


def test_train_padding_valid_passes_a_valid_recipe(tmp_path, capsys, fake_engine):
    images, masks = make_folders(tmp_path, count=3)
    code, stdout, err = run(
        capsys, *train_argv(images, masks, tmp_path / "run", "--padding", "valid", "--crop-size", 200)
    )
    assert code == 0, err
    recipe = fake_engine["recipe"]
    assert recipe.padding == "valid" and fake_engine["crop_size"] == 200
    assert "rounded up to 204" in stdout and "centre 20x20" in stdout  # depth 4: 204 in, 20 out
    assert json.loads((tmp_path / "run" / "run.json").read_text())["recipe"]["padding"] == "valid"
    # the default is the course's 'same', and its augmentation and loss are left alone
    code, stdout, err = run(capsys, *train_argv(images, masks, tmp_path / "run2"))
    assert code == 0, err
    assert fake_engine["recipe"].padding == "same" and fake_engine["weights"] is None
    assert fake_engine["recipe"] == cli_recipe("course")


def cli_recipe(name):
    from unet_course.training import RECIPES

    return RECIPES[name]


def test_train_padding_valid_with_a_crop_too_small_stops_before_training(tmp_path, capsys, monkeypatch):
    import unet_course.training as training

    monkeypatch.setattr(training, "train_segmenter", lambda *a, **k: pytest.fail("training started"))
    images, masks = make_folders(tmp_path, count=3)
    code, _, err = run(capsys, *train_argv(images, masks, tmp_path / "run", "--padding", "valid"))
    assert_one_line_error(
        code, err, "--padding valid", "crop_size=128 is too small", "at least 188", "crop_size >= 188"
    )
    code, _, err = run(capsys, *train_argv(images, masks, tmp_path / "run", "--padding", "full"))
    assert_one_line_error(code, err, "--padding", "invalid choice")


def test_train_elastic_turns_on_the_elastic_deformation(tmp_path, capsys, fake_engine):
    import dataclasses

    images, masks = make_folders(tmp_path, count=3)
    code, _, err = run(capsys, *train_argv(images, masks, tmp_path / "run", "--elastic"))
    assert code == 0, err
    recipe, course = fake_engine["recipe"], cli_recipe("course")
    assert recipe.augment.elastic and not course.augment.elastic
    assert recipe.augment == dataclasses.replace(course.augment, elastic=True)  # only that changed
    assert recipe == course.replace(augment=recipe.augment)


def test_train_weight_map_computes_the_paper_weights_and_switches_to_cross_entropy(tmp_path, capsys, fake_engine):
    from unet_course.data.weight_map import unet_weight_map

    images, masks = make_folders(tmp_path, count=4, mask_scale=255)
    code, stdout, err = run(capsys, *train_argv(images, masks, tmp_path / "run", "--weight-map"))
    assert code == 0, err
    assert fake_engine["recipe"].loss == "ce" and cli_recipe("course").loss == "ce_dice"
    assert "loss is cross-entropy ('ce') instead of the recipe's 'ce_dice'" in stdout
    assert "weight map (w0=10, sigma=5, objects: class 1) computed for 3 training masks" in stdout
    weights = fake_engine["weights"]
    assert len(weights) == len(fake_engine["masks"]) == 3
    for mask, weight in zip(fake_engine["masks"], weights):
        assert weight.shape == mask.shape and weight.dtype == np.float32
        np.testing.assert_allclose(weight, unet_weight_map(mask, w0=10, sigma=5, foreground=1, num_classes=2))
    assert any(w.max() > 3 for w in weights)  # the border term between touching objects is there
    assert json.loads((tmp_path / "run" / "run.json").read_text())["weight_map"] is True


# ---- the real engine, end to end ------------------------------------------------------


@pytest.mark.usefixtures("eager")
def test_train_evaluate_predict_end_to_end(tmp_path, capsys):
    pytest.importorskip("unet_course.training")
    images, masks = make_folders(tmp_path, count=4, mask_scale=255)
    out = tmp_path / "run"
    code, stdout, err = run(capsys, *train_argv(images, masks, out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(train_command.TRAIN_OUTPUTS)
    assert "epoch" in (out / "history.csv").read_text().splitlines()[0]
    code, stdout, err = run(capsys, *evaluate_argv(out / "model.keras", images, masks, "--json", tmp_path / "r.json"))
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["num_images"] == 4 and 0 <= report["mean_iou"] <= 1
    code, stdout, err = run(
        capsys, "predict", "--model", out / "model.keras", "--images", images, "--out", tmp_path / "pred"
    )
    assert code == 0, err
    assert np.asarray(Image.open(tmp_path / "pred" / "s3.png")).shape == (32, 32)
    # the metrics of the saved model on its held-out image equal evaluate's row for that image
    metrics = json.loads((out / "metrics.json").read_text())
    held = metrics["per_image"][0]
    row = next(r for r in report["per_image"] if r["image"] == held["image"])
    assert row["pixel_accuracy"] == pytest.approx(held["pixel_accuracy"])


# ---- a pretrained encoder: --encoder, --encoder-weights, --freeze-encoder ----------------


def test_encoder_choices_are_the_packages():
    from unet_course.models import ENCODERS

    assert train_command.ENCODERS == tuple(ENCODERS)


@pytest.fixture(scope="module")
def mobilenet_weights(tmp_path_factory):
    from unet_course.models import build_encoder

    path = tmp_path_factory.mktemp("weights") / "mobilenetv2.weights.h5"
    build_encoder("mobilenetv2", (64, 64, 3)).save_weights(path)
    return path


def test_train_encoder_options_make_a_backbone_recipe(tmp_path, capsys, fake_engine, mobilenet_weights):
    images, masks = make_folders(tmp_path, count=3)
    argv = train_argv(images, masks, tmp_path / "run", "--encoder", "vgg16", "--encoder-weights", "hed")
    code, stdout, err = run(capsys, *argv, "--freeze-encoder")
    assert code == 0, err
    recipe, course = fake_engine["recipe"], cli_recipe("course")
    assert (recipe.encoder, recipe.encoder_weights, recipe.freeze_encoder, recipe.normalize) == (
        "vgg16",
        "hed",
        True,
        False,
    )
    assert recipe == course.replace(encoder="vgg16", encoder_weights="hed", freeze_encoder=True, normalize=False)
    assert "HED's VGG16 weights, frozen" in stdout and "normalize=False" in stdout
    saved = json.loads((tmp_path / "run" / "run.json").read_text())["recipe"]
    assert (saved["encoder"], saved["encoder_weights"], saved["freeze_encoder"]) == ("vgg16", "hed", True)
    # a weights file, fine-tuned; and no --encoder-weights: random weights
    code, stdout, err = run(
        capsys,
        *train_argv(
            images, masks, tmp_path / "run2", "--encoder", "mobilenetv2", "--encoder-weights", mobilenet_weights
        ),
    )
    assert code == 0, err
    assert fake_engine["recipe"].encoder_weights == str(mobilenet_weights) and not fake_engine["recipe"].freeze_encoder
    assert "the weights in mobilenetv2.weights.h5" in stdout
    code, stdout, err = run(capsys, *train_argv(images, masks, tmp_path / "run3", "--encoder", "resnet50"))
    assert code == 0, err
    assert fake_engine["recipe"].encoder == "resnet50" and fake_engine["recipe"].encoder_weights is None
    assert "random weights" in stdout


@pytest.mark.parametrize(
    "extra, phrases",
    [
        (["--encoder-weights", "hed"], ["--encoder-weights hed", "encoder_weights='hed' needs an encoder"]),
        (["--freeze-encoder"], ["--freeze-encoder: freeze_encoder=True needs an encoder"]),
        (["--encoder", "resnet50", "--encoder-weights", "hed"], ["VGG16 trunk only", "encoder='vgg16'"]),
        (
            ["--encoder", "vgg16", "--encoder-weights", "missing.weights.h5"],
            ["--encoder-weights missing.weights.h5", "there is no file", "missing.weights.h5"],
        ),
        (["--encoder", "vgg16", "--encoder-weights", "NOTES"], ["is not a weights file"]),
        (
            ["--encoder", "vgg16", "--crop-size", "100"],
            ["--crop-size 100", "crop_size=100 is not divisible by 32", "96 or 128"],
        ),
        (["--encoder", "vgg16", "--padding", "valid"], ["--padding valid", "padding='valid' does not go with"]),
        (["--encoder", "vgg61"], ["--encoder", "invalid choice", "'vgg16'"]),
    ],
)
def test_train_encoder_bad_inputs_stop_before_training(tmp_path, capsys, monkeypatch, extra, phrases):
    import unet_course.training as training

    monkeypatch.setattr(training, "train_segmenter", lambda *a, **k: pytest.fail("training started"))
    images, masks = make_folders(tmp_path, count=3)
    (tmp_path / "notes.txt").write_text("not weights")
    extra = [str(tmp_path / "notes.txt") if e == "NOTES" else e for e in extra]
    code, _, err = run(capsys, *train_argv(images, masks, tmp_path / "run", *extra))
    assert_one_line_error(code, err, *phrases)


def test_train_imagenet_offline_is_one_line_that_says_where_the_file_goes(tmp_path, capsys, monkeypatch):
    from keras.src.utils import file_utils

    def no_network(fname, origin=None, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "get_file", no_network)
    images, masks = make_folders(tmp_path, count=3, size=(64, 64))
    argv = train_argv(images, masks, tmp_path / "run", "--encoder", "mobilenetv2", "--encoder-weights", "imagenet")
    code, _, err = run(capsys, *argv)
    assert_one_line_error(
        code, err, "Could not load the ImageNet weights of MobileNetV2", "place the file", "name resolution"
    )


@pytest.mark.usefixtures("eager")
def test_train_evaluate_predict_with_an_encoder_end_to_end(tmp_path, capsys, mobilenet_weights):
    images, masks = make_folders(tmp_path, count=4, size=(64, 64), extra_size=(70, 75), mask_scale=255)
    out = tmp_path / "run"
    argv = train_argv(images, masks, out, "--encoder", "mobilenetv2", "--encoder-weights", mobilenet_weights)
    code, stdout, err = run(capsys, *argv, "--crop-size", "64", "--batch-size", "2")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(train_command.TRAIN_OUTPUTS)
    assert json.loads((out / "run.json").read_text())["recipe"]["encoder"] == "mobilenetv2"
    code, _, err = run(capsys, *evaluate_argv(out / "model.keras", images, masks, "--json", tmp_path / "r.json"))
    assert code == 0, err
    assert json.loads((tmp_path / "r.json").read_text())["num_pixels"] == 3 * 64 * 64 + 70 * 75
    code, _, err = run(
        capsys, "predict", "--model", out / "model.keras", "--images", images, "--out", tmp_path / "pred"
    )
    assert code == 0, err
    assert np.asarray(Image.open(tmp_path / "pred" / "s3.png")).shape == (70, 75)  # padded to 96 inside, cropped back

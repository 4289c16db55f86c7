"""unet-course train / evaluate / predict on tiny folders: outputs, numbers, and every bad input
as one line on stderr with a non-zero exit (never a traceback)."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from unet_course import cli
from unet_course import metrics as M
from unet_course.models import build_unet


def save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def make_folders(root, count=4, size=(32, 32), extra_size=None, mask_scale=1, channels=1):
    rng = np.random.default_rng(0)
    for i in range(count):
        h, w = extra_size if (extra_size and i == count - 1) else size
        image = (rng.random((h, w)) * 255).astype(np.uint8)
        save(root / "img" / f"s{i}.png", np.stack([image] * 3, -1) if channels == 3 else image)
        save(root / "msk" / f"s{i}.png", ((image > 128) * mask_scale).astype(np.uint8))
    return root / "img", root / "msk"


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    build_unet((None, None, 1), 2, depth=2, base_filters=4).save(path)
    return path


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *phrases):
    assert code != 0
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1, err
    assert lines[0].startswith("unet-course") and "error:" in lines[0] and "Traceback" not in err
    for phrase in phrases:
        assert phrase in lines[0], lines[0]


# ---- evaluate and predict ------------------------------------------------------------


def test_predict_writes_class_ids_at_each_inputs_size(tmp_path, capsys, model_file):
    images, _ = make_folders(tmp_path, count=3, extra_size=(37, 53))
    code, out, err = run(
        capsys, "predict", "--model", model_file, "--images", images, "--out", tmp_path / "pred", "--probabilities"
    )
    assert code == 0, err
    written = sorted(p.name for p in (tmp_path / "pred").iterdir())
    assert written == ["s0.npy", "s0.png", "s1.npy", "s1.png", "s2.npy", "s2.png"]
    labels = np.asarray(Image.open(tmp_path / "pred" / "s2.png"))
    probabilities = np.load(tmp_path / "pred" / "s2.npy")
    assert labels.shape == (37, 53) and probabilities.shape == (37, 53, 2) and labels.dtype == np.uint8
    np.testing.assert_array_equal(labels, probabilities.argmax(-1))
    from unet_course.data.io import read_image
    from unet_course.inference import predict

    model = keras.models.load_model(model_file)
    np.testing.assert_array_equal(labels, predict(model, read_image(images / "s2.png")))
    # a second run into the same folder is refused without --overwrite, accepted with it
    code, _, err = run(capsys, "predict", "--model", model_file, "--images", images, "--out", tmp_path / "pred")
    assert_one_line_error(code, err, "not empty", "--overwrite")
    code, _, err = run(
        capsys, "predict", "--model", model_file, "--images", images, "--out", tmp_path / "pred", "--overwrite"
    )
    assert code == 0, err


def test_evaluate_numbers_equal_the_metrics_on_the_predicted_masks(tmp_path, capsys, model_file):
    images, masks = make_folders(tmp_path, count=3, extra_size=(20, 27), mask_scale=255)
    code, out, err = run(capsys, "predict", "--model", model_file, "--images", images, "--out", tmp_path / "pred")
    assert code == 0, err
    code, out, err = run(
        capsys,
        "evaluate",
        "--model",
        model_file,
        "--images",
        images,
        "--masks",
        masks,
        "--json",
        tmp_path / "report.json",
        "--csv",
        tmp_path / "report.csv",
    )
    assert code == 0, err
    assert "255 became class 1" in out and "pixel accuracy" in out and "mean IoU" in out
    report = json.loads((tmp_path / "report.json").read_text())
    truth = [(np.asarray(Image.open(masks / f"s{i}.png")) > 0).astype(int) for i in range(3)]
    predicted = [np.asarray(Image.open(tmp_path / "pred" / f"s{i}.png")).astype(int) for i in range(3)]
    t, p = np.concatenate([x.ravel() for x in truth]), np.concatenate([x.ravel() for x in predicted])
    assert report["pixel_accuracy"] == pytest.approx(M.pixel_accuracy(t, p))
    np.testing.assert_allclose(list(report["per_class_iou"].values()), M.per_class_iou(t, p, 2))
    np.testing.assert_allclose(list(report["dice"].values()), M.per_class_dice(t, p, 2))
    assert [row["image"] for row in report["per_image"]] == ["s0", "s1", "s2"]
    assert report["per_image"][2]["pixel_accuracy"] == pytest.approx(M.pixel_accuracy(truth[2], predicted[2]))
    assert f"{report['mean_iou']:.4f}" in out
    assert (tmp_path / "report.csv").read_text().splitlines()[0].startswith("image,pixels,pixel_accuracy")


def test_evaluate_with_a_void_label(tmp_path, capsys, model_file):
    images, masks = make_folders(tmp_path, count=2)
    void = np.asarray(Image.open(masks / "s0.png")).copy()
    void[:8] = 255
    save(masks / "s0.png", void)
    code, out, err = run(capsys, "evaluate", "--model", model_file, "--images", images, "--masks", masks)
    assert_one_line_error(code, err, "255 in s0.png")  # 0, 1 and 255 together: not a 0/255 mask
    code, out, err = run(
        capsys,
        "evaluate",
        "--model",
        model_file,
        "--images",
        images,
        "--masks",
        masks,
        "--ignore-index",
        255,
        "--json",
        tmp_path / "r.json",
    )
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["num_pixels"] == 2 * 32 * 32 - 8 * 32 and report["ignore_index"] == 255


# ---- bad input: one line, non-zero exit -----------------------------------------------


def test_bad_inputs_of_evaluate_and_predict(tmp_path, capsys, model_file):
    images, masks = make_folders(tmp_path)
    code, _, err = run(capsys, "evaluate", "--model", tmp_path / "nope.keras", "--images", images, "--masks", masks)
    assert_one_line_error(code, err, "nope.keras does not exist")
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    code, _, err = run(
        capsys, "predict", "--model", tmp_path / "broken.keras", "--images", images, "--out", tmp_path / "o"
    )
    assert_one_line_error(code, err, "cannot load the model", "broken.keras")
    rgb, _ = make_folders(tmp_path / "rgb", channels=3)
    code, _, err = run(capsys, "predict", "--model", model_file, "--images", rgb, "--out", tmp_path / "o2")
    assert_one_line_error(code, err, "expects grey images", "s0 has 3")
    code, _, err = run(capsys, "evaluate", "--model", model_file, "--images", tmp_path / "missing", "--masks", masks)
    assert_one_line_error(code, err, "missing does not exist")
    code, _, err = run(capsys, "predict", "--model", model_file, "--out", tmp_path / "o3")
    assert_one_line_error(code, err, "--images")  # argparse: a required option, also one line


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
    code, stdout, err = run(
        capsys, "train", "--images", images, "--masks", masks, "--num-classes", 2, "--epochs", 1, "--out", out
    )
    assert code == 0, err
    assert "255 became class 1" in stdout
    assert "holding out 1 of 5 images for validation:" in stdout
    assert len(fake_engine["images"]) == 4 and len(fake_engine["val_images"]) == 1
    assert fake_engine["epochs"] == 1 and fake_engine["time_budget"] is None and fake_engine["out_dir"] == out
    assert all(set(np.unique(m)) <= {0, 1} for m in fake_engine["masks"])
    assert sorted(p.name for p in out.iterdir()) == sorted(cli.TRAIN_OUTPUTS)
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
    code, _, err = run(
        capsys, "train", "--images", images, "--masks", masks, "--num-classes", 2, "--epochs", 1, "--out", out
    )
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
    code, stdout, err = run(
        capsys,
        "train",
        "--images",
        images,
        "--masks",
        masks,
        "--num-classes",
        2,
        "--epochs",
        5,
        "--out",
        tmp_path / "run",
    )
    assert code == 130
    assert "keeping the best model" in err and "Traceback" not in err
    assert (tmp_path / "run" / "metrics.json").exists()
    assert json.loads((tmp_path / "run" / "run.json").read_text())["stopped_by"] == "interrupted"


@pytest.mark.parametrize(
    "change, phrases",
    [
        (lambda root: ["--num-classes", "0"], ["--num-classes must be at least 2", "got 0"]),
        (lambda root: ["--num-classes", "-3"], ["got -3"]),
        (lambda root: ["--time-budget", "0"], ["--time-budget must be positive"]),
        (lambda root: ["--epochs", "0"], ["--epochs must be positive"]),
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
    import unet_course.training as training

    def must_not_train(*args, **kwargs):
        raise AssertionError("training started despite bad input")

    monkeypatch.setattr(training, "train_segmenter", must_not_train)
    images, masks = make_folders(tmp_path)
    (tmp_path / "empty").mkdir()
    argv = ["train", "--images", images, "--masks", masks, "--num-classes", "2", "--out", tmp_path / "out"]
    extra = change(tmp_path) or []
    argv += extra  # argparse keeps the last value of a repeated option
    code, _, err = run(capsys, *argv)
    assert_one_line_error(code, err, *phrases)


def test_a_single_image_cannot_be_split(tmp_path, capsys, fake_engine):
    images, masks = make_folders(tmp_path, count=1)
    code, _, err = run(
        capsys,
        "train",
        "--images",
        images,
        "--masks",
        masks,
        "--num-classes",
        2,
        "--epochs",
        1,
        "--out",
        tmp_path / "o",
    )
    assert_one_line_error(code, err, "only 1 image", "--val-images")
    assert "images" not in fake_engine


# ---- the paper's options: --padding valid, --elastic, --weight-map ----------------------


def train_argv(images, masks, out, *extra):
    return ["train", "--images", images, "--masks", masks, "--num-classes", 2, "--epochs", 1, "--out", out, *extra]


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
    assert_one_line_error(code, err, "--padding valid", "crop size 128", "at least 188", "--crop-size 188")
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


@pytest.fixture(scope="module")
def valid_model_file(tmp_path_factory):
    keras.utils.set_random_seed(1)
    path = tmp_path_factory.mktemp("valid") / "model.keras"
    build_unet((52, 52, 1), 2, depth=2, base_filters=4, padding="valid").save(path)  # 52 in, 12 out
    return path


def test_evaluate_and_predict_a_valid_model_in_overlap_tiles(tmp_path, capsys, valid_model_file):
    from unet_course.data.io import read_image
    from unet_course.inference import predict

    images, masks = make_folders(tmp_path, count=3, extra_size=(37, 53))
    code, _, err = run(capsys, "predict", "--model", valid_model_file, "--images", images, "--out", tmp_path / "pred")
    assert code == 0, err
    model = keras.models.load_model(valid_model_file)
    for stem, size in (("s0", (32, 32)), ("s2", (37, 53))):
        labels = np.asarray(Image.open(tmp_path / "pred" / f"{stem}.png"))
        assert labels.shape == size
        np.testing.assert_array_equal(labels, predict(model, read_image(images / f"{stem}.png")))
    code, out, err = run(
        capsys,
        "evaluate",
        "--model",
        valid_model_file,
        "--images",
        images,
        "--masks",
        masks,
        "--json",
        tmp_path / "r.json",
    )
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["num_images"] == 3 and report["num_pixels"] == 2 * 32 * 32 + 37 * 53
    predicted = np.asarray(Image.open(tmp_path / "pred" / "s2.png")).astype(int)
    truth = np.asarray(Image.open(masks / "s2.png")).astype(int)
    assert report["per_image"][2]["pixel_accuracy"] == pytest.approx(M.pixel_accuracy(truth, predicted))
    code, _, err = run(
        capsys, "predict", "--model", valid_model_file, "--images", images, "--out", tmp_path / "p2", "--tile-size", 64
    )
    assert_one_line_error(code, err, "tile_size=64 does not apply", "Leave tile_size out")


# ---- the real engine, end to end ------------------------------------------------------


@pytest.mark.usefixtures("eager")
def test_train_evaluate_predict_end_to_end(tmp_path, capsys):
    pytest.importorskip("unet_course.training")
    images, masks = make_folders(tmp_path, count=4, mask_scale=255)
    out = tmp_path / "run"
    code, stdout, err = run(
        capsys, "train", "--images", images, "--masks", masks, "--num-classes", 2, "--epochs", 1, "--out", out
    )
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(cli.TRAIN_OUTPUTS)
    assert "epoch" in (out / "history.csv").read_text().splitlines()[0]
    code, stdout, err = run(
        capsys,
        "evaluate",
        "--model",
        out / "model.keras",
        "--images",
        images,
        "--masks",
        masks,
        "--json",
        tmp_path / "r.json",
    )
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

    assert cli.ENCODERS == tuple(ENCODERS)


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
        (["--encoder-weights", "hed"], ["--encoder-weights needs --encoder", "vgg16, resnet50"]),
        (["--freeze-encoder"], ["--freeze-encoder needs --encoder"]),
        (["--encoder", "resnet50", "--encoder-weights", "hed"], ["VGG16 trunk only", "encoder='vgg16'"]),
        (
            ["--encoder", "vgg16", "--encoder-weights", "missing.weights.h5"],
            ["missing.weights.h5: there is no such file"],
        ),
        (["--encoder", "vgg16", "--encoder-weights", "NOTES"], ["is not a weights file"]),
        (
            ["--encoder", "vgg16", "--crop-size", "100"],
            ["--crop-size 100 is not divisible by 32", "--crop-size 96 or 128"],
        ),
        (["--encoder", "vgg16", "--padding", "valid"], ["--padding valid does not go with --encoder"]),
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
    assert sorted(p.name for p in out.iterdir()) == sorted(cli.TRAIN_OUTPUTS)
    assert json.loads((out / "run.json").read_text())["recipe"]["encoder"] == "mobilenetv2"
    code, _, err = run(
        capsys,
        "evaluate",
        "--model",
        out / "model.keras",
        "--images",
        images,
        "--masks",
        masks,
        "--json",
        tmp_path / "r.json",
    )
    assert code == 0, err
    assert json.loads((tmp_path / "r.json").read_text())["num_pixels"] == 3 * 64 * 64 + 70 * 75
    code, _, err = run(
        capsys, "predict", "--model", out / "model.keras", "--images", images, "--out", tmp_path / "pred"
    )
    assert code == 0, err
    assert np.asarray(Image.open(tmp_path / "pred" / "s3.png")).shape == (70, 75)  # padded to 96 inside, cropped back


def test_a_vgg16_model_loads_in_a_fresh_process(tmp_path):
    """The command registers the backbone's layer (ReverseChannels) itself: a new process has no other import."""
    import subprocess
    import sys

    from unet_course.models import build_backbone_unet

    keras.utils.set_random_seed(0)
    path = tmp_path / "vgg16.keras"
    build_backbone_unet((None, None, 1), 2, encoder="vgg16", base_filters=2).save(path)
    images, _ = make_folders(tmp_path, count=1)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "unet_course.cli",
            "predict",
            "--model",
            str(path),
            "--images",
            str(images),
            "--out",
            str(tmp_path / "p"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert np.asarray(Image.open(tmp_path / "p" / "s0.png")).shape == (32, 32)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "--devices", "2"], "0"),
        (["train", "--devices=4"], "0"),
        (["train", "--devices", "1"], None),
        (["train"], None),
    ],
)
def test_train_on_several_devices_turns_onednn_off_before_tensorflow_starts(argv, expected):
    # in a fresh process: here TensorFlow is imported already, and the switch must come before it
    import subprocess
    import sys

    code = (
        "import os, sys; os.environ.pop('TF_ENABLE_ONEDNN_OPTS', None)\n"
        "from unet_course.cli import _without_onednn_for_devices\n"
        "assert 'tensorflow' not in sys.modules\n"
        f"_without_onednn_for_devices({argv!r}); print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(expected)

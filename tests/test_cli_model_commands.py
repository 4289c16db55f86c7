"""unet-course evaluate and predict on tiny folders: outputs, numbers, bad inputs as one line, quiet logs."""

import json
import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from tests.cli_helpers import assert_one_line_error, evaluate_argv, fresh_python, make_folders, run, save
from unet_course import metrics as M
from unet_course.models import build_unet


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    build_unet((None, None, 1), 2, depth=2, base_filters=4).save(path)
    return path


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
        *evaluate_argv(model_file, images, masks, "--json", tmp_path / "report.json", "--csv", tmp_path / "report.csv"),
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
    code, out, err = run(capsys, *evaluate_argv(model_file, images, masks))
    assert_one_line_error(code, err, "255 in s0.png")  # 0, 1 and 255 together: not a 0/255 mask
    code, out, err = run(
        capsys, *evaluate_argv(model_file, images, masks, "--ignore-index", 255, "--json", tmp_path / "r.json")
    )
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["num_pixels"] == 2 * 32 * 32 - 8 * 32 and report["ignore_index"] == 255


# ---- bad input: one line, non-zero exit -----------------------------------------------


def test_bad_inputs_of_evaluate_and_predict(tmp_path, capsys, model_file):
    images, masks = make_folders(tmp_path)
    code, _, err = run(capsys, *evaluate_argv(tmp_path / "nope.keras", images, masks))
    assert_one_line_error(code, err, "cannot load the model", "No model file at", "nope.keras")
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    code, _, err = run(
        capsys, "predict", "--model", tmp_path / "broken.keras", "--images", images, "--out", tmp_path / "o"
    )
    assert_one_line_error(code, err, "cannot load the model", "broken.keras")
    rgb, _ = make_folders(tmp_path / "rgb", channels=3)
    code, _, err = run(capsys, "predict", "--model", model_file, "--images", rgb, "--out", tmp_path / "o2")
    assert_one_line_error(code, err, "expects grey images", "s0 has 3")
    code, _, err = run(capsys, *evaluate_argv(model_file, tmp_path / "missing", masks))
    assert_one_line_error(code, err, "missing does not exist")
    code, _, err = run(capsys, "predict", "--model", model_file, "--out", tmp_path / "o3")
    assert_one_line_error(code, err, "--images")  # argparse: a required option, also one line


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
    code, out, err = run(capsys, *evaluate_argv(valid_model_file, images, masks, "--json", tmp_path / "r.json"))
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


def test_a_vgg16_model_loads_in_a_fresh_process(tmp_path):
    """The command registers the backbone's layer (ReverseChannels) itself: a new process has no other import."""

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


# ---- what the command prints: no TensorFlow C++ log lines unless --verbose -----------------

#: TensorFlow's C++ start-up log, as it shows on a machine without a GPU (absl's format: "E0000 00:00:...").
NATIVE_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d|absl::InitializeLog|oneDNN|cuInit|cuda drivers", re.M)


def _command(*argv):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    command = [sys.executable, "-m", "unet_course.cli", *map(str, argv)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(env, UNET_COURSE_FAST="1"))


def test_train_and_predict_print_no_tensorflow_log_lines(tmp_path):
    images, masks = make_folders(tmp_path, count=3)
    out = tmp_path / "run"
    done = _command("train", "--images", images, "--masks", masks, "--num-classes", 2, "--epochs", 1, "--out", out)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not NATIVE_LINE.search(done.stderr), done.stderr[-2000:]
    done = _command("predict", "--model", out / "model.keras", "--images", images, "--out", tmp_path / "p")
    assert done.returncode == 0, done.stderr[-2000:]
    assert not NATIVE_LINE.search(done.stderr), done.stderr[-2000:]
    assert done.stdout.strip() == f"wrote 3 class-id PNG file(s) to {tmp_path / 'p'}"


@pytest.mark.parametrize(("verbose", "level", "imported"), [(True, "0", False), (False, "2", True)])
def test_verbose_sets_tensorflows_log_level_back_before_it_starts(verbose, level, imported):
    # in a fresh process: here TensorFlow is imported already, and the level is read when it starts
    code = (
        "import os, sys; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None)\n"
        "from unet_course.cli.model_commands import start_backend\n"
        "assert 'tensorflow' not in sys.modules\n"
        f"start_backend({verbose}); print(os.environ['TF_CPP_MIN_LOG_LEVEL'], 'keras' in sys.modules)"
    )
    done = fresh_python(code)
    assert done.stdout.split() == [level, str(imported)]
    if not verbose:
        assert not NATIVE_LINE.search(done.stderr), done.stderr

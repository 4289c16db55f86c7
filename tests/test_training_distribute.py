"""Data-parallel training (``unet_course.training.distribute``): one replica and two give the same
training, on TensorFlow (MirroredStrategy) and on JAX (keras.distribution.DataParallel), with the
CPU split into 2 logical devices in a fresh process; batch norm per replica unless synchronized;
the work-around of Keras's extra pass over the data; the learning-rate rules; clear errors.

Tolerance: with the same global batch, seed and learning rate, the losses of one and two replicas
agree to a relative 1e-4 after six steps (float32 sums in another order: about 1e-7 per step
here), and the sums of the trained weights to 1e-5.
"""

import functools
import importlib.util
import json
import os
import subprocess
import sys
import zipfile

import keras
import numpy as np
import pytest

from unet_course.training import distribute
from unet_course.training.distribute import Replicas, data_parallel, scaled_learning_rate

LOSS_RTOL = 1e-4
WEIGHTS_RTOL = 1e-5
TENSORFLOW = keras.backend.backend() == "tensorflow"
HAS_JAX = importlib.util.find_spec("jax") is not None


# --------------------------------------------------------------------------------------
# in this process
# --------------------------------------------------------------------------------------


def test_scaled_learning_rate_rules():
    assert scaled_learning_rate(1e-3, 8, 16) == pytest.approx(2e-3)
    assert scaled_learning_rate(1e-3, 8, 32, rule="sqrt") == pytest.approx(2e-3)
    assert scaled_learning_rate(1e-3, 8, 8) == pytest.approx(1e-3)
    assert scaled_learning_rate(4e-3, 32, 8) == pytest.approx(1e-3)  # a smaller batch: a smaller rate
    with pytest.raises(ValueError, match="rule"):
        scaled_learning_rate(1e-3, 8, 16, rule="cubic")
    with pytest.raises(ValueError, match="learning_rate"):
        scaled_learning_rate(0, 8, 16)
    with pytest.raises(ValueError, match="new_batch_size"):
        scaled_learning_rate(1e-3, 8, 0)


@pytest.mark.parametrize("devices", [None, 1])
def test_one_device_is_plain_keras(devices):
    replicas = data_parallel(devices)
    assert replicas.count == 1 and replicas.engine is None
    assert replicas.engine_name == "one device, no distribution"
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.BatchNormalization()])
    with replicas.scope():
        assert replicas.prepare(model) is model
    assert model.layers[0].synchronized is False
    assert replicas.per_replica_batch(7) == 7
    assert "1 replica(s)" in replicas.describe(8)


def test_the_global_batch_must_split_evenly():
    replicas = Replicas(4, ("cpu:0", "cpu:1", "cpu:2", "cpu:3"), "tensorflow")
    assert replicas.per_replica_batch(8) == 2
    with pytest.raises(
        ValueError, match=r"batch_size=6 does not split evenly over 4 replicas.*multiple of 4 \(4 or 8\)"
    ):
        replicas.per_replica_batch(6)
    with pytest.raises(ValueError, match=r"multiple of 4 \(4\)"):
        replicas.per_replica_batch(3)
    assert "a global batch of 8 is 2 per replica" in replicas.describe(8)


def test_bad_devices_are_refused():
    with pytest.raises(ValueError, match="devices"):
        data_parallel(0)


@pytest.mark.skipif(not TENSORFLOW, reason="TensorFlow's logical devices (the tests run on another backend)")
def test_a_started_tensorflow_cannot_be_split_and_says_what_to_do():
    import tensorflow as tf

    have = len(tf.config.list_logical_devices("CPU"))  # starts TensorFlow if nothing has yet
    with pytest.raises(RuntimeError, match="new process.*replicas_experiment.run_replicas"):
        distribute.use_cpu_devices(have + 7)
    assert distribute.use_cpu_devices(have) == have  # already enough: nothing to change


@functools.lru_cache(maxsize=1)
def _cpu_strategy():
    import tensorflow as tf

    return tf.distribute.MirroredStrategy(["/cpu:0"])  # one per process (see distribute._ENGINES)


def _strategy_replicas(synchronized_batch_norm=True):
    """A MirroredStrategy over this process's one CPU: Keras's strategy code path, without a split."""
    return Replicas(1, ("cpu:0",), "tensorflow", _cpu_strategy(), synchronized_batch_norm)


def _counting_dataset(passes):
    import tensorflow as tf

    x = np.random.default_rng(0).random((8, 4)).astype("float32")
    y = x.sum(1, keepdims=True)

    def generate():
        passes.append(1)  # one call per pass over the data
        yield from zip(x, y)

    spec = (tf.TensorSpec((4,), tf.float32), tf.TensorSpec((1,), tf.float32))
    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(x))).batch(4)


def _small_model():
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3), keras.layers.BatchNormalization(), keras.layers.Dense(1)]
    )


@pytest.mark.skipif(not TENSORFLOW, reason="tf.distribute is TensorFlow's")
def test_prepare_spends_no_pass_over_the_data_under_a_strategy():
    """Keras 3 builds a model under a strategy from a separate pass over the data (keras-team/keras#20394)."""
    replicas = _strategy_replicas()
    passes = []
    with replicas.scope():
        model = replicas.prepare(_small_model())
        model.compile(optimizer="sgd", loss="mse")
    model.fit(_counting_dataset(passes), epochs=1, shuffle=False, verbose=0)
    assert len(passes) == 1, "prepare: fit reads the data once"
    unprepared = []
    with replicas.scope():
        plain = _small_model()
        plain.compile(optimizer="sgd", loss="mse")
    plain.fit(_counting_dataset(unprepared), epochs=1, shuffle=False, verbose=0)
    if len(unprepared) == 1:
        pytest.skip("this Keras makes no extra pass under a strategy any more: Replicas.prepare's work-around can go")
    assert len(unprepared) == 2


@pytest.mark.skipif(not TENSORFLOW, reason="synchronized batch norm is TensorFlow's")
def test_prepare_synchronizes_batch_norm_but_saves_a_model_every_backend_loads(tmp_path):
    replicas = _strategy_replicas()
    with replicas.scope():
        model = replicas.prepare(_small_model())
        model.compile(optimizer="sgd", loss="mse")
    norm = model.layers[1]
    assert norm.synchronized is True  # used when fit traces the training step
    assert norm.get_config()["synchronized"] is False
    model.fit(_counting_dataset([]), epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "model.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "model.keras").read("config.json"))
    saved = [layer for layer in config["config"]["layers"] if layer["class_name"] == "BatchNormalization"]
    assert saved and saved[0]["config"]["synchronized"] is False
    loaded = keras.models.load_model(tmp_path / "model.keras")
    x = np.random.default_rng(1).random((5, 4)).astype("float32")
    np.testing.assert_allclose(loaded.predict_on_batch(x), model.predict_on_batch(x), rtol=1e-6, atol=1e-6)


@pytest.mark.skipif(not TENSORFLOW, reason="tf.distribute is TensorFlow's")
def test_no_batch_norm_is_left_alone_when_not_asked():
    replicas = _strategy_replicas(synchronized_batch_norm=False)
    with replicas.scope():
        model = replicas.prepare(_small_model())
    assert model.layers[1].synchronized is False


# --------------------------------------------------------------------------------------
# the package's switch: train_segmenter(devices=N) and unet-course train --devices N
# --------------------------------------------------------------------------------------

# eagerly (on TensorFlow): this checks the package's wiring of devices=2, not tracing, and saves
# about a third of the run; test_two_replicas_train_like_one_on_tensorflow trains in graph mode
_SEGMENTER = """
import json, sys
from unet_course.training.distribute import use_cpu_devices
use_cpu_devices(2)
import tensorflow as tf
tf.config.run_functions_eagerly(True)
from unet_course.data.synthetic import make_shapes
from unet_course.training import RECIPES, train_segmenter
images, masks = make_shapes(8, 32, seed=0)
# with batch norm (synchronized across the replicas) and in float32: equal to rounding
recipe = RECIPES["course"].replace(base_filters=4, depth=2, crop_size=32, batch_size=4, batch_norm=True, precision=None)
histories = []
for devices in (None, 2):
    result = train_segmenter(images[:6], masks[:6], images[6:], masks[6:], num_classes=4, recipe=recipe, epochs=2,
                             seed=3, verbose=0, devices=devices)
    histories.append(result.history)
print("HISTORIES " + json.dumps(histories))
"""


@pytest.mark.parametrize(
    "backend", ["tensorflow", pytest.param("jax", marks=pytest.mark.skipif(not HAS_JAX, reason="no JAX"))]
)
def test_train_segmenter_on_two_devices_trains_like_one(backend):
    env = dict(os.environ, KERAS_BACKEND=backend, JAX_NUM_CPU_DEVICES="2")
    done = subprocess.run([sys.executable, "-c", _SEGMENTER], env=env, capture_output=True, text=True, timeout=900)
    line = next((x for x in done.stdout.splitlines() if x.startswith("HISTORIES ")), None)
    assert line, done.stderr[-3000:]
    one, two = json.loads(line.split(" ", 1)[1])
    # the real pipeline (random crops, flips, reshuffled every pass), validation, the best epoch
    for key in ("loss", "val_loss", "val_mean_iou"):
        np.testing.assert_allclose(two[key], one[key], rtol=LOSS_RTOL, err_msg=key)


def _unet_course(*args, backend="tensorflow"):
    env = dict(os.environ, KERAS_BACKEND=backend, UNET_COURSE_FAST="1")
    command = [sys.executable, "-c", "from unet_course.cli import main; raise SystemExit(main())", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture
def shapes_folders(tmp_path):
    from PIL import Image

    from unet_course.data.synthetic import make_shapes

    images, masks = make_shapes(6, 32, seed=1)
    for kind, arrays in (("images", (images * 255).astype(np.uint8)), ("masks", masks)):
        (tmp_path / kind).mkdir()
        for i, array in enumerate(arrays):
            Image.fromarray(array).save(tmp_path / kind / f"shape{i}.png")
    return tmp_path


def test_the_train_command_trains_on_two_devices(shapes_folders):
    out = shapes_folders / "run"
    done = _unet_course(
        "train", "--images", str(shapes_folders / "images"), "--masks", str(shapes_folders / "masks"),
        "--num-classes", "4", "--out", str(out), "--epochs", "1", "--crop-size", "32", "--batch-size", "4",
        "--devices", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "--devices 2: 2 replica(s) on cpu:0, cpu:1 (tf.distribute.MirroredStrategy" in done.stdout
    assert "a global batch of 4 is 2 per replica" in done.stdout
    assert json.loads((out / "run.json").read_text())["devices"] == 2
    assert (out / "model.keras").is_file() and (out / "metrics.json").is_file()


def test_the_train_command_says_when_the_batch_does_not_split(shapes_folders):
    done = _unet_course(
        "train", "--images", str(shapes_folders / "images"), "--masks", str(shapes_folders / "masks"),
        "--num-classes", "4", "--out", str(shapes_folders / "run"), "--epochs", "1", "--batch-size", "4",
        "--devices", "3",
    )  # fmt: skip
    assert done.returncode != 0
    assert "--devices 3: batch_size=4 does not split evenly over 3 replicas" in done.stderr + done.stdout

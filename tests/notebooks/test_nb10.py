"""Notebook 10's teaching code agrees with the package and with counts by hand (multiply-adds of
nested models and depthwise convolutions, VGG levels), its training clock recovers each step's loss
and stops on time, and its exercise solutions pass their checkers."""

import math
import time

import keras
import numpy as np
import pytest

from tests.notebook_code import notebook_namespace
from unet_course.analysis.profiling import count_macs, layer_macs
from unet_course.exercises import ex10
from unet_course.models import build_backbone_unet, build_encoder, build_unet

NAMES = [
    "total_macs",
    "conv_levels",
    "describe_level",
    "followed_by_relu",
    "TrainingClock",
    "pick_taps",
    "unfreeze_for_fine_tuning",
    "normalize_tap",
    "caffe_input",
]


@pytest.fixture(scope="module")
def nb():
    return notebook_namespace(
        "10_pretrained_encoders", NAMES, preamble="import math\nimport time\nimport keras\nimport numpy as np\n"
    )


def test_total_macs_equals_the_package_on_a_flat_unet(nb):
    model = build_unet((64, 64, 3), 2, depth=3, base_filters=4)
    assert nb["total_macs"](model) == count_macs(model) > 0


def test_total_macs_counts_depthwise_convolutions_and_nested_models(nb):
    inputs = keras.Input((8, 8, 4))
    inner = keras.Sequential([keras.Input((8, 8, 4)), keras.layers.DepthwiseConv2D(3, padding="same")], name="inner")
    x = inner(inputs)
    outputs = keras.layers.Conv2D(5, 1)(x)
    model = keras.Model(inputs, outputs)
    # depthwise: every output value is a 3x3 window of its own channel; then the 1x1 convolution
    assert nb["total_macs"](model) == 8 * 8 * 4 * 9 + 8 * 8 * 5 * 4
    assert count_macs(model) == 8 * 8 * 5 * 4  # the package's counter does not look inside


def test_total_macs_of_vgg16_is_the_sum_over_its_convolutions_by_hand(nb):
    size, macs, channels = 224, 0, 3
    for block, (count, filters) in enumerate(zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512))):
        side = size // 2**block
        for _ in range(count):
            macs += side * side * 9 * channels * filters
            channels = filters
    assert nb["total_macs"](build_encoder("vgg16", (224, 224, 3))) == macs == 15_346_630_656


def test_total_macs_of_mobilenetv2_is_the_published_300_million(nb):
    macs = nb["total_macs"](build_encoder("mobilenetv2", (224, 224, 3)))
    assert macs == pytest.approx(300e6, rel=0.01)  # Sandler et al. 2018: 300M multiply-adds (with its top, +1.3M)


def test_total_macs_of_a_backbone_unet_is_encoder_plus_decoder(nb):
    model = build_backbone_unet((64, 64, 3), 2, encoder="mobilenetv2", base_filters=4)
    encoder = nb["total_macs"](model.get_layer("encoder"))
    flat = [layer for layer in model.layers if layer.name not in ("encoder", "preprocess")]  # the decoder's
    decoder = sum(layer_macs(layer) for layer in flat)
    assert nb["total_macs"](model) == encoder + decoder
    assert encoder == nb["total_macs"](build_encoder("mobilenetv2", (64, 64, 3)))


def test_conv_levels_of_vgg16_and_of_the_papers_encoder(nb):
    levels, dense = nb["conv_levels"](build_encoder("vgg16", (32, 32, 3)))
    assert [len(convs) for _, convs, _ in levels] == [2, 2, 3, 3, 3] and not dense
    assert [convs[0].filters for _, convs, _ in levels] == [64, 128, 256, 512, 512]
    assert all(pool is not None for _, _, pool in levels)
    assert nb["describe_level"](*levels[2][1:]) == "3 x conv 3x3, 256 ch, same, 2x2 pool"
    paper = build_unet((188, 188, 1), 2, depth=4, base_filters=4, padding="valid")
    encoder = keras.Model(paper.input, paper.get_layer("bottleneck_relu2").output)
    levels, dense = nb["conv_levels"](encoder)
    assert [len(convs) for _, convs, _ in levels] == [2] * 5 and levels[-1][
        2
    ] is None  # no pooling after the bottleneck
    assert [convs[0].filters for _, convs, _ in levels] == [4, 8, 16, 32, 64]
    assert nb["describe_level"](*levels[4][1:]) == "2 x conv 3x3, 64 ch, valid"
    head = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(3)]
    )
    levels, dense = nb["conv_levels"](head)
    assert len(levels) == 1 and [d.units for d in dense] == [3]


def test_followed_by_relu(nb):
    inputs = keras.Input((8, 8, 1))
    a = keras.layers.Conv2D(2, 3, activation="relu", name="a")(inputs)
    b = keras.layers.Conv2D(2, 3, name="b")(a)
    b = keras.layers.ReLU(name="b_relu")(b)
    c = keras.layers.Conv2D(2, 3, name="c")(b)
    c = keras.layers.BatchNormalization(name="c_bn")(c)
    model = keras.Model(inputs, c)
    assert nb["followed_by_relu"](model, model.get_layer("a"))
    assert nb["followed_by_relu"](model, model.get_layer("b"))
    assert not nb["followed_by_relu"](model, model.get_layer("c"))
    unet = build_unet((64, 64, 1), 2, depth=2, base_filters=2)  # the course's: Conv2D, then a ReLU layer
    convs = [layer for layer in unet.layers if isinstance(layer, keras.layers.Conv2D) and layer.name.startswith("enc")]
    assert convs and all(nb["followed_by_relu"](unet, conv) for conv in convs)


def _tiny_fit(clock, batches, epochs, steps, callbacks=()):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")  # the weights never change
    x, y = batches
    model.fit(
        x,
        y,
        batch_size=4,
        epochs=epochs,
        steps_per_epoch=steps,
        shuffle=False,
        callbacks=[clock, *callbacks],
        verbose=0,
    )
    return model


def test_training_clock_recovers_each_steps_loss_across_epochs(nb):
    rng = np.random.default_rng(0)
    x, y = rng.random((12, 3), dtype=np.float32), rng.random((12, 1), dtype=np.float32) * np.arange(12)[:, None]
    clock = nb["TrainingClock"](3600)
    model = _tiny_fit(clock, (x, y), epochs=2, steps=3)
    direct = [float(np.mean((model.predict(x[i : i + 4], verbose=0) - y[i : i + 4]) ** 2)) for i in (0, 4, 8)]
    np.testing.assert_allclose(clock.losses, direct * 2, rtol=1e-4)  # two epochs of the same three batches
    assert len(clock.times) == 6 and clock.graph_seconds == clock.wall_times[0] and clock.times == sorted(clock.times)


def test_training_clock_stops_after_its_cpu_seconds_counted_from_the_first_step(nb):
    class Busy(keras.callbacks.Callback):  # 0.05 s of CPU work after every step
        def on_train_batch_end(self, batch, logs=None):
            start = time.process_time()
            while time.process_time() - start < 0.05:
                pass

    class Sleepy(keras.callbacks.Callback):  # 0.05 s of waiting: wall clock, no CPU
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(0.05)

    rng = np.random.default_rng(1)
    x, y = rng.random((400, 3), dtype=np.float32), rng.random((400, 1), dtype=np.float32)
    clock = nb["TrainingClock"](0.3)
    _tiny_fit(clock, (x, y), epochs=1, steps=100, callbacks=[Busy()])
    assert 2 <= len(clock.times) < 100  # it stopped early
    assert clock.times[-1] - clock.times[0] >= 0.3 > clock.times[-2] - clock.times[0]
    assert math.isfinite(clock.graph_seconds) and clock.graph_seconds == clock.wall_times[0]
    # waiting is not CPU time: with the default clock, sleeping steps do not spend the budget...
    clock = nb["TrainingClock"](0.3)
    _tiny_fit(clock, (x, y), epochs=1, steps=20, callbacks=[Sleepy()])
    assert len(clock.times) == 20 and clock.wall_times[-1] - clock.wall_times[0] > 0.3 * 2
    # ...and with a wall clock they do
    clock = nb["TrainingClock"](0.3, clock=time.perf_counter)
    _tiny_fit(clock, (x, y), epochs=1, steps=100, callbacks=[Sleepy()])
    assert 2 <= len(clock.times) < 100 and clock.times[-1] - clock.times[0] >= 0.3


def test_the_exercise_solutions_pass_their_checkers(nb):
    assert ex10.q1.verdict(nb["pick_taps"]).passed
    assert ex10.q2.verdict(nb["unfreeze_for_fine_tuning"]).passed
    assert ex10.q3.verdict(nb["normalize_tap"]).passed
    assert ex10.q4.verdict(nb["caffe_input"]).passed

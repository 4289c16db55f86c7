"""unet_course.analysis.profiling: parameter, multiply-add and activation counts from shapes; timing."""

import math

import keras
import numpy as np
import pytest
from keras import layers

from unet_course.analysis import profiling
from unet_course.models import build_unet, upsample


def one_layer_model(layer, input_shape=(8, 8, 4)):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, layer(inputs))


def test_count_params_matches_keras():
    model = one_layer_model(layers.Conv2DTranspose(6, 3, strides=2))
    assert profiling.count_params(model) == model.count_params() == 3 * 3 * 4 * 6 + 6


def test_count_params_refuses_unbuilt_layer():
    with pytest.raises(ValueError, match="not built"):
        profiling.count_params(layers.Conv2D(3, 3))


def test_conv2d_macs():
    model = one_layer_model(layers.Conv2D(5, 3, padding="same"))
    assert profiling.count_macs(model) == 8 * 8 * 5 * 3 * 3 * 4
    model = one_layer_model(layers.Conv2D(5, 3, strides=2, padding="valid"))
    assert profiling.count_macs(model) == 3 * 3 * 5 * 3 * 3 * 4  # (8 - 3) // 2 + 1 = 3


def test_transposed_conv_macs_count_scattered_products():
    model = one_layer_model(layers.Conv2DTranspose(5, 2, strides=2))
    assert profiling.count_macs(model) == 8 * 8 * 4 * 2 * 2 * 5
    # with kernel = stride every output value is one dot product over C_in: the same number
    assert profiling.count_macs(model) == 16 * 16 * 5 * 4


def test_upsampling_and_dense_macs():
    assert profiling.count_macs(one_layer_model(layers.UpSampling2D(2, interpolation="nearest"))) == 0
    assert profiling.count_macs(one_layer_model(layers.UpSampling2D(2, interpolation="bilinear"))) == 4 * 16 * 16 * 4
    assert profiling.count_macs(one_layer_model(layers.Dense(3))) == 8 * 8 * 4 * 3


def test_resize_conv_costs_more_than_paper_upconvolution():
    inputs = keras.Input((64, 64, 64))
    transpose = keras.Model(inputs, upsample(inputs, 32, "transpose"))
    bilinear = keras.Model(inputs, upsample(inputs, 32, "bilinear"))
    assert profiling.count_params(transpose) == 8224
    assert profiling.count_params(bilinear) == 18464
    assert profiling.count_macs(transpose) == 33_554_432
    assert profiling.count_macs(bilinear) == 4 * 128 * 128 * 64 + 128 * 128 * 32 * 9 * 64
    assert profiling.activation_bytes(transpose) == 4 * (64 * 64 * 64 + 128 * 128 * 32)
    assert profiling.activation_bytes(bilinear) == 4 * (64 * 64 * 64 + 128 * 128 * 64 + 128 * 128 * 32)


def test_counts_work_on_a_unet_with_concatenations():
    model = build_unet((32, 32, 1), 2, depth=2, base_filters=4)
    assert profiling.count_params(model) == model.count_params()
    conv_macs = sum(
        profiling.layer_macs(layer)
        for layer in model.layers
        if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose))
    )
    assert profiling.count_macs(model) == conv_macs > 0
    assert profiling.activation_bytes(model, batch_size=2) == 2 * profiling.activation_bytes(model)


def test_unknown_size_is_refused():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, layers.Conv2D(2, 3)(inputs))
    with pytest.raises(ValueError, match="fixed input size"):
        profiling.count_macs(model)


def test_time_callable_counts_calls_and_reports_median():
    calls = []
    timing = profiling.time_callable(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and len(timing.times) == 3
    assert "median" in str(timing)


def test_time_callable_measures_what_it_timed():
    import time

    sleeps = iter([0.0, 0.06, 0.02, 0.04])  # one warm-up, then three timed calls of known length
    timing = profiling.time_callable(lambda: time.sleep(next(sleeps)), repeats=3, warmup=1)
    assert len(timing.times) == 3
    assert timing.times[0] >= 0.06 and timing.times[1] >= 0.02 and timing.times[2] >= 0.04
    # best is the shortest run (the 0.02 s one), the median the middle one (0.04 s)
    assert timing.best == timing.times[1] and timing.median == timing.times[2]
    assert 0.02 <= timing.best < 0.04 <= timing.median < 0.06 + 0.05


def test_time_callable_validates():
    with pytest.raises(ValueError, match="callable"):
        profiling.time_callable(42)
    with pytest.raises(ValueError, match="repeats"):
        profiling.time_callable(lambda: None, repeats=0)


def test_profile_returns_all_numbers():
    model = one_layer_model(layers.Conv2D(2, 1))
    result = profiling.profile(model, np.zeros((1, 8, 8, 4), "float32"), repeats=2)
    assert result["parameters"] == 10 and result["macs"] == 8 * 8 * 2 * 4 and result["seconds"] > 0


@pytest.fixture(scope="module")
def small():
    return build_unet((32, 32, 1), 2, depth=2, base_filters=4)


def test_activation_bytes_counts_every_layer_output(small):
    from unet_course.analysis.profiling import activation_bytes

    values = sum(math.prod(layer.output.shape[1:]) for layer in small.layers)
    assert activation_bytes(small) == 4 * values
    assert activation_bytes(small, batch_size=3) == 12 * values
    assert activation_bytes(small, bytes_per_value=2) == 2 * values
    with pytest.raises(ValueError, match="batch_size"):
        activation_bytes(small, batch_size=0)


def test_activation_bytes_needs_fixed_sizes():
    from unet_course.analysis.profiling import activation_bytes

    model = build_unet((None, None, 1), 2, depth=2, base_filters=4)
    with pytest.raises(ValueError, match="fixed input size"):
        activation_bytes(model)

"""unet_course.analysis.levels: shapes and parameters along the U."""

import keras
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from keras import layers  # noqa: E402

from unet_course.analysis import profiling  # noqa: E402
from unet_course.analysis.levels import costs_per_level, parameters_per_level, unet_levels  # noqa: E402
from unet_course.models import build_unet  # noqa: E402
from unet_course.viz.diagram import draw_unet  # noqa: E402


@pytest.fixture(scope="module")
def small():
    return build_unet((32, 32, 1), 2, depth=2, base_filters=4)


@pytest.fixture(scope="module")
def small_valid():
    return build_unet((60, 60, 1), 2, depth=2, base_filters=4, padding="valid")


def test_levels_same_padding(small):
    levels = unet_levels(small)
    assert levels["depth"] == 2
    assert levels["input"] == (32, 32, 1) and levels["output"] == (32, 32, 2)
    assert levels["encoder"] == [(32, 32, 4), (16, 16, 8)]
    assert levels["pooled"] == [(16, 16, 4), (8, 8, 8)]
    assert levels["bottleneck"] == (8, 8, 16)
    assert levels["decoder"] == [(32, 32, 4), (16, 16, 8)]
    assert levels["skip"] == [("concat", False), ("concat", False)]
    assert levels["upsampling"] == ["up-conv 2×2"] * 2


def test_levels_valid_padding_and_options(small_valid):
    levels = unet_levels(small_valid)
    assert levels["encoder"] == [(56, 56, 4), (24, 24, 8)]
    assert levels["bottleneck"] == (8, 8, 16)
    assert levels["output"] == (20, 20, 2)
    assert all(cropped for _, cropped in levels["skip"])
    other = build_unet(
        (32, 32, 3), 3, depth=2, base_filters=4, upsampling="bilinear", skip="none", batch_norm=True, dropout=0.2
    )
    levels = unet_levels(other)
    assert levels["skip"] == [(None, False), (None, False)]
    assert levels["upsampling"][0].startswith("bilinear")
    assert levels["bottleneck"] == (8, 8, 16)


def test_parameters_per_level_add_up(small):
    counts = parameters_per_level(small)
    assert list(counts) == ["enc1", "enc2", "bottleneck", "dec2", "dec1", "classifier"]
    assert sum(counts.values()) == small.count_params()
    conv = lambda cin, cout, k=3: k * k * cin * cout + cout  # noqa: E731
    assert counts["enc1"] == conv(1, 4) + conv(4, 4)
    assert counts["bottleneck"] == conv(8, 16) + conv(16, 16)
    assert counts["dec2"] == conv(16, 8, 2) + conv(16, 8) + conv(8, 8)
    assert counts["classifier"] == conv(4, 2, 1)


def test_parameters_per_level_of_the_paper():
    counts = parameters_per_level({"input_shape": (572, 572, 1), "num_classes": 2, "padding": "valid"})
    assert counts["bottleneck"] == 14_157_824
    assert sum(counts.values()) == 31_030_658


def test_costs_per_level_add_up_to_the_model_s_counts(small, small_valid):
    for model in (small, small_valid, build_unet((32, 32, 3), 3, depth=2, base_filters=4, upsampling="bilinear")):
        costs = costs_per_level(model)
        assert list(costs) == list(parameters_per_level(model))
        assert {part: c["parameters"] for part, c in costs.items()} == parameters_per_level(model)
        assert sum(c["macs"] for c in costs.values()) == profiling.count_macs(model)
        input_bytes = 4 * int(np.prod(model.input_shape[1:]))
        assert sum(c["activation_bytes"] for c in costs.values()) + input_bytes == profiling.activation_bytes(model)


def test_costs_per_level_count_the_whole_decoder_block(small):
    """dec1 of a 32x32 U-Net with 4 base filters: up-conv 8 -> 4, concat with the 4-channel skip, two 3x3 convs."""
    dec1 = costs_per_level(small)["dec1"]
    pixels = 32 * 32
    assert dec1["parameters"] == (2 * 2 * 8 * 4 + 4) + (9 * 8 * 4 + 4) + (9 * 4 * 4 + 4)
    assert dec1["macs"] == 16 * 16 * 8 * 4 * 4 + pixels * 4 * 9 * 8 + pixels * 4 * 9 * 4
    # outputs: up (4 ch), concat (8), conv1 and relu1 (4 each), conv2 and relu2 (4 each), float32
    assert dec1["activation_bytes"] == 4 * pixels * (4 + 8 + 4 + 4 + 4 + 4)


def test_costs_per_level_refuse_a_layer_outside_the_levels(small):
    extra = keras.Model(small.input, layers.Activation("linear", name="extra")(small.output))
    with pytest.raises(ValueError, match="belongs to no level"):
        costs_per_level(extra)


def test_other_models_are_refused_with_a_message():
    inputs = keras.Input((8, 8, 1))
    plain = keras.Model(inputs, layers.Conv2D(2, 1)(inputs))
    for function in (draw_unet, parameters_per_level, costs_per_level, unet_levels):
        with pytest.raises(ValueError, match="build_unet's layer names"):
            function(plain)
    with pytest.raises(ValueError, match="input_shape"):
        draw_unet({"num_classes": 2})
    with pytest.raises(ValueError, match="Keras model or a dict"):
        draw_unet("unet")


def test_docstring_example():
    import doctest

    from unet_course.analysis import levels

    result = doctest.testmod(levels, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
    plt.close("all")

"""unet_course.analysis.levels and unet_course.viz.diagram: levels, parameters per level, activation memory, the drawing."""

import math

import keras
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from keras import layers  # noqa: E402

from unet_course.models import build_unet  # noqa: E402
from unet_course.analysis.levels import parameters_per_level, unet_levels  # noqa: E402
from unet_course.viz.diagram import draw_unet, plot_parameters_per_level  # noqa: E402


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
    other = build_unet((32, 32, 3), 3, depth=2, base_filters=4, upsampling="bilinear", skip="none", batch_norm=True, dropout=0.2)
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


def test_other_models_are_refused_with_a_message():
    inputs = keras.Input((8, 8, 1))
    plain = keras.Model(inputs, layers.Conv2D(2, 1)(inputs))
    for function in (draw_unet, parameters_per_level, unet_levels):
        with pytest.raises(ValueError, match="build_unet's layer names"):
            function(plain)
    with pytest.raises(ValueError, match="input_shape"):
        draw_unet({"num_classes": 2})
    with pytest.raises(ValueError, match="Keras model or a dict"):
        draw_unet("unet")


def _texts(fig):
    return " ".join(text.get_text() for ax in fig.axes for text in ax.texts)


def test_draw_unet_shows_shapes_and_arrows(small, small_valid):
    fig = draw_unet(small)
    text = _texts(fig)
    for expected in ("enc1\n32×32×4", "bottleneck\n8×8×16", "dec1\n32×32×4", "input 32×32×1", "output 32×32×2", "pool → 16×16", "copy, concat"):
        assert expected in text
    assert len(fig.axes[0].patches) >= 5 + 3 * 2  # 5 boxes, pool/up/skip arrows per level
    plt.close(fig)
    fig = draw_unet({"input_shape": (60, 60, 1), "num_classes": 2, "depth": 2, "base_filters": 4, "padding": "valid"}, title="mine")
    assert "copy, crop, concat" in _texts(fig) and fig.axes[0].get_title() == "mine"
    plt.close(fig)
    fig, ax = plt.subplots()
    assert draw_unet(small_valid, ax=ax) is fig
    plt.close(fig)


def test_plot_parameters_per_level(small):
    fig = plot_parameters_per_level(small)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "parameters (millions)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["level 1", "level 2", "bottleneck"]
    assert len(ax.patches) == 2 * 2 + 1
    plt.close(fig)


def test_docstring_example():
    import doctest

    from unet_course.analysis import levels

    result = doctest.testmod(levels, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
    plt.close("all")

"""Notebook 03's from-scratch code agrees with the package; the receptive-field helper is right."""

import keras
import numpy as np
import pytest
from keras import layers

from tests.notebook_code import notebook_namespace
from unet_course.analysis.receptive_field import model_specs, receptive_field
from unet_course.models import build_unet, conv_block, encoder_block


@pytest.fixture(scope="module")
def nb():
    return notebook_namespace("03_encoder", ["conv_params", "my_conv_block", "my_encoder_block", "vgg_style_encoder"])


def _convs(model):
    return [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]


def _copy_conv_weights(source, target):
    for a, b in zip(_convs(source), _convs(target), strict=True):
        b.set_weights(a.get_weights())


def test_conv_params_formula(nb):
    assert nb["conv_params"](3, 8) == 224
    conv = layers.Conv2D(1024, 3)
    conv.build((None, 8, 8, 512))
    assert nb["conv_params"](512, 1024) == conv.count_params() == 4_719_616


def test_my_conv_block_matches_package(nb):
    inputs = keras.Input((16, 16, 3))
    mine = keras.Model(inputs, nb["my_conv_block"](inputs, 5))
    package = keras.Model(inputs, conv_block(inputs, 5))
    assert mine.output_shape == package.output_shape == (None, 16, 16, 5)
    assert mine.count_params() == package.count_params() == nb["conv_params"](3, 5) + nb["conv_params"](5, 5)
    _copy_conv_weights(package, mine)
    x = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(mine.predict(x, verbose=0), package.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_my_encoder_block_matches_package(nb):
    inputs = keras.Input((16, 16, 2))
    mine = keras.Model(inputs, list(nb["my_encoder_block"](inputs, 4)))
    package = keras.Model(inputs, list(encoder_block(inputs, 4)))
    assert mine.output_shape == package.output_shape == [(None, 16, 16, 4), (None, 8, 8, 4)]
    assert mine.count_params() == package.count_params()
    _copy_conv_weights(package, mine)
    x = np.random.default_rng(1).normal(size=(1, 16, 16, 2)).astype("float32")
    for a, b in zip(mine.predict(x, verbose=0), package.predict(x, verbose=0)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_vgg_style_encoder_is_vgg16_conv_base(nb):
    ours = nb["vgg_style_encoder"]((32, 32, 3), filters=(64, 128, 256, 512, 512), convs_per_level=(2, 2, 3, 3, 3))
    vgg16 = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    assert ours.count_params() == vgg16.count_params() == 14_714_688
    assert [type(layer).__name__ for layer in ours.layers] == [type(layer).__name__ for layer in vgg16.layers]
    assert [layer.output.shape for layer in ours.layers] == [layer.output.shape for layer in vgg16.layers]
    ours.set_weights(vgg16.get_weights())
    x = np.random.default_rng(2).uniform(0, 255, size=(1, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(ours.predict(x, verbose=0), vgg16.predict(x, verbose=0), rtol=1e-4, atol=1e-4)


def test_paper_encoder_counts(nb):
    encoder = nb["vgg_style_encoder"](
        (572, 572, 1), filters=(64, 128, 256, 512, 1024), convs_per_level=(2,) * 5, padding="valid", pool_last=False
    )
    unet = build_unet((572, 572, 1), 2, padding="valid")
    encoder_part = sum(layer.count_params() for layer in unet.layers if layer.name.startswith(("enc", "bottleneck")))
    assert encoder.output_shape == (None, 28, 28, 1024)
    assert encoder.count_params() == encoder_part == 18_842_048
    assert len(_convs(encoder)) == 10


def test_notebook_s_solutions_pass_their_checkers():
    from unet_course.exercises import ex03

    names = ["encoder_sizes", "receptive_field_of", "receptive_field_dilated"]
    ns = notebook_namespace("03_encoder", names)
    for exercise, name in zip((ex03.q1, ex03.q3, ex03.q4), names):
        passed, message = exercise.verdict(ns[name])
        assert passed, f"{name}: {message}"
    assert ns["encoder_sizes"](572, 4) == [568, 280, 136, 64, 28]  # section 5's table, "after 2 convs"


def test_notebook_s_dilated_receptive_field_agrees_with_keras():
    ns = notebook_namespace("03_encoder", ["receptive_field_dilated"])
    inputs = keras.Input((64, 64, 1))
    x = inputs
    for dilation in (1, 2, 4):
        x = layers.Conv2D(1, 3, dilation_rate=dilation, padding="same")(x)
    model = keras.Model(inputs, x)
    from_keras = receptive_field([(k, s) for _, k, s in model_specs(model)])
    assert ns["receptive_field_dilated"]([(3, 1, 1), (3, 1, 2), (3, 1, 4)]) == from_keras == 15

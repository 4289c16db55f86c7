"""unet_course.analysis.transposed_conv and the overlap widget; notebook 04's teaching code agrees with them."""

import keras
import matplotlib
import numpy as np
import pytest
from keras import layers
from tests.notebook_code import notebook_namespace

from unet_course.analysis import transposed_conv
from unet_course.exercises import ex04

matplotlib.use("Agg")

SETTINGS = [(1, 1), (2, 2), (3, 2), (4, 2), (3, 1), (5, 3), (2, 3), (1, 2)]


def test_notebook_solutions_agree_with_package():
    ns = notebook_namespace("04_upsampling", ["transposed_output_size", "transposed_conv2d", "transpose_conv_params"])
    for n, k, s, padding in ex04._SIZE_CASES:
        assert ns["transposed_output_size"](n, k, s, padding) == transposed_conv.transposed_output_size(n, k, s, padding)
    rng = np.random.default_rng(0)
    for k, s in [(3, 2), (2, 2), (4, 2), (3, 1)]:
        x, kernel = rng.normal(size=(4, 3)), rng.normal(size=(k, k))
        np.testing.assert_allclose(ns["transposed_conv2d"](x, kernel, s), transposed_conv.transposed_conv2d(x, kernel, s))
    inputs = keras.Input((8, 8, 6))
    model = keras.Model(inputs, layers.Conv2DTranspose(4, 3, strides=2)(inputs))
    assert ns["transpose_conv_params"](6, 4, 3) == model.count_params()

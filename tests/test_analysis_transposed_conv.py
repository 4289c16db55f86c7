"""unet_course.analysis.transposed_conv: transposed convolution by hand agrees with Keras; overlap maps."""

import keras
import matplotlib
import numpy as np
import pytest
from keras import layers

from unet_course.analysis import transposed_conv

matplotlib.use("Agg")

SETTINGS = [(1, 1), (2, 2), (3, 2), (4, 2), (3, 1), (5, 3), (2, 3), (1, 2)]


@pytest.mark.parametrize("kernel_size, stride", SETTINGS)
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_transposed_conv2d_matches_keras(kernel_size, stride, padding):
    rng = np.random.default_rng(kernel_size * 10 + stride)
    x = rng.normal(size=(5, 4, 3))
    layer = layers.Conv2DTranspose(2, kernel_size, strides=stride, padding=padding, use_bias=False)
    expected = keras.ops.convert_to_numpy(layer(x[None].astype("float32")))[0]
    got = transposed_conv.transposed_conv2d(x, keras.ops.convert_to_numpy(layer.kernel), stride, padding)
    assert got.shape == expected.shape
    assert got.shape[0] == transposed_conv.transposed_output_size(5, kernel_size, stride, padding)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_transposed_conv2d_single_channel_and_errors():
    out = transposed_conv.transposed_conv2d(np.array([[1.0, 10.0], [100.0, 1000.0]]), np.ones((3, 3)), 2)
    assert out.shape == (5, 5) and out[2, 2] == 1111 and out[0, 2] == 11
    with pytest.raises(ValueError, match="input channels"):
        transposed_conv.transposed_conv2d(np.ones((3, 3, 2)), np.ones((3, 3, 1, 4)), 2)
    with pytest.raises(ValueError, match="padding"):
        transposed_conv.transposed_conv2d(np.ones((3, 3)), np.ones((3, 3)), 2, "full")
    with pytest.raises(ValueError, match="stride"):
        transposed_conv.transposed_output_size(4, 3, 0)


@pytest.mark.parametrize("kernel_size, stride", SETTINGS)
def test_overlap_map_matches_conv_transpose_of_ones(kernel_size, stride):
    layer = layers.Conv2DTranspose(1, kernel_size, strides=stride, kernel_initializer="ones", use_bias=False)
    expected = keras.ops.convert_to_numpy(layer(np.ones((1, 5, 5, 1), "float32")))[0, :, :, 0]
    np.testing.assert_array_equal(transposed_conv.overlap_map(kernel_size, stride, 5), expected)


def test_overlap_interior_even_and_uneven():
    assert set(transposed_conv.interior(transposed_conv.overlap_map(2, 2, 5), 2, 2).ravel()) == {1}
    assert set(transposed_conv.interior(transposed_conv.overlap_map(4, 2, 5), 4, 2).ravel()) == {4}
    uneven = transposed_conv.interior(transposed_conv.overlap_map(3, 2, 5), 3, 2)
    assert set(uneven.ravel()) == {1, 2, 4}
    np.testing.assert_allclose(transposed_conv.phase_energy(np.sqrt(uneven)), [[4, 2], [2, 1]])
    assert transposed_conv.checkerboard_ratio(np.sqrt(uneven)) == pytest.approx(4.0)

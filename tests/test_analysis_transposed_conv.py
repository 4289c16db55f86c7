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


def test_bilinear_kernel_reproduces_bilinear_upsampling_away_from_the_border():
    x = np.random.default_rng(0).normal(size=(1, 7, 9, 3)).astype("float32")
    layer = layers.Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=False)
    layer.build(x.shape)
    layer.set_weights([transposed_conv.bilinear_kernel(4, 3)])
    got = keras.ops.convert_to_numpy(layer(x))[0]
    expected = keras.ops.convert_to_numpy(layers.UpSampling2D(2, interpolation="bilinear")(x))[0]
    np.testing.assert_allclose(got[1:-1, 1:-1], expected[1:-1, 1:-1], atol=1e-5)
    assert np.abs(got - expected).max() > 0.01  # the outermost ring differs (zero padding)
    np.testing.assert_allclose(
        transposed_conv.bilinear_kernel(4, 1)[:, :, 0, 0], np.outer(*[[0.25, 0.75, 0.75, 0.25]] * 2)
    )
    with pytest.raises(ValueError, match="channels"):
        transposed_conv.bilinear_kernel(4, 0)


def test_icnr_kernel_has_no_phase_pattern_and_random_kernels_do():
    ones = np.ones((1, 6, 6, 4), dtype="float32")
    for kernel, expect_flat in (
        (transposed_conv.icnr_kernel(2, 5, 4, seed=1), True),
        (np.random.default_rng(1).normal(size=(2, 2, 5, 4)).astype("float32"), False),
    ):
        layer = layers.Conv2DTranspose(5, 2, strides=2, use_bias=False)
        layer.build(ones.shape)
        layer.set_weights([kernel])
        out = keras.ops.convert_to_numpy(layer(ones))[0]
        spread = np.ptp(out.reshape(6, 2, 6, 2, 5), axis=(1, 3)).max()
        assert (spread < 1e-5) == expect_flat
    assert transposed_conv.icnr_kernel(3, 2, 7).shape == (3, 3, 2, 7)

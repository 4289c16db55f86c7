"""unet_course.analysis.transposed_conv and the overlap widget; notebook 04's teaching code agrees with them."""

import keras
import matplotlib
import numpy as np
import pytest
from keras import layers

from tests.notebook_code import notebook_namespace
from unet_course.analysis import profiling, transposed_conv
from unet_course.exercises import ex04

matplotlib.use("Agg")

SETTINGS = [(1, 1), (2, 2), (3, 2), (4, 2), (3, 1), (5, 3), (2, 3), (1, 2)]


def test_notebook_solutions_agree_with_package_and_pass_their_checkers():
    names = ["conv_matrix", "transposed_as_convolution", "transpose_conv_params"]
    ns = notebook_namespace("04_upsampling", names, NETWORK_PREAMBLE)
    for exercise, name in zip((ex04.q1, ex04.q2, ex04.q3), names):
        passed, message = exercise.verdict(ns[name])
        assert passed, f"{name}: {message}"
    rng = np.random.default_rng(0)
    for k, s in [(3, 2), (2, 2), (4, 2), (3, 1)]:
        x, kernel = rng.normal(size=(4, 3)), rng.normal(size=(k, k))
        np.testing.assert_allclose(
            ns["transposed_as_convolution"](x, kernel, s), transposed_conv.transposed_conv2d(x, kernel, s), atol=1e-12
        )
        C, y = ns["conv_matrix"](kernel, 4 * s, s), rng.normal(size=(4, 4))  # C.T is the 'same' transposed conv
        np.testing.assert_allclose(
            (C.T @ y.ravel()).reshape(4 * s, 4 * s), transposed_conv.transposed_conv2d(y, kernel, s, "same"), atol=1e-12
        )
    inputs = keras.Input((8, 8, 6))
    model = keras.Model(inputs, layers.Conv2DTranspose(4, 3, strides=2)(inputs))
    assert ns["transpose_conv_params"](6, 4, 3) == model.count_params()


NETWORK_NAMES = ["decoder_block_with", "unet_with", "halved_unet", "outputs_bytes"]
NETWORK_PREAMBLE = (
    "import numpy as np\nimport keras\nfrom keras import layers\nfrom unet_course.analysis import profiling\n"
    "from unet_course.models import conv_block, encoder_block\n"
)


@pytest.fixture(scope="module")
def networks_code():
    ns = notebook_namespace(
        "04_upsampling", NETWORK_NAMES + ["transposed_as_convolution", "transposed_conv2d_same"], NETWORK_PREAMBLE
    )
    ns["BLOCK_OPTIONS"] = ["transpose 2x2 (paper)", "bilinear + 3x3 conv", "bilinear only", "bilinear + 1x1 conv"]
    return ns


def _conv(k, c_in, c_out, bias=True):
    return k * k * c_in * c_out + (c_out if bias else 0)


@pytest.mark.parametrize(
    "option", ["transpose 2x2 (paper)", "bilinear + 3x3 conv", "bilinear only", "bilinear + 1x1 conv"]
)
def test_decoder_block_variants_count_the_whole_block(networks_code, option):
    """x with 2f channels, a skip with f, the block ends with f: parameters by hand, per variant."""
    f = 8
    x_in, skip_in = keras.Input((4, 4, 2 * f)), keras.Input((8, 8, f))
    block = keras.Model([x_in, skip_in], networks_code["decoder_block_with"](x_in, skip_in, f, option))
    up = {
        "transpose 2x2 (paper)": _conv(2, 2 * f, f),
        "bilinear + 3x3 conv": _conv(3, 2 * f, f),
        "bilinear only": 0,
        "bilinear + 1x1 conv": _conv(1, 2 * f, f),
    }[option]
    first_reads = 3 * f if option == "bilinear only" else 2 * f
    assert block.count_params() == up + _conv(3, first_reads, f) + _conv(3, f, f)
    assert block.output_shape == (None, 8, 8, f)


def test_unet_with_is_build_unet_where_it_should_be(networks_code):
    from unet_course.models import build_unet

    for option, upsampling in (("transpose 2x2 (paper)", "transpose"), ("bilinear + 3x3 conv", "bilinear")):
        mine = networks_code["unet_with"](option, input_shape=(32, 32, 1), base_filters=4, depth=2)
        package = build_unet((32, 32, 1), 2, base_filters=4, depth=2, upsampling=upsampling)
        assert mine.count_params() == package.count_params()
        assert profiling.activation_bytes(mine) == profiling.activation_bytes(package)
        assert profiling.count_macs(mine) == profiling.count_macs(package)


def _milesial_parameters(n_channels, n_classes, bilinear, batch_norm=True):
    """What PyTorch counts for milesial/Pytorch-UNet's UNet (unet_model.py, unet_parts.py), by its own definitions."""

    def double_conv(c_in, c_out, mid=None):
        mid = mid or c_out
        if batch_norm:  # Conv2d(bias=False) + BatchNorm2d (weight and bias), twice
            return 9 * c_in * mid + 2 * mid + 9 * mid * c_out + 2 * c_out
        return _conv(3, c_in, mid) + _conv(3, mid, c_out)

    factor = 2 if bilinear else 1
    total = double_conv(n_channels, 64) + double_conv(64, 128) + double_conv(128, 256) + double_conv(256, 512)
    total += double_conv(512, 1024 // factor)
    for c_in, c_out in ((1024, 512 // factor), (512, 256 // factor), (256, 128 // factor), (128, 64)):
        if bilinear:
            total += double_conv(c_in, c_out, c_in // 2)
        else:  # ConvTranspose2d(c_in, c_in // 2, kernel_size=2, stride=2), with bias
            total += _conv(2, c_in, c_in // 2) + double_conv(c_in, c_out)
    return total + _conv(1, 64, n_classes)


def test_halved_unet_is_milesial_s_bilinear_unet(networks_code):
    halved = networks_code["halved_unet"]
    with_bn = halved((64, 64, 1), 2, batch_norm=True)
    trainable = sum(int(np.prod(w.shape)) for w in with_bn.trainable_weights)
    assert trainable == _milesial_parameters(1, 2, bilinear=True) == 17_261_890
    assert halved((64, 64, 3), 2, batch_norm=True).output_shape == (None, 64, 64, 2)
    plain = halved((64, 64, 1), 2)
    assert plain.count_params() == _milesial_parameters(1, 2, bilinear=True, batch_norm=False) == 17_257_474
    # milesial's bilinear=False is the paper's network
    assert _milesial_parameters(1, 2, bilinear=False, batch_norm=False) == 31_030_658


def test_halved_transpose_differs_only_by_the_up_convolutions(networks_code):
    halved = networks_code["halved_unet"]
    bilinear, transpose = halved((32, 32, 1), 2), halved((32, 32, 1), 2, upsampling="transpose")
    ups = sum(_conv(2, c, c) for c in (512, 256, 128, 64))
    assert transpose.count_params() - bilinear.count_params() == ups == 1_393_600
    assert profiling.activation_bytes(transpose) == profiling.activation_bytes(bilinear)


def test_same_padding_exercise_solution_matches_keras(networks_code):
    rng = np.random.default_rng(3)
    for k, s in [(2, 2), (3, 2), (4, 2), (5, 2), (4, 1), (7, 3)]:
        x, kernel = rng.normal(size=(3, 4)), rng.normal(size=(k, k))
        np.testing.assert_allclose(
            networks_code["transposed_conv2d_same"](x, kernel, s), ex04._keras_transpose_same(x, kernel, s), atol=1e-4
        )
    passed, message = ex04.q4.verdict(networks_code["transposed_conv2d_same"])
    assert passed, message

"""Notebook 06's teaching code agrees with the package: the hand-assembled U-Net is build_unet."""

import numpy as np
import pytest
from tests.notebook_code import notebook_namespace

from unet_course.exercises import ex06 as ex
from unet_course.models import PAPER_PARAMETERS, build_unet

PREAMBLE = (
    "import numpy as np\nimport keras\nfrom keras import layers, ops\n"
    "from unet_course.models import conv_block, decoder_block, encoder_block\n"
)


@pytest.fixture(scope="module")
def nb():
    return notebook_namespace("06_assembling_unet", ["unet_by_hand", "unet_parameters", "output_size_valid", "is_valid_size", "smallest_input_for_output"], preamble=PREAMBLE)


def test_hand_assembled_unet_has_the_papers_count(nb):
    model = nb["unet_by_hand"]((572, 572, 1), 2, padding="valid")
    reference = build_unet((572, 572, 1), 2, padding="valid")
    assert model.count_params() == reference.count_params() == PAPER_PARAMETERS
    assert model.output_shape == reference.output_shape == (None, 388, 388, 2)
    assert [layer.name for layer in model.layers] == [layer.name for layer in reference.layers]


@pytest.mark.parametrize("input_shape, num_classes, padding", [((188, 188, 1), 2, "valid"), ((32, 48, 3), 4, "same"), ((16, 16, 1), 1, "same")])
def test_hand_assembled_unet_predicts_like_build_unet(nb, input_shape, num_classes, padding):
    mine = nb["unet_by_hand"](input_shape, num_classes, base_filters=4, padding=padding)
    reference = build_unet(input_shape, num_classes, base_filters=4, padding=padding)
    assert mine.output_shape == reference.output_shape
    assert mine.count_params() == reference.count_params()
    reference.set_weights(mine.get_weights())
    images = np.random.default_rng(1).random((2, *input_shape), dtype=np.float32)
    np.testing.assert_allclose(mine.predict(images, verbose=0), reference.predict(images, verbose=0), rtol=1e-5, atol=1e-6)


def test_notebook_solutions_pass_the_checkers(nb):
    for exercise, name in (
        (ex.q1, "unet_parameters"),
        (ex.q2, "output_size_valid"),
        (ex.q3, "is_valid_size"),
        (ex.q4, "smallest_input_for_output"),
    ):
        passed, message = exercise.verdict(nb[name])
        assert passed, f"{name}: {message}"


def test_tiles_like_with_like_reproduce_the_whole_prediction_in_both_paddings():
    """Notebook 06: overlapping tiles offset by multiples of 16, the margin dropped: exact in both paddings."""
    ns = notebook_namespace("06_assembling_unet", ["tiled_prediction_gap"], preamble=PREAMBLE + "from unet_course.models import build_unet\n")
    gap = ns["tiled_prediction_gap"]
    assert gap("valid", (236, 188), 204, 16)[2].max() < 1e-5
    assert gap("same", (512, 64), 256, 32, margin=112)[2].max() < 1e-5
    assert gap("same", (512, 64), 128, 128)[2].max() > 1e-3
    assert gap("same", (512, 64), 256, 160, margin=48)[2].max() > 1e-4


def test_receptive_field_of_an_output_pixel_is_188_or_204_by_phase():
    """Notebook 06's probe, on the package's network: the windows of a valid depth-4 U-Net's output rows."""
    import keras as _keras

    from unet_course.analysis.receptive_field import receptive_fields, unet_encoder_specs

    r, j = receptive_fields(unet_encoder_specs(depth=4))[-1]
    rows, cols = 204, 188
    probe = build_unet((rows, cols, 1), 2, base_filters=1, padding="valid")
    for layer in probe.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([np.full_like(weights[0], 1 / weights[0][..., 0].size)] + [np.zeros_like(w) for w in weights[1:]])
    features = _keras.Model(probe.input, probe.get_layer("classifier").input)
    images = np.zeros((rows, rows, cols, 1), dtype="float32")
    images[np.arange(rows), np.arange(rows), :, 0] = 1.0
    lit = features.predict(images, batch_size=34, verbose=0)[:, :, 0, 0] > 0
    widths = [int(np.ptp(np.flatnonzero(lit[:, q])) + 1) for q in range(lit.shape[1])]
    assert widths == [r + 3 * j] * 4 + [r + 4 * j] * 12 + [r + 3 * j] * 4 == [188] * 4 + [204] * 12 + [188] * 4


def test_halved_unet_has_milesial_s_widths_and_counts():
    """06's halved_unet (milesial/Pytorch-UNet's bilinear=True): counted by hand at 16 base filters."""
    ns = notebook_namespace("06_assembling_unet", ["halved_unet"], preamble=PREAMBLE)

    def conv(k, c_in, c_out):
        return k * k * c_in * c_out + c_out

    f = 16
    encoder = sum(conv(3, c_in, c) + conv(3, c, c) for c_in, c in ((3, f), (f, 2 * f), (2 * f, 4 * f), (4 * f, 8 * f)))
    bottleneck = conv(3, 8 * f, 8 * f) + conv(3, 8 * f, 8 * f)  # 16 f // 2
    decoder = sum(conv(3, 2 * c, c) + conv(3, c, out) for c, out in ((8 * f, 4 * f), (4 * f, 2 * f), (2 * f, f), (f, f)))
    model = ns["halved_unet"]((64, 64, 3), 4)
    assert model.count_params() == encoder + bottleneck + decoder + conv(1, f, 4) == 1_079_876
    assert model.output_shape == (None, 64, 64, 4)
    transpose = ns["halved_unet"]((64, 64, 3), 4, upsampling="transpose")
    assert transpose.count_params() - model.count_params() == sum(conv(2, c, c) for c in (8 * f, 4 * f, 2 * f, f))

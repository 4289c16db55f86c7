"""unet_course.analysis.receptive_field: the recurrence, hand-worked and brute-force checked; clear errors."""

import keras
import numpy as np
import pytest
from keras import layers

from unet_course.analysis.receptive_field import model_specs, receptive_field, receptive_fields, unet_encoder_specs
from unet_course.models import conv_block, encoder_block


def _convs(model):
    return [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]


def test_recurrence_hand_worked_values():
    assert receptive_field([]) == 1
    assert receptive_fields([(3, 1), (3, 1), (2, 2)]) == [(3, 1), (5, 1), (6, 2)]
    # the paper's levels after each second convolution: 5, 14, 32, 68, 140
    fields = receptive_fields(unet_encoder_specs(4))
    assert [fields[i][0] for i in (1, 4, 7, 10, 13)] == [5, 14, 32, 68, 140]
    assert receptive_field(unet_encoder_specs(2, bottleneck=False)) == 16
    # ResNet stem: 7x7/2 conv then 3x3/2 pool -> 7 + 2*2 = 11
    assert receptive_field([(7, 2), (3, 2)]) == 11


def test_model_specs_reads_vgg16_and_dilation():
    vgg16 = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    specs = model_specs(vgg16)
    assert len(specs) == 18 and specs[0] == ("block1_conv1", 3, 1) and specs[2] == ("block1_pool", 2, 2)
    assert receptive_field([(k, s) for _, k, s in specs]) == 212
    inputs = keras.Input((32, 32, 1))
    dilated = keras.Model(inputs, layers.Conv2D(1, 3, dilation_rate=2, name="d")(inputs))
    assert model_specs(dilated) == [("d", 5, 1)]


def test_bad_specs_raise_clear_errors():
    with pytest.raises(ValueError, match="kernel_size, stride"):
        receptive_fields([3, 1])
    with pytest.raises(ValueError, match="stride of layer 0"):
        receptive_fields([(3, 0)])
    inputs = keras.Input((32, 32, 1))
    rectangular = keras.Model(inputs, layers.Conv2D(1, (3, 1), name="r")(inputs))
    with pytest.raises(ValueError, match="non-square"):
        model_specs(rectangular)


def test_receptive_field_by_brute_force():
    """Positive kernels, real ReLU and max pooling: the rows that light up a unit are its receptive field."""
    size = 48
    inputs = keras.Input((size, size, 1))
    outputs, x = [], inputs
    for level in range(2):
        features, x = encoder_block(x, 1, name=f"p{level}")
        outputs.append(features)
    outputs.append(conv_block(x, 1, name="pb"))
    probe = keras.Model(inputs, outputs)
    for layer in _convs(probe):
        layer.set_weights([np.full((3, 3, 1, 1), 1 / 9, "float32"), np.zeros(1, "float32")])
    rows = np.zeros((size, size, size, 1), "float32")
    rows[np.arange(size), np.arange(size), :, 0] = 1.0
    fields = receptive_fields(unet_encoder_specs(2))
    expected = [fields[1][0], fields[4][0], fields[7][0]]  # 5, 14, 32
    measured = []
    for out in probe.predict(rows, verbose=0):
        centre = out.shape[1] // 2
        lit = np.flatnonzero(out[:, centre, centre, 0] > 0)
        measured.append(int(lit.max() - lit.min() + 1))
    assert measured == expected == [5, 14, 32]


def test_receptive_field_docstring_examples():
    import doctest

    import unet_course.analysis.receptive_field as module

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0

"""The checkers of notebook 05's exercises: references pass, typical mistakes get their message."""

import numpy as np
import pytest
from keras import layers

from unet_course.exercises import ex05 as ex


def passes(exercise, answer):
    passed, message = exercise.verdict(answer)
    return passed, message


def test_q1_reference_passes(capsys):
    ex.q1.check(ex.center_crop)
    assert "✅" in capsys.readouterr().out


def test_q1_other_rounding_is_also_a_centre_crop():
    def crop_round_up(skip, h, w):
        top, left = -(-(skip.shape[0] - h) // 2), -(-(skip.shape[1] - w) // 2)
        return skip[top : top + h, left : left + w]

    assert passes(ex.q1, crop_round_up)[0]


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda skip, h, w: skip[:h, :w], "top-left corner"),
        (lambda skip, h, w: skip[skip.shape[0] - h :, skip.shape[1] - w :], "bottom-right corner"),
        (
            lambda skip, h, w: skip[
                (skip.shape[0] - h) // 2 : skip.shape[0] - (skip.shape[0] - h) // 2,
                (skip.shape[1] - w) // 2 : skip.shape[1] - (skip.shape[1] - w) // 2,
            ],
            "off-by-one",
        ),
        (
            lambda skip, h, w: skip[
                (skip.shape[0] - h) // 2 : -((skip.shape[0] - h) // 2),
                (skip.shape[1] - w) // 2 : -((skip.shape[1] - w) // 2),
            ],
            "empty array",
        ),
        (lambda skip, h, w: skip[:h, :w, 0], "channel axis"),
        (lambda skip, h, w: None, "returned None"),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = passes(ex.q1, answer)
    assert not passed
    assert phrase in message, message


def test_q1_not_done_and_none_give_feedback(capsys):
    def not_done(skip, h, w):
        raise NotImplementedError()

    assert "not yet implemented" in passes(ex.q1, not_done)[1]
    ex.q1.check(None)
    assert "You passed None" in capsys.readouterr().out


def test_q2_reference_passes(capsys):
    ex.q2.check(ex.my_decoder_block)
    assert "✅" in capsys.readouterr().out


def test_q2_accepts_either_concatenation_order_and_relu_layers():
    def x_first(x, skip, num_filters):
        x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
        x = layers.Concatenate(axis=-1)([x, skip])
        for _ in range(2):
            x = layers.Conv2D(num_filters, 3, padding="same")(x)
            x = layers.ReLU()(x)
        return x

    assert passes(ex.q2, x_first)[0], passes(ex.q2, x_first)[1]


def test_q2_accepts_keras_ops_merges():
    from keras import ops

    def with_ops(x, skip, num_filters):
        x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
        x = ops.concatenate([x, skip], axis=-1)
        x = ops.relu(layers.Conv2D(num_filters, 3, padding="same")(x))
        return ops.relu(layers.Conv2D(num_filters, 3, padding="same")(x))

    assert passes(ex.q2, with_ops)[0], passes(ex.q2, with_ops)[1]


def test_q2_accepts_resize_convolution():
    def resize(x, skip, num_filters):
        x = layers.UpSampling2D(2, interpolation="bilinear")(x)
        x = layers.Conv2D(num_filters, 3, padding="same")(x)
        x = layers.Concatenate()([skip, x])
        x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
        return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)

    assert passes(ex.q2, resize)[0], passes(ex.q2, resize)[1]


def _no_upsampling(x, skip, num_filters):
    x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)


def _one_conv(x, skip, num_filters):
    x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
    x = layers.Concatenate()([skip, x])
    return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)


def _skip_ignored(x, skip, num_filters):
    x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
    x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)


def _skip_concat_but_unused(x, skip, num_filters):
    up = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
    x = layers.Concatenate()([up, up])  # concatenates x with itself, not with the skip
    x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)


def _wrong_filters(x, skip, num_filters):
    x = layers.Conv2DTranspose(x.shape[-1], 2, strides=2)(x)
    x = layers.Concatenate()([skip, x])
    x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)


def _valid_padding(x, skip, num_filters):
    x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
    x = layers.Concatenate()([skip, x])
    x = layers.Conv2D(num_filters, 3, activation="relu")(x)
    return layers.Conv2D(num_filters, 3, activation="relu")(x)


def _added(x, skip, num_filters):
    x = layers.Conv2DTranspose(skip.shape[-1], 2, strides=2)(x)
    x = layers.Add()([skip, x])
    x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)


def _no_activation(x, skip, num_filters):
    x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
    x = layers.Concatenate()([skip, x])
    x = layers.Conv2D(num_filters, 3, padding="same")(x)
    return layers.Conv2D(num_filters, 3, padding="same")(x)


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_no_upsampling, "forget the upsampling"),
        (_one_conv, "1 conv layer"),
        (_skip_ignored, "no Concatenate"),
        (_skip_concat_but_unused, "ignores the skip"),
        (_wrong_filters, "filters"),
        (_valid_padding, "padding='same'"),
        (_added, "Add"),
        (_no_activation, "no activation"),
        (lambda x, skip, n: x, "forget the upsampling"),
        (lambda x, skip, n: np.zeros(3), "return the output tensor"),
    ],
)
def test_q2_typical_mistakes(answer, phrase):
    passed, message = passes(ex.q2, answer)
    assert not passed
    assert phrase in message, message


def test_q2_not_done_and_none_give_feedback(capsys):
    def not_done(x, skip, num_filters):
        raise NotImplementedError()

    assert "not yet implemented" in passes(ex.q2, not_done)[1]
    ex.q2.check(None)
    assert "You passed None" in capsys.readouterr().out

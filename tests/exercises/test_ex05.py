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


def test_q1_other_correct_answers():
    def by_ends(skip, h, w):  # cut top and bottom amounts, the extra pixel at the bottom / right
        cut_h, cut_w = skip.shape[0] - h, skip.shape[1] - w
        return skip[
            cut_h // 2 : skip.shape[0] - (cut_h - cut_h // 2), cut_w // 2 : skip.shape[1] - (cut_w - cut_w // 2)
        ]

    def by_cropping2d(skip, h, w):  # the Keras layer the course uses, on a batch of one
        cut_h, cut_w = skip.shape[0] - h, skip.shape[1] - w
        crop = layers.Cropping2D(((cut_h // 2, cut_h - cut_h // 2), (cut_w // 2, cut_w - cut_w // 2)))
        return crop(skip[None])[0]

    for answer in (by_ends, by_cropping2d):
        passed, message = passes(ex.q1, answer)
        assert passed, message


def test_q1_the_extra_pixel_cut_at_the_top_and_left_is_refused():
    def crop_round_up(skip, h, w):
        top, left = -(-(skip.shape[0] - h) // 2), -(-(skip.shape[1] - w) // 2)
        return skip[top : top + h, left : left + w]

    def round_up_rows_only(skip, h, w):
        top, left = -(-(skip.shape[0] - h) // 2), (skip.shape[1] - w) // 2
        return skip[top : top + h, left : left + w]

    passed, message = passes(ex.q1, crop_round_up)
    assert not passed and "extra row at the top" in message and "extra column at the left" in message
    passed, message = passes(ex.q1, round_up_rows_only)
    assert not passed and "extra row at the top" in message and "extra column" not in message


def test_q1_swapped_offsets_need_different_offsets_to_show():
    def swapped(skip, h, w):
        top, left = (skip.shape[0] - h) // 2, (skip.shape[1] - w) // 2
        return skip[left : left + h, top : top + w]

    passed, message = passes(ex.q1, swapped)
    assert not passed and "swapped the row and column offsets" in message and "10x16x2" in message


def test_q1_a_rearranged_crop_is_not_a_window():
    passed, message = passes(ex.q1, lambda skip, h, w: ex.center_crop(skip, h, w)[::-1])
    assert not passed and "not a window of the skip" in message


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
            "one pixel too many in the height and the width",
        ),
        (
            lambda skip, h, w: skip[
                (skip.shape[0] - h) // 2 : -((skip.shape[0] - h) // 2),
                (skip.shape[1] - w) // 2 : -((skip.shape[1] - w) // 2),
            ],
            "empty array",
        ),
        (lambda skip, h, w: skip[:h, :w, 0], "channel axis"),
        (lambda skip, h, w: ex.center_crop(skip, h, w)[None], "batch axis of 1"),
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


def test_q2_accepts_sequential_convolutions_and_the_package_blocks():
    import keras

    from unet_course.models import conv_block, decoder_block

    def sequential(x, skip, num_filters):
        x = layers.Conv2DTranspose(num_filters, (2, 2), strides=(2, 2), padding="same")(x)
        x = layers.Concatenate(axis=3)([x, skip])
        convs = keras.Sequential(
            [
                layers.Conv2D(num_filters, 3, padding="same", activation="relu"),
                layers.Conv2D(num_filters, 3, padding="same"),
                layers.ReLU(),
            ]
        )
        return convs(x)

    def package(x, skip, num_filters):
        return decoder_block(x, skip, num_filters)

    def up_with_relu(x, skip, num_filters):  # the task does not say whether the up-convolution has an activation
        x = layers.Conv2DTranspose(num_filters, 2, strides=2, activation="relu")(x)
        return conv_block(layers.Concatenate()([skip, x]), num_filters)

    for answer in (sequential, package, up_with_relu):
        passed, message = passes(ex.q2, answer)
        assert passed, f"{answer.__name__}: {message}"


def _resize(x, skip, num_filters):
    x = layers.UpSampling2D(2, interpolation="bilinear")(x)
    x = layers.Conv2D(num_filters, 3, padding="same")(x)
    x = layers.Concatenate()([skip, x])
    x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
    return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)


def _transpose(kernel=2, filters=None, axis=-1, concat=None, activation="relu"):
    def answer(x, skip, num_filters):
        filters_ = filters(x, num_filters) if filters else num_filters
        x = layers.Conv2DTranspose(filters_, kernel, strides=2, padding="same")(x)
        x = concat([skip, x]) if concat else layers.Concatenate(axis=axis)([skip, x])
        x = layers.Conv2D(num_filters, 3, padding="same", activation=activation)(x)
        return layers.Conv2D(num_filters, 3, padding="same", activation=activation)(x)

    return answer


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
        (_one_conv, "1 Conv2D layer besides the transposed convolution"),
        (_resize, "UpSampling2D(interpolation='bilinear')"),
        (_transpose(kernel=3), "3x3 kernel; the task asks for 2x2"),
        (_transpose(kernel=4), "4x4 kernel"),
        (_transpose(filters=lambda x, n: x.shape[-1] // 2), "half the channels of x"),
        (_transpose(axis=1), "along axis 1 (the height)"),
        (_transpose(concat=lambda pair: __import__("keras").ops.concatenate(pair)), "along axis 0 (the batch axis)"),
        (_transpose(activation="sigmoid"), "apply sigmoid where the task has ReLU"),
        (_skip_ignored, "no Concatenate"),
        (_skip_concat_but_unused, "ignores the skip"),
        (_wrong_filters, "filters"),
        (_valid_padding, "padding='same'"),
        (_added, "Add"),
        (_no_activation, "neither is followed by a ReLU"),
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


# ---------------------------------------------------------------- q3: the valid-padding block and its crop


def _valid_block(crop, padding="valid"):
    """A decoder block whose skip is cut by ``crop(skip, x)``; convolutions with ``padding``."""

    def answer(x, skip, num_filters):
        x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
        skip = crop(skip, x)
        x = layers.Concatenate()([skip, x])
        x = layers.Conv2D(num_filters, 3, padding=padding, activation="relu")(x)
        return layers.Conv2D(num_filters, 3, padding=padding, activation="relu")(x)

    return answer


def _extras(skip, x):
    return skip.shape[1] - x.shape[1], skip.shape[2] - x.shape[2]


def test_q3_reference_passes(capsys):
    ex.q3.check(ex.valid_decoder_block)
    assert "✅" in capsys.readouterr().out


def test_q3_accepts_the_package_block_and_a_slice():
    from keras import ops

    from unet_course.models import decoder_block

    def package(x, skip, num_filters):
        return decoder_block(x, skip, num_filters, padding="valid")

    def sliced(x, skip, num_filters):  # a slice of the symbolic tensor, x first, ops.concatenate
        up = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
        top, left = (skip.shape[1] - up.shape[1]) // 2, (skip.shape[2] - up.shape[2]) // 2
        merged = ops.concatenate([up, skip[:, top : top + up.shape[1], left : left + up.shape[2]]], axis=-1)
        y = layers.Conv2D(num_filters, 3, activation="relu")(merged)
        return layers.Conv2D(num_filters, 3, activation="relu")(y)

    for answer in (package, sliced):
        passed, message = passes(ex.q3, answer)
        assert passed, f"{answer.__name__}: {message}"


def test_q3_no_crop_gets_the_sizes_to_match():
    passed, message = passes(ex.q3, _valid_block(lambda skip, x: skip))
    assert not passed and "Crop the skip's centre to exactly 28x28" in message


def test_q3_same_padding_is_refused():
    from unet_course.models import merge_skip

    def same(x, skip, num_filters):
        x = merge_skip(layers.Conv2DTranspose(num_filters, 2, strides=2)(x), skip)
        x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
        return layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)

    passed, message = passes(ex.q3, same)
    assert not passed and "asks for padding='valid'" in message


def test_q3_the_corner_instead_of_the_centre():
    corner = _valid_block(lambda skip, x: skip[:, : x.shape[1], : x.shape[2]])
    passed, message = passes(ex.q3, corner)
    assert not passed and "right except for the crop" in message and "top-left corner" in message


def test_q3_the_odd_pixel_cut_at_the_top():
    def top_first(skip, x):
        extra_h, extra_w = _extras(skip, x)
        return layers.Cropping2D(((extra_h - extra_h // 2, extra_h // 2), (extra_w - extra_w // 2, extra_w // 2)))(skip)

    passed, message = passes(ex.q3, _valid_block(top_first))
    assert not passed and "odd difference of 3 rows you cut the extra row at the top" in message


def test_q3_half_the_difference_on_both_sides_leaves_a_pixel_too_many():
    def symmetric(skip, x):
        extra_h, extra_w = _extras(skip, x)
        return layers.Cropping2D(((extra_h // 2, extra_h // 2), (extra_w // 2, extra_w // 2)))(skip)

    passed, message = passes(ex.q3, _valid_block(symmetric))
    assert not passed and "10x14" in message and "extra pixel at the bottom" in message


def test_q3_padding_x_instead_of_cropping_the_skip():
    def padded(x, skip, num_filters):
        x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
        extra_h, extra_w = _extras(skip, x)
        x = layers.ZeroPadding2D(((extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2)))(x)
        x = layers.Concatenate()([skip, x])
        x = layers.Conv2D(num_filters, 3, activation="relu")(x)
        return layers.Conv2D(num_filters, 3, activation="relu")(x)

    passed, message = passes(ex.q3, padded)
    assert not passed and "crops the larger skip instead" in message


def test_q3_not_done_and_none_give_feedback(capsys):
    def not_done(x, skip, num_filters):
        raise NotImplementedError()

    assert "not yet implemented" in passes(ex.q3, not_done)[1]
    ex.q3.check(None)
    assert "You passed None" in capsys.readouterr().out

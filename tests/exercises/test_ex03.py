"""Exercises of notebook 03: references pass, typical mistakes get the message meant for them."""

import keras
import pytest
from keras import layers

from unet_course.exercises import ex03 as ex
from unet_course.models import encoder_block


def verdict(exercise, answer):
    passed, message = exercise.verdict(answer)
    return passed, message


@pytest.mark.parametrize(
    "exercise, reference", [(ex.q1, ex.conv_block), (ex.q2, ex.encoder), (ex.q3, ex.receptive_field)]
)
def test_reference_passes(exercise, reference, capsys):
    exercise.check(reference)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3])
def test_none_and_not_implemented_give_feedback(exercise, capsys):
    def todo(*args, **kwargs):
        raise NotImplementedError()

    exercise.check(None)
    out = capsys.readouterr().out
    assert "❌" in out and "You passed None" in out
    passed, message = verdict(exercise, todo)
    assert not passed and "not yet implemented" in message


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3])
def test_hint_and_solution_print(exercise, capsys):
    exercise.hint()
    exercise.solution()
    out = capsys.readouterr().out
    assert "💡" in out and "def " in out


# ---------------------------------------------------------------- q1


def test_q1_accepts_other_correct_forms():
    def with_relu_layers(x, num_filters, padding="same"):
        for _ in range(2):
            x = layers.Conv2D(num_filters, (3, 3), padding=padding)(x)
            x = layers.ReLU()(x)
        return x

    def with_ops(x, num_filters, padding="same"):
        x = keras.ops.relu(layers.Conv2D(num_filters, 3, padding=padding)(x))
        return keras.ops.relu(layers.Conv2D(num_filters, 3, padding=padding)(x))

    for answer in (with_relu_layers, with_ops):
        passed, message = verdict(ex.q1, answer)
        assert passed, message


def _block(
    num_convs=2, kernel=3, relu=(True, True), fixed_filters=None, pool=False, use_padding=True, relu_first=False
):
    def answer(x, num_filters, padding="same"):
        filters = fixed_filters or num_filters
        for i in range(num_convs):
            if relu_first:
                x = layers.ReLU()(x)
            x = layers.Conv2D(filters, kernel, padding=padding if use_padding else "same")(x)
            if not relu_first and relu[i % len(relu)]:
                x = layers.ReLU()(x)
        if pool:
            x = layers.MaxPooling2D(2)(x)
        return x

    return answer


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_block(num_convs=1), "1 conv layer, a U-Net block has 2"),
        (_block(num_convs=3), "3 conv layers, a U-Net block has 2"),
        (_block(kernel=5), "5x5 kernel"),
        (_block(kernel=2), "2x2 kernel"),
        (_block(fixed_filters=64), "num_filters was 4"),
        (_block(relu=(True, False)), "1 ReLU"),
        (_block(relu=(False, False)), "0 ReLU"),
        (_block(pool=True), "pooling layer"),
        (_block(use_padding=False), "pass `padding` on"),
        (_block(relu_first=True), "computes something else"),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = verdict(ex.q1, answer)
    assert not passed
    assert phrase in message, message


def test_q1_returning_a_tuple_is_explained():
    def with_pool(x, num_filters, padding="same"):
        features = ex.conv_block(x, num_filters, padding)
        return features, layers.MaxPooling2D(2)(features)

    passed, message = verdict(ex.q1, with_pool)
    assert not passed and "returns one tensor" in message


def test_q1_batch_norm_in_between_is_caught():
    def with_bn(x, num_filters, padding="same"):
        for _ in range(2):
            x = layers.Conv2D(num_filters, 3, padding=padding)(x)
            x = layers.BatchNormalization(epsilon=0.5)(x)
            x = layers.ReLU()(x)
        return x

    passed, message = verdict(ex.q1, with_bn)
    assert not passed and "batch normalisation" in message


# ---------------------------------------------------------------- q2


def test_q2_accepts_own_layers_and_deepest_first_order():
    def own_layers(x, base_filters, depth):
        skips = []
        for level in range(depth):
            x = ex.conv_block(x, base_filters * 2**level)
            skips.append(x)
            x = layers.MaxPooling2D(2)(x)
        return skips[::-1], x

    passed, message = verdict(ex.q2, own_layers)
    assert passed, message


def test_q2_missing_pooling():
    def no_pool(x, base_filters, depth):
        skips = []
        for level in range(depth):
            x = ex.conv_block(x, base_filters * 2**level)
            skips.append(x)
        return skips, x

    passed, message = verdict(ex.q2, no_pool)
    assert not passed and "forget the pooling" in message


def test_q2_channels_not_doubling():
    def same_channels(x, base_filters, depth):
        skips = []
        for _ in range(depth):
            features, x = encoder_block(x, base_filters)
            skips.append(features)
        return skips, x

    passed, message = verdict(ex.q2, same_channels)
    assert not passed and "must double" in message


def test_q2_pooled_tensors_as_skips():
    def pooled_skips(x, base_filters, depth):
        skips = []
        for level in range(depth):
            _, x = encoder_block(x, base_filters * 2**level)
            skips.append(x)
        return skips, x

    passed, message = verdict(ex.q2, pooled_skips)
    assert not passed and "already pooled" in message


def test_q2_bottleneck_added():
    def with_bottleneck(x, base_filters, depth):
        skips, x = ex.encoder(x, base_filters, depth)
        return skips, ex.conv_block(x, base_filters * 2**depth)

    passed, message = verdict(ex.q2, with_bottleneck)
    assert not passed and "bottleneck" in message


def test_q2_wrong_return_values():
    passed, message = verdict(ex.q2, lambda x, base_filters, depth: ex.encoder(x, base_filters, depth)[1])
    assert not passed and "return skips, x" in message
    passed, message = verdict(ex.q2, lambda x, base_filters, depth: ex.encoder(x, base_filters, depth)[::-1])
    assert not passed and "(pooled, skips)" in message


def test_q2_one_level_short():
    def short(x, base_filters, depth):
        return ex.encoder(x, base_filters, depth - 1) if depth > 1 else ex.encoder(x, base_filters, depth)

    passed, message = verdict(ex.q2, short)
    assert not passed and "one per level" in message


# ---------------------------------------------------------------- q3


def test_q3_ignoring_the_jump():
    passed, message = verdict(ex.q3, lambda specs: 1 + sum(k - 1 for k, _ in specs))
    assert not passed and "Multiply by the jump" in message


def test_q3_jump_updated_first():
    def jump_first(specs):
        r, j = 1, 1
        for k, s in specs:
            j *= s
            r += (k - 1) * j
        return r

    passed, message = verdict(ex.q3, jump_first)
    assert not passed and "before the receptive field" in message


def test_q3_starting_from_zero():
    def from_zero(specs):
        r, j = 0, 1
        for k, s in specs:
            r += (k - 1) * j
            j *= s
        return r

    passed, message = verdict(ex.q3, from_zero)
    assert not passed and "start from r = 1" in message


def test_q3_returning_a_list():
    passed, message = verdict(ex.q3, lambda specs: [1, 2])
    assert not passed and "return one number" in message

"""Exercises of notebook 03: references pass, typical mistakes get the message meant for them."""

import keras
import pytest
from keras import layers, ops

from unet_course.exercises import ex03 as ex
from unet_course.models import conv_block, encoder_block


def verdict(exercise, answer):
    passed, message = exercise.verdict(answer)
    return passed, message


@pytest.mark.parametrize(
    "exercise, reference",
    [
        (ex.q1, ex.conv_block_answer),
        (ex.q2, ex.encoder_answer),
        (ex.q3, ex.receptive_field_of),
        (ex.q4, ex.receptive_field_dilated),
    ],
)
def test_reference_passes(exercise, reference, capsys):
    exercise.check(reference)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3, ex.q4])
def test_none_and_not_implemented_give_feedback(exercise, capsys):
    def todo(*args, **kwargs):
        raise NotImplementedError()

    exercise.check(None)
    out = capsys.readouterr().out
    assert "❌" in out and "You passed None" in out
    passed, message = verdict(exercise, todo)
    assert not passed and "not yet implemented" in message


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3, ex.q4])
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

    def as_sequential(x, num_filters, padding="same"):  # a Sequential called like a layer
        return keras.Sequential(
            [
                layers.Conv2D(num_filters, 3, padding=padding, activation="relu"),
                layers.Conv2D(num_filters, 3, padding=padding),
                layers.Activation("relu"),
            ]
        )(x)

    def as_nested_model(x, num_filters, padding="same"):  # a functional model inside the graph
        inner = keras.Input(x.shape[1:])
        y = keras.activations.relu(layers.Conv2D(num_filters, 3, padding=padding)(inner))
        y = layers.Conv2D(num_filters, 3, padding=padding, use_bias=False)(y)  # no bias: still the block
        return keras.Model(inner, ops.maximum(y, 0.0))(x)  # a ReLU written as a maximum

    class Block(layers.Layer):  # a layer of layers
        def __init__(self, num_filters, padding):
            super().__init__()
            self.first = layers.Conv2D(num_filters, 3, padding=padding)
            self.second = layers.Conv2D(num_filters, 3, padding=padding)

        def call(self, t):
            return ops.relu(self.second(ops.relu(self.first(t))))

        def compute_output_shape(self, shape):
            return self.second.compute_output_shape(self.first.compute_output_shape(shape))

    def as_subclassed_layer(x, num_filters, padding="same"):
        return Block(num_filters, padding)(x)

    def package_block(x, num_filters, padding="same"):
        return conv_block(x, num_filters, padding=padding)

    for answer in (with_relu_layers, with_ops, as_sequential, as_nested_model, as_subclassed_layer, package_block):
        passed, message = verdict(ex.q1, answer)
        assert passed, f"{answer.__name__}: {message}"


def _block(
    num_convs=2,
    kernel=3,
    relu=(True, True),
    fixed_filters=None,
    pool=False,
    use_padding=True,
    relu_first=False,
    activation="relu",
    strides=1,
):
    def answer(x, num_filters, padding="same"):
        filters = fixed_filters or num_filters
        for i in range(num_convs):
            if relu_first:
                x = layers.ReLU()(x)
            x = layers.Conv2D(filters, kernel, strides=strides, padding=padding if use_padding else "same")(x)
            if not relu_first and relu[i % len(relu)]:
                x = layers.Activation(activation)(x)
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
        (_block(fixed_filters=64), "has 64 filters, expected 4"),
        (_block(relu=(True, False)), "the second convolution has no ReLU after it"),
        (_block(relu=(False, True)), "the first convolution has no ReLU after it"),
        (_block(relu=(False, False)), "neither convolution is followed by a ReLU"),
        (_block(activation="sigmoid"), "applies sigmoid where the ReLUs go"),
        (_block(pool=True), "pooling layer"),
        (_block(use_padding=False), "pass `padding` on"),
        (_block(relu_first=True), "*before* its convolution"),
        (_block(strides=2), "strides (2, 2)"),
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
    assert not passed and "BatchNormalization layer" in message


def test_q1_separable_and_parallel_convolutions_are_caught():
    def separable(x, num_filters, padding="same"):
        for _ in range(2):
            x = layers.SeparableConv2D(num_filters, 3, padding=padding, activation="relu")(x)
        return x

    def parallel(x, num_filters, padding="same"):
        a = layers.Conv2D(num_filters, 3, padding=padding, activation="relu")(x)
        b = layers.Conv2D(num_filters, 3, padding=padding, activation="relu")(x)
        return layers.Add()([a, b])

    passed, message = verdict(ex.q1, separable)
    assert not passed and "SeparableConv2D" in message
    passed, message = verdict(ex.q1, parallel)
    assert not passed and "not applied one after the other" in message


# ---------------------------------------------------------------- q2


def test_q2_accepts_own_layers_sequential_levels_and_the_package_block():
    def own_layers(x, base_filters, depth):
        skips = []
        for level in range(depth):
            for _ in range(2):
                x = layers.Conv2D(base_filters * 2**level, 3, padding="same", activation="relu")(x)
            skips.append(x)
            x = layers.MaxPooling2D(2)(x)
        return skips, x

    def sequential_levels(x, base_filters, depth):
        skips = []
        for level in range(depth):
            filters = base_filters * 2**level
            block = keras.Sequential(
                [layers.Conv2D(filters, 3, padding="same"), layers.ReLU(), layers.Conv2D(filters, 3, padding="same")]
            )
            x = ops.relu(block(x))
            skips.append(x)
            x = layers.MaxPool2D()(x)
        return skips, x

    for answer in (own_layers, sequential_levels, ex.encoder_answer):
        passed, message = verdict(ex.q2, answer)
        assert passed, f"{answer.__name__}: {message}"


def test_q2_skips_deepest_first_are_refused():
    def deepest_first(x, base_filters, depth):
        skips, x = ex.encoder_answer(x, base_filters, depth)
        return skips[::-1], x

    passed, message = verdict(ex.q2, deepest_first)
    assert not passed and "deepest first" in message and "shallowest first" in message


def _levels(pool=lambda: layers.MaxPooling2D(2), relu=True):
    def answer(x, base_filters, depth):
        skips = []
        for level in range(depth):
            for _ in range(2):
                x = layers.Conv2D(base_filters * 2**level, 3, padding="same")(x)
                x = layers.ReLU()(x) if relu else x
            skips.append(x)
            x = pool()(x)
        return skips, x

    return answer


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_levels(pool=lambda: layers.AveragePooling2D(2)), "*max* pooling"),
        (_levels(pool=lambda: layers.MaxPooling2D(3, strides=2, padding="same")), "pool_size (3, 3)"),
        (_levels(relu=False), "a ReLU is missing at the end"),
    ],
)
def test_q2_pooling_kind_and_relus(answer, phrase):
    passed, message = verdict(ex.q2, answer)
    assert not passed and phrase in message, message


def test_q2_strided_convolutions_instead_of_pooling():
    def strided(x, base_filters, depth):
        skips = []
        for level in range(depth):
            x = ex.conv_block(x, base_filters * 2**level)
            skips.append(x)
            x = layers.Conv2D(base_filters * 2**level, 2, strides=2)(x)
        return skips, x

    passed, message = verdict(ex.q2, strided)
    assert not passed and "strided convolutions" in message


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


def test_q3_adding_k_instead_of_k_minus_1():
    passed, message = verdict(ex.q3, lambda specs: 1 + sum(k for k, _ in specs))
    assert not passed and "you add k for each layer" in message


def test_q3_other_correct_answers():
    from functools import reduce

    def backwards(specs):  # from the last layer back to the input: r = r * s + (k - s)
        r = 1
        for k, s in reversed(specs):
            r = r * s + (k - s)
        return r

    def folded(specs):
        return reduce(lambda rj, ks: (rj[0] + (ks[0] - 1) * rj[1], rj[1] * ks[1]), specs, (1, 1))[0]

    for answer in (backwards, folded):
        passed, message = verdict(ex.q3, answer)
        assert passed, message


# ---------------------------------------------------------------- q4: dilation


def test_q4_other_correct_answers():
    from unet_course.analysis.receptive_field import receptive_field

    def effective_kernels(specs):  # a dilated kernel is a plain one of width d * (k - 1) + 1
        return receptive_field([(d * (k - 1) + 1, s) for k, s, d in specs])

    def backwards(specs):  # from the last layer back to the input
        r = 1
        for k, s, d in reversed(specs):
            span = d * (k - 1) + 1
            r = r * s + (span - s)
        return r

    for answer in (effective_kernels, backwards):
        passed, message = verdict(ex.q4, answer)
        assert passed, message


def test_q4_agrees_with_keras_dilated_layers():
    from unet_course.analysis.receptive_field import model_specs, receptive_field

    inputs = keras.Input((64, 64, 1))
    x = layers.Conv2D(1, 3, padding="same")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(1, 3, dilation_rate=3, padding="same")(x)
    model = keras.Model(inputs, x)
    assert ex.receptive_field_dilated([(3, 1, 1), (2, 2, 1), (3, 1, 3)]) == receptive_field(
        [(k, s) for _, k, s in model_specs(model)]
    )


def test_q4_ignoring_the_dilation():
    passed, message = verdict(ex.q4, lambda specs: ex.receptive_field_of([(k, s) for k, s, _ in specs]))
    assert not passed and "you ignore the dilation" in message and "expected 5" in message


def test_q4_dilation_multiplying_the_jump():
    def jump_times_dilation(specs):
        r, j = 1, 1
        for k, s, d in specs:
            r += d * (k - 1) * j
            j *= s * d
        return r

    passed, message = verdict(ex.q4, jump_times_dilation)
    assert not passed and "you multiply the jump by the dilation" in message


def test_q4_kernel_as_k_times_d_and_pairs_unpacked():
    def k_times_d(specs):
        r, j = 1, 1
        for k, s, d in specs:
            r += (k * d - 1) * j
            j *= s
        return r

    passed, message = verdict(ex.q4, k_times_d)
    assert not passed and "k - 1 gaps" in message
    passed, message = verdict(ex.q4, ex.receptive_field_of)  # exercise 3's answer, unchanged
    assert not passed and "unpack three values" in message


def test_targets_are_the_notebook_s_names():
    assert (ex.q1.target, ex.q2.target, ex.q3.target, ex.q4.target) == (
        "conv_block_answer",
        "encoder_answer",
        "receptive_field_of",
        "receptive_field_dilated",
    )

"""Exercises of notebook 03: references pass, typical mistakes get the message meant for them."""

import keras
import numpy as np
import pytest
from keras import layers, ops

from unet_course.analysis.receptive_field import receptive_field
from unet_course.exercises import ex03 as ex
from unet_course.models import build_unet, conv_block, encoder_block


def verdict(exercise, answer):
    passed, message = exercise.verdict(answer)
    return passed, message


@pytest.mark.parametrize(
    "exercise, reference",
    [
        (ex.q1, ex.encoder_sizes),
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


# ---------------------------------------------------------------- q1: the sizes of a valid encoder


def test_q1_other_correct_answers():
    def recursive(n, depth):  # one level, then the rest on the pooled size
        n = n - 4
        if n < 1:
            return None
        if depth == 0:
            return [n]
        if n % 2:
            return None
        rest = recursive(n // 2, depth - 1)
        return None if rest is None else [n] + rest

    def by_keras(n, depth):  # build the paper's encoder and read its shapes (as a tuple of numpy ints)
        x, sizes = keras.Input((n, n, 1)), []
        for level in range(depth + 1):
            if x.shape[1] < 5:  # two valid 3x3 convolutions need 5 pixels (Keras refuses an empty output)
                return None
            x = conv_block(x, 1, padding="valid", name=f"level{level}")
            sizes.append(np.int64(x.shape[1]))
            if level < depth:
                if x.shape[1] % 2:
                    return None
                x = layers.MaxPooling2D(2)(x)
        return tuple(sizes)

    for answer in (recursive, by_keras):
        passed, message = verdict(ex.q1, answer)
        assert passed, f"{answer.__name__}: {message}"


def _sizes(per_conv=2, bottleneck=True, odd="none", pool_first=False):
    return lambda n, depth: ex._sizes_variant(
        n, depth, per_conv=per_conv, bottleneck=bottleneck, odd=odd, pool_first=pool_first
    )


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_sizes(per_conv=1), "1 pixel on *each* side"),
        (_sizes(per_conv=4), "not 2 per side"),
        (_sizes(bottleneck=False), "the bottleneck is missing"),
        (_sizes(pool_first=True), "you pool before the level's convolutions"),
        (_sizes(odd="floor"), "size is odd when it reaches the 2x2 pooling"),
        (lambda n, depth: None if n % 2**depth else ex.encoder_sizes(n, depth), "n need not be a multiple"),
        (lambda n, depth: [n - 4 * (level + 1) for level in range(depth + 1)], "expected"),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = verdict(ex.q1, answer)
    assert not passed and phrase in message, message


def test_q1_shape_of_the_answer():
    passed, message = verdict(ex.q1, lambda n, depth: n - 4 * depth)
    assert not passed and "one number" in message
    passed, message = verdict(ex.q1, lambda n, depth: [s / 1 + 0.5 for s in ex.encoder_sizes(n, depth) or [1]])
    assert not passed and "whole number" in message


def test_q1_invalid_sizes_get_their_reason():
    def shrinks_forever(n, depth):  # floors odd sizes, and never notices a size below 1
        sizes = []
        for _ in range(depth + 1):
            n -= 4
            sizes.append(n)
            n //= 2
        return sizes

    passed, message = verdict(ex.q1, shrinks_forever)
    assert not passed and "expected None" in message


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
            x = conv_block(x, base_filters * 2**level)
            skips.append(x)
            x = layers.Conv2D(base_filters * 2**level, 2, strides=2)(x)
        return skips, x

    passed, message = verdict(ex.q2, strided)
    assert not passed and "strided convolutions" in message


def test_q2_missing_pooling():
    def no_pool(x, base_filters, depth):
        skips = []
        for level in range(depth):
            x = conv_block(x, base_filters * 2**level)
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
        skips, x = ex.encoder_answer(x, base_filters, depth)
        return skips, conv_block(x, base_filters * 2**depth)

    passed, message = verdict(ex.q2, with_bottleneck)
    assert not passed and "bottleneck" in message


def test_q2_wrong_return_values():
    passed, message = verdict(ex.q2, lambda x, base_filters, depth: ex.encoder_answer(x, base_filters, depth)[1])
    assert not passed and "return skips, x" in message
    passed, message = verdict(ex.q2, lambda x, base_filters, depth: ex.encoder_answer(x, base_filters, depth)[::-1])
    assert not passed and "(pooled, skips)" in message


def test_q2_one_level_short():
    def short(x, base_filters, depth):
        return ex.encoder_answer(x, base_filters, depth - 1) if depth > 1 else ex.encoder_answer(x, base_filters, depth)

    passed, message = verdict(ex.q2, short)
    assert not passed and "one per level" in message


# ---------------------------------------------------------------- q3: the receptive field of a whole U-Net


def _window(**mistake):
    return lambda specs, position: ex._window_variant(specs, position, **mistake)


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_window(forward=True), "from the input to the output"),
        (_window(up="times"), "you multiply by s, as for a pooling"),
        (_window(up="ignore"), "unchanged through an upsampling"),
        (_window(pool="start"), "reads s units"),
        (_window(conv="centred"), "as with 'same' padding"),
        (_window(conv="k"), "by k - 1, not k"),
        (_window(up="divide"), "divide and round down"),
    ],
)
def test_q3_typical_mistakes(answer, phrase):
    passed, message = verdict(ex.q3, answer)
    assert not passed and phrase in message, message


def test_q3_shape_of_the_answer():
    def width(specs, position):
        first, last = ex.receptive_field_of(specs, position)
        return last - first + 1

    passed, message = verdict(ex.q3, width)
    assert not passed and "the width is last - first + 1" in message
    passed, message = verdict(ex.q3, lambda specs, position: [position] * 3)
    assert not passed and "return two" in message


def test_q3_other_correct_answers():
    def as_sets(specs, position):  # every unit, layer by layer, as a set: slow but plain
        units = {position}
        for kind, size in specs[::-1]:
            if kind == "conv":
                units = {u + t for u in units for t in range(size)}
            elif kind == "pool":
                units = {size * u + t for u in units for t in range(size)}
            else:
                units = {u // size for u in units}
        return np.array([min(units), max(units)])

    def recursive(specs, position):
        if not specs:
            return [position, position]
        *rest, (kind, size) = specs
        if kind == "up":
            return recursive(rest, position // size)
        first, _ = recursive(rest, position * (size if kind == "pool" else 1))
        last_unit = position * size + size - 1 if kind == "pool" else position + size - 1
        return [first, recursive(rest, last_unit)[1]]

    for answer in (as_sets, recursive):
        passed, message = verdict(ex.q3, answer)
        assert passed, f"{answer.__name__}: {message}"


def _probe_unet(size, depth):
    """A valid U-Net with 1 channel per layer, positive kernels, zero biases: a unit is non-zero exactly when
    a white input pixel lies in its receptive field."""
    unet = build_unet((size, size, 1), 2, depth=depth, base_filters=1, padding="valid")
    probe = keras.Model(unet.input, unet.get_layer("dec1_relu2").output)
    for layer in probe.layers:
        if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose)):
            kernel, bias = layer.get_weights()
            layer.set_weights([np.full_like(kernel, 1 / kernel[..., 0, 0].size), np.zeros_like(bias)])
    return probe


def test_q3_reference_agrees_with_a_brute_force_measurement():
    """Light one input row at a time in a real Keras valid U-Net (skips included): the rows that reach an output
    unit are its receptive field, and the deepest path's window of the reference is exactly that."""
    size, depth = 44, 2  # 44 -> 40, 20 -> 16, 8 -> 4 -> up 8 -> 4 -> up 8 -> 4
    probe = _probe_unet(size, depth)
    rows = np.zeros((size, size, size, 1), "float32")
    rows[np.arange(size), np.arange(size), :, 0] = 1.0
    out = probe.predict(rows, verbose=0)[..., 0]  # (row lit, output row, output column)
    assert out.shape[1] == 4
    for position in range(out.shape[1]):
        lit = np.flatnonzero(out[:, position, 0] > 0)
        assert (int(lit.min()), int(lit.max())) == ex.receptive_field_of(ex.unet_path(depth), position)
    widths = {
        ex.receptive_field_of(ex.unet_path(4), o)[1] - ex.receptive_field_of(ex.unet_path(4), o)[0] + 1
        for o in range(388)
    }
    assert widths == {188, 204}


# ---------------------------------------------------------------- predictions


def test_p1_valid_size(capsys):
    ex.p1.predict(62)
    assert ex.p1.verdict(62).passed
    for guess, phrase in ((63, "on *each* side"), (64, "'same' padding"), (60, "a *block*"), (61, "k - 1 = 2")):
        ex.p1.predict(guess)
        passed, message = ex.p1.verdict(62)
        assert not passed and phrase in message, message


def test_p2_block_parameters(capsys):
    ex.p2.predict(2768)
    assert ex.p2.verdict(2768).passed
    for guess, phrase in ((2736, "biases"), (896, "16 channels, not the image's 3"), (448, "first convolution only")):
        ex.p2.predict(guess)
        passed, message = ex.p2.verdict(2768)
        assert not passed and phrase in message, message


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
    passed, message = verdict(ex.q4, lambda specs: receptive_field([(k, s) for k, s, _ in specs]))
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
    passed, message = verdict(ex.q4, receptive_field)  # section 7's recurrence, unchanged
    assert not passed and "unpack three values" in message


def test_targets_are_the_notebook_s_names():
    assert (ex.q1.target, ex.q2.target, ex.q3.target, ex.q4.target) == (
        "encoder_sizes",
        "encoder_answer",
        "receptive_field_of",
        "receptive_field_dilated",
    )

"""Exercises of notebook 06: assemble a U-Net, the paper's valid-padding size rules."""

import keras
import pytest
from keras import layers

from unet_course.exercises import ex06 as ex
from unet_course.models import build_unet, conv_block, decoder_block, encoder_block


def not_done(*args, **kwargs):
    raise NotImplementedError()


# ---------------------------------------------------------------- q1


def make_unet(
    *, levels_off=0, skip_mode="concat", bottleneck=True, double=True, classifier=True, concat_order="skip_first"
):
    """A U-Net maker with one typical mistake switched on."""

    def assemble(input_shape, num_classes, depth=4, base_filters=64):
        inputs = keras.Input(shape=input_shape)
        x, skips = inputs, []
        filters = lambda level: base_filters * 2**level if double else base_filters  # noqa: E731
        for level in range(depth - levels_off):
            features, x = encoder_block(x, filters(level))
            skips.append(features)
        if bottleneck:
            x = conv_block(x, base_filters * 2**depth)
        for level in reversed(range(depth - levels_off)):
            if concat_order == "skip_first":
                x = decoder_block(x, skips[level], filters(level), skip_mode=skip_mode)
            else:  # by hand, with the decoder tensor first
                x = layers.Conv2DTranspose(filters(level), 2, strides=2)(x)
                x = layers.Concatenate()([x, skips[level]])
                x = conv_block(x, filters(level))
        if classifier:
            x = layers.Conv2D(num_classes, 1, activation="softmax" if num_classes > 1 else "sigmoid")(x)
        return keras.Model(inputs, x)

    return assemble


def test_q1_reference_passes(capsys):
    ex.q1.check(ex.assemble_unet)
    out = capsys.readouterr().out
    assert "✅" in out and "31,030,658" in out


def test_q1_accepts_either_concat_order():
    passed, message = ex.q1.verdict(make_unet(concat_order="decoder_first"))
    assert passed, message


def own_layers(input_shape, num_classes, depth=4, base_filters=64):
    """No package blocks: Sequential conv blocks, keras.ops merges and a separate softmax layer."""
    from keras import ops

    def block(filters):
        return keras.Sequential(
            [
                layers.Conv2D(filters, 3, padding="same", activation="relu"),
                layers.Conv2D(filters, 3, padding="same", activation="relu"),
            ]
        )

    inputs = keras.Input(input_shape)
    x, skips = inputs, []
    for level in range(depth):
        x = block(base_filters * 2**level)(x)
        skips.append(x)
        x = layers.MaxPooling2D()(x)
    x = block(base_filters * 2**depth)(x)
    for level in reversed(range(depth)):
        x = layers.Conv2DTranspose(base_filters * 2**level, 2, strides=2)(x)
        x = block(base_filters * 2**level)(ops.concatenate([x, skips[level]], axis=-1))
    x = layers.Conv2D(num_classes, 1)(x)
    x = layers.Activation("sigmoid")(x) if num_classes == 1 else layers.Softmax()(x)
    return keras.Model(inputs, x)


def nested_levels(input_shape, num_classes, depth=4, base_filters=64):
    """Every level its own keras.Model, called like a layer."""
    inputs = keras.Input(input_shape)
    x, skips = inputs, []
    for level in range(depth):
        level_in = keras.Input(x.shape[1:])
        features, pooled = encoder_block(level_in, base_filters * 2**level)
        features, x = keras.Model(level_in, [features, pooled])(x)
        skips.append(features)
    x = conv_block(x, base_filters * 2**depth)
    for level in reversed(range(depth)):
        a, b = keras.Input(x.shape[1:]), keras.Input(skips[level].shape[1:])
        x = keras.Model([a, b], decoder_block(a, b, base_filters * 2**level))([x, skips[level]])
    activation = "sigmoid" if num_classes == 1 else "softmax"
    return keras.Model(inputs, layers.Conv2D(num_classes, 1, activation=activation)(x))


@pytest.mark.parametrize("answer", [own_layers, nested_levels])
def test_q1_accepts_other_correct_answers(answer):
    passed, message = ex.q1.verdict(answer)
    assert passed, message


def _built(**options):
    def assemble(input_shape, num_classes, depth=4, base_filters=64):
        return build_unet(input_shape, num_classes, depth=depth, base_filters=base_filters, **options)

    return assemble


def _skip_from_level_0(input_shape, num_classes, depth=4, base_filters=64):
    inputs = keras.Input(input_shape)
    x, skips = inputs, []
    for level in range(depth):
        features, x = encoder_block(x, base_filters * 2**level)
        skips.append(features)
    x = conv_block(x, base_filters * 2**depth)
    for level in reversed(range(depth)):
        x = decoder_block(x, skips[0], base_filters * 2**level)  # always the first level's features
    return keras.Model(inputs, layers.Conv2D(num_classes, 1, activation="softmax")(x))


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_built(output_activation=None), "raw scores (logits)"),
        (_built(output_activation="sigmoid"), "not a softmax over the class axis"),
        (_built(output_activation="softmax"), "a softmax over a single channel always gives 1"),
        (_built(upsampling="bilinear"), "upsamples with UpSampling2D"),
        (_built(batch_norm=True), "BatchNormalization"),
        (_skip_from_level_0, "crops a skip"),
    ],
)
def test_q1_classifier_and_blocks_as_the_task_states(answer, phrase):
    passed, message = ex.q1.verdict(answer)
    assert not passed and phrase in message, message


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (make_unet(skip_mode="none"), "has no skip connections"),
        (make_unet(levels_off=1), "Is your model truncated?"),
        (make_unet(bottleneck=False), "has no bottleneck"),
        (make_unet(double=False), "filters double at each level"),
        (make_unet(classifier=False), "end with a 1x1 Conv2D with num_classes filters"),
        (make_unet(skip_mode="add", double=False), "merges skips by addition"),
        (lambda *args: "a model", "not a keras.Model"),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = ex.q1.verdict(answer)
    assert not passed and phrase in message, message


def test_q1_skip_from_the_wrong_tensor():
    def assemble(input_shape, num_classes, depth=4, base_filters=64):
        inputs = keras.Input(shape=input_shape)
        x, skips = inputs, []
        for level in range(depth):
            features, x = encoder_block(x, base_filters * 2**level)
            skips.append(features)
        x = conv_block(x, base_filters * 2**depth)
        for level in reversed(range(depth)):
            x = layers.Conv2DTranspose(base_filters * 2**level, 2, strides=2)(x)
            x = layers.Concatenate()([x, layers.Conv2D(base_filters * 2**level, 1)(x)])  # a "skip" from itself
            x = conv_block(x, base_filters * 2**level)
        return keras.Model(inputs, layers.Conv2D(num_classes, 1)(x))

    passed, message = ex.q1.verdict(assemble)
    assert not passed and "does not take an encoder's features" in message


def test_q1_none_and_not_done():
    passed, message = ex.q1.verdict(None)
    assert not passed and "You passed None" in message
    passed, message = ex.q1.verdict(not_done)
    assert not passed and "not yet implemented" in message


def test_q1_errors_inside_the_answer_are_reported():
    def broken(input_shape, num_classes, depth=4, base_filters=64):
        inputs = keras.Input(shape=input_shape)
        features, x = encoder_block(inputs, base_filters)
        x = decoder_block(x, x, base_filters)  # the skip is the pooled tensor: shapes do not match
        return keras.Model(inputs, x)

    passed, message = ex.q1.verdict(broken)
    assert not passed and "Your function raised" in message


# ---------------------------------------------------------------- q2, q3


def test_q2_reference_and_paper(capsys):
    assert ex.output_size_valid(572, 4) == 388
    ex.q2.check(ex.output_size_valid)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda size, depth: ex._size_variant(size, depth, enc=0), "each encoder level's two convolutions"),
        (lambda size, depth: ex._size_variant(size, depth, bottleneck=0), "forgot the bottleneck"),
        (lambda size, depth: ex._size_variant(size, depth, dec=0), "each decoder level's two convolutions"),
        (
            lambda size, depth: ex._size_variant(size, depth, enc=2, bottleneck=2, dec=2),
            "counted 2 pixels per conv block",
        ),
        (lambda size, depth: size, "returned the input size"),
        (lambda size, depth: "big", "return a whole number"),
        (lambda size, depth: size - 180, "expected 388"),
    ],
)
def test_q2_typical_mistakes(answer, phrase):
    passed, message = ex.q2.verdict(answer)
    assert not passed and phrase in message, message


def test_q2_other_correct_answers():
    def recursive(input_size, depth=4):
        if depth == 0:
            return input_size - 4  # the bottleneck
        return recursive((input_size - 4) // 2, depth - 1) * 2 - 4

    def closed_form(input_size, depth=4):  # each level down and up, unrolled: a factor 2**depth and a fixed cost
        size = input_size
        for _ in range(depth):
            size = (size - 4) // 2
        return (size - 4) * 2**depth - 4 * (2**depth - 1)

    for answer in (recursive, closed_form):
        passed, message = ex.q2.verdict(answer)
        assert passed, message


def test_q3_other_correct_answers():
    def by_output(input_size, depth=4):  # down, checking evenness; then only the output size matters
        size = input_size
        for _ in range(depth):
            if size <= 4 or (size - 4) % 2:
                return False
            size = (size - 4) // 2
        return ex.output_size_valid(input_size, depth) > 0 and size > 4

    def by_rule(input_size, depth=4):  # the pattern: smallest size plus a multiple of 2**depth
        smallest = next(s for s in range(1, 1000) if ex.is_valid_size(s, depth))
        return input_size >= smallest and (input_size - smallest) % 2**depth == 0

    for answer in (by_output, by_rule):
        passed, message = ex.q3.verdict(answer)
        assert passed, message


def test_q3_messages_show_where_the_size_fails():
    passed, message = ex.q3.verdict(lambda size, depth: (size - 4) % 2 == 0 and size > 4)
    assert not passed and "at encoder level 3 the size before pooling is 137, odd" in message
    passed, message = ex.q3.verdict(lambda size, depth: not ex.is_valid_size(size, depth))
    assert not passed and "even before every pooling and positive all the way" in message


def test_q2_q3_none_and_not_done():
    for exercise in (ex.q2, ex.q3):
        assert "You passed None" in exercise.verdict(None)[1]
        assert "not yet implemented" in exercise.verdict(not_done)[1]


def test_q3_reference_matches_the_package(capsys):
    from unet_course.models import valid_input_sizes

    for depth in (1, 2, 3, 4):
        fits = set(valid_input_sizes(depth, 1, 400))
        assert {s for s in range(1, 400) if ex.is_valid_size(s, depth)} == fits
    ex.q3.check(ex.is_valid_size)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda size, depth: size % 2**depth == 0, "rule for padding='same'"),
        (
            lambda size, depth: (size - 12) % 16 == 0 if depth == 4 else ex.is_valid_size(size, depth),
            "shrink to nothing",
        ),
        (lambda size, depth: 1, "return True or False"),
    ],
)
def test_q3_typical_mistakes(answer, phrase):
    passed, message = ex.q3.verdict(answer)
    assert not passed and phrase in message, message


def test_q2_q3_agree_with_build_unet():
    from unet_course.models import build_unet

    for size, depth in ((60, 2), (92, 3)):
        assert ex.is_valid_size(size, depth)
        model = build_unet((size, size, 1), 2, depth=depth, base_filters=2, padding="valid")
        assert model.output_shape[1] == ex.output_size_valid(size, depth)

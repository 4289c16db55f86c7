"""Exercises of notebook 06 (assembling U-Net): the whole network, and the paper's size rules."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Case, Mistake, call, exercise
from unet_course.models.unet import PAPER_PARAMETERS

NOTEBOOK = "06_assembling_unet"


def assemble_unet(input_shape, num_classes, depth=4, base_filters=64):
    import keras
    from keras import layers

    from unet_course.models import conv_block, decoder_block, encoder_block

    inputs = keras.Input(shape=input_shape)
    x = inputs
    skips = []
    for level in range(depth):  # contracting path: features go to the skips, x goes down
        features, x = encoder_block(x, base_filters * 2**level)
        skips.append(features)
    x = conv_block(x, base_filters * 2**depth)  # bottleneck
    for level in reversed(range(depth)):  # expanding path: the deepest skip first
        x = decoder_block(x, skips[level], base_filters * 2**level)
    activation = "sigmoid" if num_classes == 1 else "softmax"
    outputs = layers.Conv2D(num_classes, 1, activation=activation)(x)
    return keras.Model(inputs, outputs)


def output_size_valid(input_size, depth=4):
    size = input_size
    for _ in range(depth):
        size = (size - 4) // 2  # two 3x3 valid convs (-4), then 2x2 pooling
    size -= 4  # the bottleneck's two convs
    for _ in range(depth):
        size = size * 2 - 4  # upsampling doubles, two convs take 4 again
    return size


def is_valid_size(input_size, depth=4):
    size = input_size
    for _ in range(depth):
        size -= 4
        if size <= 0 or size % 2:
            return False
        size //= 2
    size -= 4
    for _ in range(depth):
        if size <= 0:
            return False
        size = size * 2 - 4
    return size > 0


# ---------------------------------------------------------------- q1: the whole U-Net


def _count(model, *class_names):
    return sum(type(layer).__name__ in class_names for layer in model.layers)


def _producer(tensor):
    history = getattr(tensor, "_keras_history", None)
    return getattr(history, "operation", None)


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _check_unet(model, input_shape, num_classes, depth, base_filters):
    import keras

    from unet_course.models import build_unet

    label = f"assemble_unet({input_shape}, {num_classes}, depth={depth}, base_filters={base_filters})"
    if not isinstance(model, keras.Model):
        raise Mistake(
            f"{label} returned {type(model).__name__}, not a keras.Model. End with `return keras.Model(inputs, outputs)`."
        )
    reference = build_unet(input_shape, num_classes, depth=depth, base_filters=base_filters)
    expected_shape = tuple(reference.output_shape)
    got_shape = tuple(model.output_shape) if not isinstance(model.output_shape, list) else None
    if got_shape is None:
        raise Mistake(f"{label} has {len(model.outputs)} outputs; a U-Net has one: the 1x1 classifier's.")
    pools, ups = _count(model, "MaxPooling2D"), _count(model, "Conv2DTranspose", "UpSampling2D")
    if got_shape[1:3] != expected_shape[1:3]:
        raise Mistake(
            f"{label} outputs {got_shape[1]}x{got_shape[2]} pixels but the input is {input_shape[0]}x{input_shape[1]}: "
            f"your model pools {pools} times and upsamples {ups} times. The decoder must undo every pooling."
        )
    if got_shape[-1] != num_classes:
        raise Mistake(
            f"{label} outputs {got_shape[-1]} channels, expected num_classes={num_classes}: "
            "end with a 1x1 Conv2D with num_classes filters (the classifier)."
        )
    if pools != depth:
        raise Mistake(
            f"{label} has {pools} max-pooling layers, but depth={depth} means {depth} encoder levels, each ending "
            "in a 2x2 pooling. Is your model truncated? Loop over range(depth)."
        )
    if ups != depth:
        raise Mistake(
            f"{label} has {ups} upsampling layers, but depth={depth} needs {depth} decoder levels. "
            "Use one decoder_block per encoder level."
        )
    merges = [layer for layer in model.layers if type(layer).__name__ in ("Concatenate", "Add")]
    if not merges:
        raise Mistake(
            f"{label} has no skip connections: no decoder level merges the encoder's features. "
            "Keep each encoder_block's `features` in a list and pass the matching one to decoder_block as `skip` "
            "(with skip_mode='concat', the default)."
        )
    if len(merges) < depth:
        raise Mistake(f"{label} has {len(merges)} skip connections, but each of the {depth} decoder levels needs one.")
    encoder_features = {id(_producer(layer.input)) for layer in model.layers if type(layer).__name__ == "MaxPooling2D"}
    for layer in merges:
        if not any(id(_producer(t)) in encoder_features for t in _as_list(layer.input)):
            raise Mistake(
                f"The merge layer {layer.name!r} does not take an encoder's features (the tensor that goes into a "
                "pooling layer): the skip must come from the encoder level at the same resolution."
            )
    if any(type(layer).__name__ == "Add" for layer in merges):
        raise Mistake(
            f"{label} merges skips by addition; the paper (and this exercise) concatenates them: skip_mode='concat'."
        )
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    bottleneck = [c for c in convs if c.filters == base_filters * 2**depth]
    if not bottleneck:
        raise Mistake(
            f"{label} has no bottleneck: no convolution has base_filters * 2**depth = {base_filters * 2**depth} filters. "
            "Between the last encoder level and the first decoder level comes conv_block(x, base_filters * 2**depth)."
        )
    expected_convs = 4 * depth + 3
    if len(convs) != expected_convs:
        raise Mistake(
            f"{label} has {len(convs)} Conv2D layers; a U-Net of depth {depth} has {expected_convs}: "
            f"2 per encoder level ({2 * depth}), 2 in the bottleneck, 2 per decoder level ({2 * depth}) and the 1x1 classifier."
        )
    if model.count_params() != reference.count_params():
        got_filters = sorted({c.filters for c in convs if c.kernel_size != (1, 1)})
        want = sorted({base_filters * 2**level for level in range(depth + 1)})
        hint = (
            f" Your convolutions have {got_filters} filters, expected {want}: filters double at each level, "
            "base_filters * 2**level."
            if got_filters != want
            else " Check the kernel sizes (3x3, and 1x1 for the classifier)."
        )
        raise Mistake(f"{label} has {model.count_params():,} parameters, expected {reference.count_params():,}.{hint}")


@exercise(
    "q1",
    "assemble a U-Net from the blocks",
    notebook=NOTEBOOK,
    reference=assemble_unet,
    hint="Keep a list `skips`. For level in range(depth): features, x = encoder_block(x, base_filters * 2**level) and append "
    "features. Then the bottleneck conv_block with base_filters * 2**depth filters. Then for level in "
    "reversed(range(depth)): x = decoder_block(x, skips[level], base_filters * 2**level). End with a 1x1 Conv2D.",
)
def q1(answer):
    import keras

    cases = [((32, 32, 1), 2, 2, 4), ((48, 64, 3), 3, 3, 4), ((16, 16, 2), 1, 1, 8)]
    for input_shape, num_classes, depth, base_filters in cases:
        model = call(
            answer,
            input_shape,
            num_classes,
            depth,
            base_filters,
            describe=f"for input_shape={input_shape}, num_classes={num_classes}, depth={depth}, base_filters={base_filters}",
        )
        _check_unet(model, input_shape, num_classes, depth, base_filters)
    # the paper's size: same padding needs a multiple of 16, and padding does not change the count
    paper = call(answer, (32, 32, 1), 2, 4, 64, describe="for depth=4, base_filters=64, 2 classes")
    count = paper.count_params() if isinstance(paper, keras.Model) else None
    if count != PAPER_PARAMETERS:
        raise Mistake(
            f"With depth=4, base_filters=64 and 2 classes your U-Net has {count:,} parameters; the paper's network (figure 1) has {PAPER_PARAMETERS:,}."
        )
    del paper
    return (
        f"correct! With depth=4, base_filters=64 and 2 classes your U-Net has {count:,} parameters: "
        "exactly the count that figure 1 of the paper implies."
    )


# ---------------------------------------------------------------- q2, q3: the paper's valid padding


def _size_variant(size, depth, enc=4, bottleneck=4, dec=4):
    for _ in range(depth):
        size = (size - enc) // 2
    size -= bottleneck
    for _ in range(depth):
        size = size * 2 - dec
    return size


_Q2_CASES = [(572, 4), (188, 4), (668, 4), (92, 3), (140, 3), (60, 2), (18, 1), (124, 2)]


_Q2_MISTAKES = {
    "forgot the 4 pixels that each encoder level's two convolutions take": dict(enc=0),
    "forgot the bottleneck's two convolutions (-4 at the bottom of the U)": dict(bottleneck=0),
    "forgot the 4 pixels that each decoder level's two convolutions take": dict(dec=0),
    "counted 2 pixels per conv block, but a block has two 3x3 convolutions, each trimming 2 (1 per side)": dict(
        enc=2, bottleneck=2, dec=2
    ),
    "forgot the -4 of every conv block": dict(enc=0, bottleneck=0, dec=0),
}


def _q2_cases():
    cases = []
    for size, depth in _Q2_CASES:
        mistakes = [
            (
                size,
                f"For input_size={size} you returned the input size. That is true with padding='same'; with the "
                "paper's valid padding every 3x3 convolution trims 1 pixel on each side.",
            )
        ]
        mistakes += [
            (
                _size_variant(size, depth, **options),
                "For {label} you returned {got}, expected {expected}: you " + text + ".",
            )
            for text, options in _Q2_MISTAKES.items()
        ]
        cases.append(
            Case(
                f"input_size={size}, depth={depth}",
                (size, depth),
                mistakes=tuple(mistakes),
                otherwise="For {label} you returned {got}, expected {expected} (the paper: 572 -> 388 with depth 4).",
            )
        )
    return cases


def _as_int(got, case):
    try:
        return int(got)
    except (TypeError, ValueError):
        raise Mistake(
            f"For {case.label} you returned {type(got).__name__} {got!r:.60}; return a whole number."
        ) from None


q2 = exercise(
    "q2",
    "output size with valid padding",
    notebook=NOTEBOOK,
    reference=output_size_valid,
    hint=(
        "Follow the size down and up the U. Each encoder level: two 3x3 valid convolutions take 4 pixels, then "
        "pooling halves.",
        "The bottleneck takes 4 more. Each decoder level: upsampling doubles, then two convolutions take 4.",
    ),
    cases=_q2_cases,
    coerce=_as_int,
    success="correct! With depth 4 the output is always 184 pixels smaller than the input: 572 -> 388.",
)


_Q3_CASES = [
    (572, 4),
    (576, 4),
    (570, 4),
    (588, 4),
    (188, 4),
    (172, 4),
    (512, 4),
    (92, 3),
    (96, 3),
    (18, 1),
    (20, 1),
    (8, 1),
    (14, 1),
    (256, 2),
]


@exercise(
    "q3",
    "which sizes fit valid padding",
    notebook=NOTEBOOK,
    reference=is_valid_size,
    hint="Walk down the U: subtract 4, the size must be positive and even before each pooling, halve. Then subtract 4 for "
    "the bottleneck and walk up (double, subtract 4): the output must stay positive.",
)
def q3(answer):
    for size, depth in _Q3_CASES:
        expected = is_valid_size(size, depth)
        got = call(answer, size, depth, describe=f"for input_size={size}, depth={depth}")
        if not isinstance(got, (bool, np.bool_)):
            raise Mistake(
                f"For input_size={size}, depth={depth} you returned {type(got).__name__} {got!r:.60}; return True or False."
            )
        if bool(got) == expected:
            continue
        if bool(got) == (size % 2**depth == 0):
            raise Mistake(
                f"For input_size={size}, depth={depth} you returned {bool(got)}: that is the rule for padding='same' "
                f"(divisible by 2**depth = {2**depth}). With valid padding each level first loses 4 pixels, "
                "and the size must be even at each pooling."
            )
        if got and _size_variant(size, depth) <= 0:
            raise Mistake(
                f"For input_size={size}, depth={depth} you returned True, but the feature maps shrink to nothing "
                f"(the output would be {_size_variant(size, depth)} pixels): check that every size stays positive."
            )
        raise Mistake(f"For input_size={size}, depth={depth} you returned {bool(got)}, expected {expected}.")
    return "correct! Valid sizes for depth 4 are 188, 204, ..., 572, 588: 16 apart, and each plus 4 is divisible by 16 (572 + 4 = 576)."

"""Exercises of notebook 06 (assembling U-Net): the whole network, and the paper's size rules."""

from __future__ import annotations

import warnings

import numpy as np

from unet_course.exercises import Case, Mistake, call, exercise
from unet_course.exercises._core import distinct, layers_of, walk_layers
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


def _producer(tensor):
    history = getattr(tensor, "_keras_history", None)
    return getattr(history, "operation", None)


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _is_flat(model) -> bool:
    """No nested model or layer of layers: the graph's own tensors connect all its layers."""
    import keras

    own = [op for op in model.operations if not isinstance(op, keras.layers.InputLayer)]
    return len(own) == len(walk_layers(model))


def _check_output_activation(model, input_shape, num_classes, label):
    """The classifier ends in a softmax over the classes (a sigmoid for one class): checked on its output."""
    import keras

    sample = np.random.default_rng(3).normal(size=(1, *input_shape)).astype("float32")
    with warnings.catch_warnings():  # Keras warns about a softmax over one channel: the message below says it
        warnings.simplefilter("ignore")
        out = np.asarray(keras.ops.convert_to_numpy(model(sample, training=False)), dtype=float)
    low, high = float(out.min()), float(out.max())
    if num_classes == 1:
        if np.allclose(out, 1.0, atol=1e-6):
            raise Mistake(
                f"{label} outputs 1.0 at every pixel: a softmax over a single channel always gives 1. With one class "
                "the classifier ends in a sigmoid (activation='sigmoid'), the probability of the class."
            )
        if low < 0 or high > 1:
            raise Mistake(
                f"{label} outputs values from {low:.3g} to {high:.3g}: raw scores (logits), not probabilities. With "
                "one class the 1x1 classifier ends in a sigmoid (activation='sigmoid')."
            )
        return
    sums = out.sum(axis=-1)
    if low < -1e-6 or high > 1 + 1e-6:
        raise Mistake(
            f"{label} outputs values from {low:.3g} to {high:.3g}: raw scores (logits), not probabilities. The "
            "classifier ends in a softmax over the classes: Conv2D(num_classes, 1, activation='softmax')."
        )
    if not np.allclose(sums, 1.0, atol=1e-4):
        raise Mistake(
            f"{label} outputs values between 0 and 1, but the {num_classes} class scores of a pixel sum to "
            f"{sums.min():.3g} to {sums.max():.3g}, not 1: they are not a softmax over the class axis (the last one). "
            "End with Conv2D(num_classes, 1, activation='softmax')."
        )


def _check_unet(model, input_shape, num_classes, depth, base_filters):
    import keras
    from keras import layers

    from unet_course.models import build_unet

    label = f"assemble_unet({input_shape}, {num_classes}, depth={depth}, base_filters={base_filters})"
    if not isinstance(model, keras.Model):
        raise Mistake(
            f"{label} returned {type(model).__name__}, not a keras.Model. "
            "End with `return keras.Model(inputs, outputs)`."
        )
    if len(model.outputs) != 1:
        raise Mistake(f"{label} has {len(model.outputs)} outputs; a U-Net has one: the 1x1 classifier's.")
    reference = build_unet(input_shape, num_classes, depth=depth, base_filters=base_filters)
    expected_shape = tuple(reference.output_shape)
    got_shape = tuple(model.outputs[0].shape)
    pools = layers_of(model, layers.MaxPooling2D, "MaxPool")
    transposes = layers_of(model, layers.Conv2DTranspose)
    resizes = layers_of(model, layers.UpSampling2D, layers.Resizing, "Resize")
    convs = [c for c in layers_of(model, layers.Conv2D) if not isinstance(c, layers.Conv2DTranspose)]
    valid = [c for c in convs if c.padding == "valid" and tuple(c.kernel_size) != (1, 1)]
    if valid:
        raise Mistake(
            f"{label} has convolutions with padding='valid' (e.g. {valid[0].name!r}); the exercise asks for same "
            "padding, the blocks' default, so that the output has the input's size."
        )
    ups = len(transposes) + len(resizes)
    if got_shape[1:3] != expected_shape[1:3]:
        raise Mistake(
            f"{label} outputs {got_shape[1]}x{got_shape[2]} pixels but the input is {input_shape[0]}x{input_shape[1]}: "
            f"your model pools {len(pools)} times and upsamples {ups} times. The decoder must undo every pooling."
        )
    if got_shape[-1] != num_classes:
        raise Mistake(
            f"{label} outputs {got_shape[-1]} channels, expected num_classes={num_classes}: "
            "end with a 1x1 Conv2D with num_classes filters (the classifier)."
        )
    if len(pools) != depth:
        raise Mistake(
            f"{label} has {len(pools)} max-pooling layers, but depth={depth} means {depth} encoder levels, each ending "
            "in a 2x2 pooling. Is your model truncated? Loop over range(depth)."
        )
    if ups != depth:
        raise Mistake(
            f"{label} has {ups} upsampling layers, but depth={depth} needs {depth} decoder levels. "
            "Use one decoder_block per encoder level."
        )
    if resizes:
        raise Mistake(
            f"{label} upsamples with {type(resizes[0]).__name__}; the exercise's U-Net, like decoder_block's "
            "default and the paper, upsamples with a 2x2 transposed convolution (upsampling='transpose')."
        )
    normalised = layers_of(model, layers.BatchNormalization)
    if normalised:
        raise Mistake(
            f"{label} has BatchNormalization layers; the exercise's U-Net (build_unet's default, the paper's) has "
            "none: leave batch_norm at False."
        )
    concats, adds = layers_of(model, "Concatenate"), layers_of(model, "Add")
    merges = concats + adds
    if not merges:
        raise Mistake(
            f"{label} has no skip connections: no decoder level merges the encoder's features. "
            "Keep each encoder_block's `features` in a list and pass the matching one to decoder_block as `skip` "
            "(with skip_mode='concat', the default)."
        )
    if len(merges) < depth:
        raise Mistake(f"{label} has {len(merges)} skip connections, but each of the {depth} decoder levels needs one.")
    crops = layers_of(model, layers.Cropping2D)
    if crops:
        raise Mistake(
            f"{label} crops a skip ({crops[0].name!r}): with same padding a skip and the upsampled tensor it joins "
            "have the same size, so a crop means the skip comes from another level. Decoder level `level` takes "
            "skips[level], the features of the encoder level at the same resolution (deepest first)."
        )
    if _is_flat(model):
        encoder_features = {id(_producer(pool.input)) for pool in pools}
        for merge in merges:
            if not any(id(_producer(t)) in encoder_features for t in _as_list(merge.input)):
                raise Mistake(
                    f"The merge {merge.name!r} does not take an encoder's features (the tensor that goes into a "
                    "pooling layer): the skip must come from the encoder level at the same resolution."
                )
    if adds:
        raise Mistake(
            f"{label} merges skips by addition; the paper (and this exercise) concatenates them: skip_mode='concat'."
        )
    bottleneck = [c for c in convs if c.filters == base_filters * 2**depth]
    if not bottleneck:
        raise Mistake(
            f"{label} has no bottleneck: "
            f"no convolution has base_filters * 2**depth = {base_filters * 2**depth} filters. "
            "Between the last encoder level and the first decoder level comes conv_block(x, base_filters * 2**depth)."
        )
    expected_convs = 4 * depth + 3
    if len(convs) != expected_convs:
        raise Mistake(
            f"{label} has {len(convs)} Conv2D layers; a U-Net of depth {depth} has {expected_convs}: "
            f"2 per encoder level ({2 * depth}), 2 in the bottleneck, "
            f"2 per decoder level ({2 * depth}) and the 1x1 classifier."
        )
    if model.count_params() != reference.count_params():
        got_filters = sorted({c.filters for c in convs + transposes if tuple(c.kernel_size) != (1, 1)})
        want = sorted({base_filters * 2**level for level in range(depth + 1)})
        kernels = sorted({tuple(c.kernel_size) for c in convs})
        if got_filters != want:
            why = (
                f" Your convolutions have {got_filters} filters, expected {want}: filters double at each level, "
                "base_filters * 2**level."
            )
        elif kernels != [(1, 1), (3, 3)]:
            why = f" Your Conv2D kernels are {kernels}: 3x3 in the blocks, 1x1 for the classifier."
        else:
            why = ""
        raise Mistake(f"{label} has {model.count_params():,} parameters, expected {reference.count_params():,}.{why}")
    _check_output_activation(model, input_shape, num_classes, label)


@exercise(
    "q1",
    "assemble a U-Net from the blocks",
    notebook=NOTEBOOK,
    reference=assemble_unet,
    hint=(
        "Two loops and a bottleneck between them. Going down, each encoder_block gives features to keep (for the "
        "skips) and a pooled tensor to go on with; the filters double at each level.",
        "At the bottom, a conv_block with the next doubling of filters. Going up, visit the levels in reverse: "
        "each decoder_block takes the skip of the level at the same resolution.",
        "Finish with the classifier: a 1x1 convolution with one filter per class and a softmax (a sigmoid for a "
        "single class), then build the model from the input and that output.",
    ),
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
            describe=(
                f"for input_shape={input_shape}, num_classes={num_classes}, depth={depth}, base_filters={base_filters}"
            ),
        )
        _check_unet(model, input_shape, num_classes, depth, base_filters)
    # the paper's size: same padding needs a multiple of 16, and padding does not change the count
    paper = call(answer, (32, 32, 1), 2, 4, 64, describe="for depth=4, base_filters=64, 2 classes")
    count = paper.count_params() if isinstance(paper, keras.Model) else None
    if count is None:
        raise Mistake(
            f"For depth=4, base_filters=64 and 2 classes your function returned {type(paper).__name__}, "
            "not a keras.Model."
        )
    if count != PAPER_PARAMETERS:
        raise Mistake(
            f"With depth=4, base_filters=64 and 2 classes your U-Net has {count:,} parameters; the paper's network "
            f"(figure 1) has {PAPER_PARAMETERS:,}."
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
                mistakes=distinct(mistakes, output_size_valid(size, depth)),
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
        "Follow one side length down the U and back up, layer by layer. What does one 3x3 convolution without "
        "padding do to it? And a 2x2 pooling, and a 2x2 up-convolution of stride 2?",
        "A valid 3x3 convolution trims 1 pixel on each side, and every conv block has two of them: the encoder "
        "levels, the bottleneck between the two paths, and the decoder levels.",
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


def _walk(size, depth):
    """The sizes down and up a valid-padding U-Net, and the first problem met (or "")."""
    path = [size]
    for level in range(1, depth + 1):
        size -= 4
        path.append(size)
        if size <= 0:
            return path, f"at encoder level {level} the size shrinks to {size} before pooling"
        if size % 2:
            return (
                path,
                f"at encoder level {level} the size before pooling is {size}, odd: 2x2 pooling needs an even size",
            )
        size //= 2
        path.append(size)
    size -= 4
    path.append(size)
    if size <= 0:
        return path, f"the bottleneck shrinks the size to {size}"
    for level in range(depth, 0, -1):
        size = size * 2 - 4
        path.append(size)
        if size <= 0:
            return path, f"at decoder level {level} the size shrinks to {size}"
    return path, ""


def _q3_cases():
    cases = []
    for size, depth in _Q3_CASES:
        expected = is_valid_size(size, depth)
        path, problem = _walk(size, depth)
        walk = " -> ".join(map(str, path))
        mistakes = []
        same_rule = size % 2**depth == 0
        if same_rule != expected:
            verdict = (
                f" ({problem}), so {size} does not fit"
                if problem
                else (f": even before every pooling and positive all the way, so {size} fits")
            )
            mistakes.append(
                (
                    same_rule,
                    f"For {{label}} you returned {same_rule}. {size} is {'' if same_rule else 'not '}divisible by "
                    f"2**depth = {2**depth}: that is the rule for padding='same'. With valid padding each level first "
                    f"loses 4 pixels, then pools: {walk}{verdict}.",
                )
            )
        if not expected and "shrinks" in problem:
            mistakes.append(
                (
                    True,
                    f"For {{label}} you returned True, but the feature maps shrink to nothing: {walk} ({problem}). "
                    "Check that every size stays positive, down and up the U.",
                )
            )
        otherwise = (
            f"For {{label}} you returned {{got}}, but the size fits: {walk}, even before every pooling and positive "
            "all the way."
            if expected
            else f"For {{label}} you returned {{got}}, but the size does not fit: {walk} ({problem})."
        )
        cases.append(
            Case(
                f"input_size={size}, depth={depth}",
                (size, depth),
                mistakes=distinct(mistakes, expected),
                otherwise=otherwise,
            )
        )
    return cases


def _as_bool(got, case):
    if not isinstance(got, (bool, np.bool_)):
        raise Mistake(f"For {case.label} you returned {type(got).__name__} {got!r:.60}; return True or False.")
    return bool(got)


q3 = exercise(
    "q3",
    "which sizes fit valid padding",
    notebook=NOTEBOOK,
    reference=is_valid_size,
    hint=(
        "Walk the size down the U as in exercise 2, but stop as soon as something cannot work: which sizes can a "
        "2x2 pooling take exactly, and which sizes are impossible for a feature map?",
        "Before every pooling the size (after the level's two convolutions) must be even and positive; after the "
        "bottleneck and on the way up every size must stay positive.",
    ),
    cases=_q3_cases,
    coerce=_as_bool,
    success="correct! Valid sizes for depth 4 are 188, 204, ..., 572, 588: 16 apart, and each plus 4 is divisible by "
    "16 (572 + 4 = 576).",
)

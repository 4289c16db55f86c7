"""Exercises of notebook 03 (the encoder): a conv block, an encoder, a receptive field."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, call, exercise

NOTEBOOK = "03_encoder"


def conv_block(x, num_filters, padding="same"):
    from keras import layers

    for _ in range(2):
        x = layers.Conv2D(num_filters, 3, padding=padding)(x)
        x = layers.Activation("relu")(x)
    return x


def encoder(x, base_filters, depth):
    from unet_course.models import encoder_block

    skips = []
    for level in range(depth):
        features, x = encoder_block(x, base_filters * 2**level)
        skips.append(features)
    return skips, x


def receptive_field(layer_specs):
    r, j = 1, 1
    for kernel, stride in layer_specs:
        r = r + (kernel - 1) * j
        j = j * stride
    return r


# ---------------------------------------------------------------- helpers of the checkers


def _is_tensor(value) -> bool:
    import keras

    return isinstance(value, keras.KerasTensor)


def _model(inputs, outputs, what: str):
    import keras

    try:
        return keras.Model(inputs, outputs)
    except Exception as error:
        raise Mistake(
            f"I could not build a model from the input to {what} ({type(error).__name__}: {error}). "
            "Start from the tensor `x` you are given and pass each layer's output to the next layer."
        ) from None


def _layers_of(model, *types):
    return [layer for layer in model.layers if isinstance(layer, types)]


def _relu_count(model) -> int:
    """How many ReLUs the graph applies: ReLU layers/ops, Activation('relu'), Conv2D(activation='relu')."""
    count = 0
    for op in model.operations:
        name = type(op).__name__.lower()
        activation = getattr(getattr(op, "activation", None), "__name__", "")
        if name == "relu" or activation == "relu":
            count += 1
    return count


def _hw(tensor) -> tuple:
    return tuple(tensor.shape[1:3])


def _size(hw) -> str:
    return "x".join(str(v) for v in hw)


# ---------------------------------------------------------------- q1: conv block


def _check_block(answer, num_filters: int, padding: str):
    import keras
    from keras import layers

    size = 16
    inputs = keras.Input((size, size, 3))
    label = f"on an input of shape (16, 16, 3) with num_filters={num_filters}, padding={padding!r}"
    out = call(answer, inputs, num_filters, padding=padding, describe=label)
    if isinstance(out, (tuple, list)):
        raise Mistake(
            f"{label.capitalize()} your function returned {len(out)} values. A conv block returns one tensor; "
            "the pooling (and its second output) belongs to the encoder block."
        )
    if not _is_tensor(out):
        raise Mistake(
            f"Your function returned {type(out).__name__}; return the output tensor of the last layer (call each layer on a tensor: layers.Conv2D(...)(x))."
        )
    model = _model(inputs, out, "your block's output")
    pools = _layers_of(model, layers.MaxPooling2D, layers.AveragePooling2D)
    if pools:
        raise Mistake(
            f"Your block has a pooling layer ({pools[0].__class__.__name__}). Pooling is not part of the conv block: "
            "the encoder block pools *after* it, so that the skip connection keeps the full resolution."
        )
    convs = _layers_of(model, layers.Conv2D)
    if len(convs) != 2:
        plural = "layer" if len(convs) == 1 else "layers"
        raise Mistake(f"Your block has {len(convs)} conv {plural}, a U-Net block has 2 (3x3 conv + ReLU, twice).")
    for index, conv in enumerate(convs, start=1):
        if tuple(conv.kernel_size) != (3, 3):
            raise Mistake(
                f"Conv layer {index} has a {_size(conv.kernel_size)} kernel; U-Net uses 3x3 kernels (kernel_size=3)."
            )
        if tuple(conv.strides) != (1, 1):
            raise Mistake(
                f"Conv layer {index} has strides {conv.strides}; use stride 1: the block keeps the resolution, the pooling halves it."
            )
        if conv.filters != num_filters:
            raise Mistake(
                f"Conv layer {index} has {conv.filters} filters but num_filters was {num_filters}: "
                "use the argument num_filters in both Conv2D layers, not a fixed number."
            )
    relus = _relu_count(model)
    if relus < 2:
        raise Mistake(
            f"I found {relus} ReLU in your block: each of the 2 convolutions needs its own ReLU "
            "(Conv2D(..., activation='relu'), or layers.Activation('relu') after it)."
        )
    expected_hw = (size, size) if padding == "same" else (size - 4, size - 4)
    if _hw(out) != expected_hw:
        raise Mistake(
            f"{label.capitalize()} your output is {_size(_hw(out))} but should be {_size(expected_hw)}: "
            'pass `padding` on to both Conv2D layers ("same" keeps the size, "valid" trims 1 pixel per side per conv).'
        )
    # behaviour: with the learner's weights copied into the reference block, both must agree
    reference_inputs = keras.Input((size, size, 3))
    reference = keras.Model(reference_inputs, conv_block(reference_inputs, num_filters, padding))
    for target, source in zip(_layers_of(reference, layers.Conv2D), convs):
        weights = source.get_weights()
        if len(weights) == 1:  # use_bias=False
            weights = weights + [np.zeros(num_filters, dtype="float32")]
        target.set_weights(weights)
    rng = np.random.default_rng(0)
    sample = rng.normal(size=(2, size, size, 3)).astype("float32")
    got = np.asarray(model.predict(sample, verbose=0))
    want = np.asarray(reference.predict(sample, verbose=0))
    if got.shape != want.shape or not np.allclose(got, want, rtol=1e-3, atol=1e-4):
        raise Mistake(
            "Your block has the right layers, but with the same weights it computes something else than "
            "conv -> ReLU -> conv -> ReLU. Check the order (each ReLU right after its conv), and leave out extra layers "
            "(batch normalisation is not in the paper's block)."
        )


@exercise(
    "q1",
    "the two-convolution block",
    notebook=NOTEBOOK,
    reference=conv_block,
    hint="Twice: x = layers.Conv2D(num_filters, 3, padding=padding)(x), then a ReLU (layers.Activation('relu')(x), "
    "or activation='relu' in the Conv2D). No pooling in the block.",
)
def q1(answer):
    for num_filters, padding in ((4, "same"), (6, "same"), (5, "valid")):
        _check_block(answer, num_filters, padding)
    return "correct! Two 3x3 conv + ReLU, the building block of every U-Net level (the package's unet_course.models.conv_block)."


# ---------------------------------------------------------------- q2: encoder


def _check_encoder(answer, size: int, channels: int, base_filters: int, depth: int):
    import keras
    from keras import layers

    inputs = keras.Input((size, size, channels))
    label = f"on an input of shape ({size}, {size}, {channels}) with base_filters={base_filters}, depth={depth}"
    result = call(answer, inputs, base_filters, depth, describe=label)
    if not isinstance(result, (tuple, list)) or len(result) != 2 or _is_tensor(result):
        raise Mistake(
            f"{label.capitalize()} your function returned {type(result).__name__}; return two things: "
            "`skips` (a list with one tensor per level) and the pooled tensor of the last level: `return skips, x`."
        )
    skips, pooled = result
    if _is_tensor(skips) and isinstance(pooled, (list, tuple)):
        raise Mistake(
            "You returned (pooled, skips): return the list of skips first, then the pooled tensor: `return skips, x`."
        )
    if not isinstance(skips, (list, tuple)) or not all(_is_tensor(s) for s in skips):
        raise Mistake(
            "The first value you return must be a list of tensors, one skip per level (append the features of each level)."
        )
    if not _is_tensor(pooled):
        raise Mistake(
            f"The second value you return is {type(pooled).__name__}; it must be the tensor after the last pooling."
        )
    if len(skips) != depth:
        raise Mistake(
            f"{label.capitalize()} you returned {len(skips)} skip(s); an encoder of depth {depth} has one per level: {depth}."
        )
    # the decoder reads them deepest first; accept either order
    skips = sorted(skips, key=lambda s: -(s.shape[1] or 0))
    expected_hw = [(size // 2**level, size // 2**level) for level in range(depth)]
    expected_channels = [base_filters * 2**level for level in range(depth)]
    got_hw = [_hw(s) for s in skips]
    got_channels = [s.shape[-1] for s in skips]
    if depth > 1 and len(set(got_hw)) == 1:
        raise Mistake(
            f"{label.capitalize()} all your skips are {_size(got_hw[0])}: did you forget the pooling? "
            "Each level must halve the height and width (layers.MaxPooling2D(2)) before the next one."
        )
    if got_hw[0] != expected_hw[0] and got_hw[0] == (size // 2, size // 2):
        raise Mistake(
            f"Your first skip is {_size(got_hw[0])}, already pooled. The skip is the conv block's output *before* "
            f"pooling ({_size(expected_hw[0])}); the pooled tensor goes on to the next level."
        )
    if depth > 1 and len(set(got_channels)) == 1:
        raise Mistake(
            f"{label.capitalize()} all your skips have {got_channels[0]} channels: the channels must double at each level "
            f"({', '.join(map(str, expected_channels))}), use base_filters * 2**level."
        )
    if got_channels != expected_channels:
        raise Mistake(
            f"{label.capitalize()} your skips have {got_channels} channels, expected {expected_channels} "
            "(base_filters at the first level, doubling at each level)."
        )
    if got_hw != expected_hw:
        raise Mistake(
            f"{label.capitalize()} your skips are {[_size(hw) for hw in got_hw]}, expected {[_size(hw) for hw in expected_hw]} "
            "(padding='same' keeps the size inside a level; each pooling halves it)."
        )
    last = size // 2**depth
    if _hw(pooled) != (last, last):
        hint = " Did you forget to pool after the last level?" if _hw(pooled) == expected_hw[-1] else ""
        raise Mistake(f"{label.capitalize()} your pooled tensor is {_size(_hw(pooled))}, expected {last}x{last}.{hint}")
    if pooled.shape[-1] != expected_channels[-1]:
        raise Mistake(
            f"Your pooled tensor has {pooled.shape[-1]} channels, expected {expected_channels[-1]}: return the last level's "
            "pooled features as they are (the bottleneck's conv block comes later, in notebook 06)."
        )
    model = _model(inputs, [*skips, pooled], "your skips and pooled tensor")
    convs = _layers_of(model, layers.Conv2D)
    pools = _layers_of(model, layers.MaxPooling2D, layers.AveragePooling2D)
    if len(convs) != 2 * depth:
        raise Mistake(
            f"Your encoder has {len(convs)} conv layers; depth {depth} needs {2 * depth} (a two-conv block per level)."
        )
    if any(tuple(c.kernel_size) != (3, 3) for c in convs):
        raise Mistake("Some of your conv layers are not 3x3; every conv of the U-Net encoder is 3x3.")
    if len(pools) != depth:
        raise Mistake(f"Your encoder has {len(pools)} pooling layers; depth {depth} needs {depth}, one per level.")
    if _relu_count(model) < 2 * depth:
        raise Mistake(
            f"Your encoder has fewer ReLUs ({_relu_count(model)}) than conv layers ({2 * depth}): a ReLU follows every conv."
        )


@exercise(
    "q2",
    "the encoder",
    notebook=NOTEBOOK,
    reference=encoder,
    hint="Loop `for level in range(depth)`: features, x = encoder_block(x, base_filters * 2**level); "
    "append features to a list `skips`; after the loop return skips, x.",
)
def q2(answer):
    for size, channels, base_filters, depth in ((32, 3, 4, 3), (16, 1, 2, 2), (16, 3, 8, 1)):
        _check_encoder(answer, size, channels, base_filters, depth)
    return (
        "correct! Resolution halves and channels double at every level, and each level leaves a skip for the decoder."
    )


# ---------------------------------------------------------------- q3: receptive field

_RF_EXAMPLES = {
    "one 3x3 conv": [(3, 1)],
    "two 3x3 convs": [(3, 1), (3, 1)],
    "two 3x3 convs and a 2x2 pool, then two 3x3 convs": [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1)],
    "a 7x7 conv with stride 2 and a 3x3 pool with stride 2 (ResNet's stem), then a 3x3 conv": [(7, 2), (3, 2), (3, 1)],
    "no layers at all": [],
}


def _no_jump(specs):
    return 1 + sum(k - 1 for k, _ in specs)


def _jump_first(specs):
    r, j = 1, 1
    for k, s in specs:
        j = j * s
        r = r + (k - 1) * j
    return r


@exercise(
    "q3",
    "receptive field",
    notebook=NOTEBOOK,
    reference=receptive_field,
    hint="Start with r = 1 and j = 1 (one input pixel, neighbours 1 pixel apart). For each (k, s): "
    "first r = r + (k - 1) * j, then j = j * s. Return r.",
)
def q3(answer):
    from unet_course.analysis.receptive_field import unet_encoder_specs

    examples = dict(_RF_EXAMPLES)
    examples["the paper's encoder down to the bottleneck"] = unet_encoder_specs(4)
    for label, specs in examples.items():
        expected = receptive_field(specs)
        got = call(answer, [tuple(s) for s in specs], describe=f"on {label} {specs if len(specs) < 6 else ''}".rstrip())
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise Mistake(
                f"On {label} your function returned {type(got).__name__}; return one number, the receptive field r."
            ) from None
        if got == expected:
            continue
        if specs and got == _no_jump(specs) != expected:
            raise Mistake(
                f"On {label} you returned {got:g}, expected {expected}: you add k - 1 for each layer, but after a stride-2 layer "
                "neighbouring units are 2 input pixels apart. Multiply by the jump: r = r + (k - 1) * j, and j = j * s."
            )
        if specs and got == _jump_first(specs) != expected:
            raise Mistake(
                f"On {label} you returned {got:g}, expected {expected}: you update the jump before the receptive field. "
                "A layer's kernel spans the jump of its *input*: first r = r + (k - 1) * j, then j = j * s."
            )
        if specs and got == expected - 1:
            raise Mistake(
                f"On {label} you returned {got:g}, expected {expected}: start from r = 1 (a pixel sees itself), not 0."
            )
        if not specs:
            raise Mistake(
                f"With no layers you returned {got:g}: a unit of the input sees exactly 1 pixel, so return 1."
            )
        raise Mistake(f"On {label} you returned {got:g}, expected {expected}.")
    return "correct! The paper's bottleneck sees 140x140 input pixels; VGG16's last pooling sees 212x212."

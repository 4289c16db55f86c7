"""Exercises of notebook 03 (the encoder): a conv block, an encoder, a receptive field, a dilated one."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Case, Mistake, call, exercise
from unet_course.exercises._core import applies_relu, distinct, layers_of, walk_layers

NOTEBOOK = "03_encoder"


def conv_block_answer(x, num_filters, padding="same"):
    from keras import layers

    for _ in range(2):
        x = layers.Conv2D(num_filters, 3, padding=padding, activation="relu")(x)
    return x


def encoder_answer(x, base_filters, depth):
    from unet_course.models import encoder_block

    skips = []
    for level in range(depth):
        features, x = encoder_block(x, base_filters * 2**level)
        skips.append(features)
    return skips, x


def receptive_field_of(layer_specs):
    r, j = 1, 1
    for kernel, stride in layer_specs:
        r = r + (kernel - 1) * j
        j = j * stride
    return r


def receptive_field_dilated(layer_specs):
    r, j = 1, 1
    for kernel, stride, dilation in layer_specs:
        span = dilation * (kernel - 1) + 1  # k taps, d pixels apart
        r = r + (span - 1) * j
        j = j * stride
    return r


# the names of earlier versions of this module
conv_block, encoder, receptive_field = conv_block_answer, encoder_answer, receptive_field_of


# ---------------------------------------------------------------- helpers of the checkers


def _is_tensor(value) -> bool:
    import keras

    return isinstance(value, keras.KerasTensor)


def _first_up(text: str) -> str:
    return text[:1].upper() + text[1:]


def _hw(tensor) -> tuple:
    return tuple(tensor.shape[1:3])


def _size(hw) -> str:
    return "x".join(str(v) for v in hw)


def _numpy(value) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))


def _run(model, inputs):
    """The model's outputs on ``inputs`` as NumPy arrays (a list, one per output)."""
    outputs = model(inputs, training=False)
    return [_numpy(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


_ACTIVATIONS = {
    "relu": lambda t: np.maximum(t, 0),
    "none": lambda t: t,
}
_OTHER_ACTIVATIONS = ("sigmoid", "tanh", "elu", "selu", "gelu", "silu", "leaky_relu", "softplus")


def _activation(name):
    if name in _ACTIVATIONS:
        return _ACTIVATIONS[name]
    import keras

    function = keras.activations.get(name)
    return lambda t: _numpy(function(t))


def _conv(x, weights, padding):
    """What Conv2D computes with the learner's ``weights`` (kernel, and bias unless use_bias=False)."""
    import keras

    out = _numpy(keras.ops.conv(x, weights[0], strides=1, padding=padding))
    return out + weights[1] if len(weights) > 1 else out


def _weights_fit(conv, in_channels, filters) -> bool:
    return tuple(conv.get_weights()[0].shape) == (3, 3, in_channels, filters)


def _structure_problems(model, what: str) -> None:
    """Mistakes every conv block (and encoder) can show in its layers, found the robust way."""
    from keras import layers

    extra = layers_of(model, layers.BatchNormalization, layers.Dropout, layers.LayerNormalization)
    if extra:
        raise Mistake(
            f"{what} has a {type(extra[0]).__name__} layer. The exercise's block is conv -> ReLU -> conv -> ReLU and "
            "nothing else (the paper's block has no normalisation or dropout)."
        )
    others = [
        op
        for op in walk_layers(model)
        if hasattr(op, "kernel_size") and not isinstance(op, layers.Conv2D) and not isinstance(op, layers.Dense)
    ]
    if others:
        raise Mistake(
            f"{what} uses a {type(others[0]).__name__} layer; "
            "the exercise asks for plain 3x3 convolutions, layers.Conv2D."
        )


def _check_convs(convs, num_filters_of, padding: str, what: str) -> None:
    for index, conv in enumerate(convs, start=1):
        if tuple(conv.kernel_size) != (3, 3):
            raise Mistake(
                f"Conv layer {index} of {what} has a {_size(conv.kernel_size)} kernel; U-Net uses 3x3 kernels "
                "(kernel_size=3)."
            )
        if tuple(conv.strides) != (1, 1):
            raise Mistake(
                f"Conv layer {index} of {what} has strides {tuple(conv.strides)}; use stride 1: the convolutions keep "
                "the resolution, the pooling halves it."
            )
        if tuple(getattr(conv, "dilation_rate", (1, 1))) != (1, 1):
            raise Mistake(
                f"Conv layer {index} of {what} has dilation_rate {tuple(conv.dilation_rate)}; the exercise's "
                "convolutions are plain 3x3 (dilation 1)."
            )
        want = num_filters_of(index)
        if conv.filters != want:
            raise Mistake(
                f"Conv layer {index} of {what} has {conv.filters} filters, expected {want}: use the argument "
                "(num_filters, or base_filters * 2**level), not a fixed number."
            )
        if conv.padding != padding:
            raise Mistake(
                f"Conv layer {index} of {what} has padding={conv.padding!r}, but the block was asked for "
                f"padding={padding!r}: pass `padding` on to both Conv2D layers."
            )


# ---------------------------------------------------------------- q1: conv block

_BLOCK_CASES = ((4, "same"), (6, "valid"), (5, "same"))
_BLOCK_INPUT = (12, 16, 3)  # not square: height and width mix-ups show


def _block_reference(x, weights, padding, first="relu", second="relu", relu_first=False):
    for w, act in zip(weights, (first, second)):
        if relu_first:
            x = np.maximum(x, 0)
        x = _conv(x, w, padding)
        if not relu_first:
            x = _activation(act)(x)
    return x


def _check_block(answer, num_filters: int, padding: str):
    import keras
    from keras import layers

    height, width, channels = _BLOCK_INPUT
    inputs = keras.Input(_BLOCK_INPUT)
    label = (
        f"on an input of shape (None, {height}, {width}, {channels}) "
        f"with num_filters={num_filters}, padding={padding!r}"
    )
    out = call(answer, inputs, num_filters, padding=padding, describe=label)
    if isinstance(out, (tuple, list)):
        raise Mistake(
            f"{_first_up(label)} your function returned {len(out)} values. A conv block returns one tensor; "
            "the pooling (and its second output) belongs to the encoder block."
        )
    if not _is_tensor(out):
        raise Mistake(
            f"Your function returned {type(out).__name__}; return the output tensor of the last layer "
            "(call each layer on a tensor: layers.Conv2D(...)(x))."
        )
    model = keras.Model(inputs, out)
    pools = layers_of(model, layers.MaxPooling2D, layers.AveragePooling2D, "MaxPool", "AveragePool")
    if pools:
        raise Mistake(
            f"Your block has a pooling layer ({type(pools[0]).__name__}). Pooling is not part of the conv block: "
            "the encoder block pools *after* it, so that the skip connection keeps the full resolution."
        )
    _structure_problems(model, "Your block")
    convs = layers_of(model, layers.Conv2D)
    if len(convs) != 2:
        plural = "layer" if len(convs) == 1 else "layers"
        raise Mistake(f"Your block has {len(convs)} conv {plural}, a U-Net block has 2 (3x3 conv + ReLU, twice).")
    _check_convs(convs, lambda index: num_filters, padding, "your block")
    trim = 0 if padding == "same" else 4
    if _hw(out) != (height - trim, width - trim) or out.shape[-1] != num_filters:
        raise Mistake(
            f"{_first_up(label)} your output has shape {tuple(out.shape)}, expected "
            f"{(None, height - trim, width - trim, num_filters)}: the two convolutions should be applied one after "
            "the other, each to the previous output."
        )
    # behaviour: the reference block with the learner's own weights must compute the same
    weights = [conv.get_weights() for conv in convs]
    if not (_weights_fit(convs[0], channels, num_filters) and _weights_fit(convs[1], num_filters, num_filters)):
        raise Mistake(
            "Your two convolutions are not applied one after the other (the second must take the first one's output)."
        )
    sample = np.random.default_rng(0).normal(size=(2, *_BLOCK_INPUT)).astype("float32")
    got = _run(model, sample)[0]
    if np.allclose(got, _block_reference(sample, weights, padding), rtol=1e-3, atol=1e-4):
        return
    variants = {
        "the first convolution has no ReLU after it (the second has)": dict(first="none"),
        (
            "the second convolution has no ReLU after it: your block's output has negative values, a ReLU's never does"
        ): dict(second="none"),
        "neither convolution is followed by a ReLU": dict(first="none", second="none"),
        "each ReLU comes *before* its convolution instead of after it": dict(relu_first=True),
    }
    for other in _OTHER_ACTIVATIONS:
        variants[f"your block applies {other} where the ReLUs go; the exercise asks for ReLU"] = dict(
            first=other, second=other
        )
    for text, options in variants.items():
        if np.allclose(got, _block_reference(sample, weights, padding, **options), rtol=1e-3, atol=1e-4):
            raise Mistake(f"With your block's own weights I compared it with conv -> ReLU -> conv -> ReLU: {text}.")
    relus = sum(applies_relu(op) for op in walk_layers(model))
    raise Mistake(
        "Your block has the right two convolutions, but with their own weights it computes something else than "
        f"conv -> ReLU -> conv -> ReLU (I count {relus} ReLU operation{'s' if relus != 1 else ''} in it). "
        "Check that each ReLU comes right after its convolution and that nothing else is applied."
    )


@exercise(
    "q1",
    "the two-convolution block",
    notebook=NOTEBOOK,
    reference=conv_block_answer,
    target="conv_block_answer",
    hint=(
        "A block is the same step twice: a 3x3 convolution with num_filters filters and the given padding, "
        "then a ReLU. Each step takes the previous step's output.",
        "In Keras a layer is made, then called on a tensor: x = layers.Conv2D(...)(x). The ReLU can be its own "
        "layer or the convolution's activation argument. No pooling here: that is the encoder block's job.",
    ),
)
def q1(answer):
    for num_filters, padding in _BLOCK_CASES:
        _check_block(answer, num_filters, padding)
    return (
        "correct! Two 3x3 conv + ReLU, the building block of every U-Net level "
        "(the package's unet_course.models.conv_block)."
    )


# ---------------------------------------------------------------- q2: encoder

_ENCODER_CASES = ((32, 48, 3, 4, 3), (16, 16, 1, 2, 2), (16, 24, 3, 8, 1))  # height, width, channels, base, depth


def _encoder_reference(sample, convs, depth, padding="same"):
    skips, x = [], sample
    for level in range(depth):
        for conv in convs[2 * level : 2 * level + 2]:
            x = np.maximum(_conv(x, conv.get_weights(), padding), 0)
        skips.append(x)
        n, h, w, c = x.shape
        x = x[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
    return skips, x


def _check_encoder(answer, height: int, width: int, channels: int, base_filters: int, depth: int):
    import keras
    from keras import layers

    inputs = keras.Input((height, width, channels))
    label = (
        f"on an input of shape (None, {height}, {width}, {channels}) with base_filters={base_filters}, depth={depth}"
    )
    result = call(answer, inputs, base_filters, depth, describe=label)
    if not isinstance(result, (tuple, list)) or len(result) != 2 or _is_tensor(result):
        raise Mistake(
            f"{_first_up(label)} your function returned {type(result).__name__}; return two things: "
            "`skips` (a list with one tensor per level) and the pooled tensor of the last level: `return skips, x`."
        )
    skips, pooled = result
    if _is_tensor(skips) and isinstance(pooled, (list, tuple)):
        raise Mistake(
            "You returned (pooled, skips): return the list of skips first, then the pooled tensor: `return skips, x`."
        )
    if not isinstance(skips, (list, tuple)) or not all(_is_tensor(s) for s in skips):
        raise Mistake(
            "The first value you return must be a list of tensors, one skip per level "
            "(append the features of each level)."
        )
    if not _is_tensor(pooled):
        raise Mistake(
            f"The second value you return is {type(pooled).__name__}; it must be the tensor after the last pooling."
        )
    if len(skips) != depth:
        raise Mistake(
            f"{_first_up(label)} you returned {len(skips)} skip(s); "
            f"an encoder of depth {depth} has one per level: {depth}."
        )
    expected_hw = [(height // 2**level, width // 2**level) for level in range(depth)]
    expected_channels = [base_filters * 2**level for level in range(depth)]
    got_hw = [_hw(s) for s in skips]
    got_channels = [s.shape[-1] for s in skips]
    if depth > 1 and got_hw == expected_hw[::-1] and got_channels == expected_channels[::-1]:
        raise Mistake(
            f"{_first_up(label)} your skips come deepest first ({', '.join(_size(hw) for hw in got_hw)}). The task "
            f"asks for the shallowest first: skips[0] is the first level's features ({_size(expected_hw[0])}), "
            "in the order the levels are computed; the decoder reverses them itself."
        )
    if depth > 1 and len(set(got_hw)) == 1:
        raise Mistake(
            f"{_first_up(label)} all your skips are {_size(got_hw[0])}: did you forget the pooling? "
            "Each level must halve the height and width (layers.MaxPooling2D(2)) before the next one."
        )
    if got_hw[0] != expected_hw[0] and got_hw[0] == (height // 2, width // 2):
        raise Mistake(
            f"Your first skip is {_size(got_hw[0])}, already pooled. The skip is the conv block's output *before* "
            f"pooling ({_size(expected_hw[0])}); the pooled tensor goes on to the next level."
        )
    if depth > 1 and len(set(got_channels)) == 1:
        raise Mistake(
            f"{_first_up(label)} all your skips have {got_channels[0]} channels: "
            "the channels must double at each level "
            f"({', '.join(map(str, expected_channels))}), use base_filters * 2**level."
        )
    if got_channels != expected_channels:
        raise Mistake(
            f"{_first_up(label)} your skips have {got_channels} channels, expected {expected_channels} "
            "(base_filters at the first level, doubling at each level)."
        )
    if got_hw != expected_hw:
        raise Mistake(
            f"{_first_up(label)} your skips are {[_size(hw) for hw in got_hw]}, "
            f"expected {[_size(hw) for hw in expected_hw]}: "
            "inside a level the size stays the same (padding='same', encoder_block's default), "
            "and each pooling halves it."
        )
    last = (height // 2**depth, width // 2**depth)
    if _hw(pooled) != last:
        hint = " Did you forget to pool after the last level?" if _hw(pooled) == expected_hw[-1] else ""
        raise Mistake(f"{_first_up(label)} your pooled tensor is {_size(_hw(pooled))}, expected {_size(last)}.{hint}")
    if pooled.shape[-1] != expected_channels[-1]:
        raise Mistake(
            f"Your pooled tensor has {pooled.shape[-1]} channels, expected {expected_channels[-1]}: "
            "return the last level's pooled features as they are "
            "(the bottleneck's conv block comes later, in notebook 06)."
        )
    model = keras.Model(inputs, [*skips, pooled])
    average = layers_of(model, layers.AveragePooling2D, "AveragePool")
    if average:
        raise Mistake(
            f"Your encoder pools with {type(average[0]).__name__}; an encoder block ends in 2x2 *max* pooling "
            "(layers.MaxPooling2D(2)), which keeps the strongest response of each 2x2 square."
        )
    _structure_problems(model, "Your encoder")
    convs = layers_of(model, layers.Conv2D)
    pools = layers_of(model, layers.MaxPooling2D, "MaxPool")
    strided = [conv for conv in convs if tuple(conv.strides) != (1, 1)]
    if strided and not pools:
        raise Mistake(
            f"Your encoder halves the size with strided convolutions ({type(strided[0]).__name__} with strides "
            f"{tuple(strided[0].strides)}) and has no pooling layer; an encoder block ends in 2x2 max pooling "
            "(layers.MaxPooling2D(2)), and its convolutions keep the resolution."
        )
    if len(convs) != 2 * depth:
        raise Mistake(
            f"Your encoder has {len(convs)} conv layers; depth {depth} needs {2 * depth} (a two-conv block per level)."
        )
    _check_convs(convs, lambda index: base_filters * 2 ** ((index - 1) // 2), "same", "your encoder")
    if len(pools) != depth:
        raise Mistake(f"Your encoder has {len(pools)} pooling layers; depth {depth} needs {depth}, one per level.")
    for pool in pools:
        if tuple(getattr(pool, "pool_size", (2, 2))) != (2, 2) or tuple(getattr(pool, "strides", (2, 2))) != (2, 2):
            raise Mistake(
                f"Your pooling has pool_size {tuple(pool.pool_size)} and strides {tuple(pool.strides)}; "
                "the encoder block uses 2x2 max pooling with stride 2 (layers.MaxPooling2D(2))."
            )
    # behaviour: the reference encoder with the learner's weights must give the same skips and pooled tensor
    sample = np.random.default_rng(1).normal(size=(1, height, width, channels)).astype("float32")
    got = _run(model, sample)
    shapes, in_channels = [], channels
    for filters in expected_channels:
        shapes += [(3, 3, in_channels, filters), (3, 3, filters, filters)]
        in_channels = filters
    fits = all(tuple(conv.get_weights()[0].shape) == shape for conv, shape in zip(convs, shapes))
    if not fits:
        raise Mistake(
            "Your convolutions are not chained level by level: each conv must take the previous layer's output "
            "(conv, conv, pool, then the next level's conv, conv, pool, ...)."
        )
    want_skips, want_pooled = _encoder_reference(sample, convs, depth)
    for level, (g, w) in enumerate(zip(got[:depth], want_skips), start=1):
        if not np.allclose(g, w, rtol=1e-3, atol=1e-4):
            negative = " (it has negative values: a ReLU is missing at the end)" if g.min() < -1e-6 else ""
            raise Mistake(
                f"With your own weights, level {level}'s skip{negative} differs from conv -> ReLU -> conv -> ReLU on "
                "the level's input: each level is a conv block (two 3x3 conv, each followed by a ReLU), then pooling."
            )
    if not np.allclose(got[depth], want_pooled, rtol=1e-3, atol=1e-4):
        raise Mistake("Your pooled tensor is not the 2x2 max pooling of the last level's features.")


@exercise(
    "q2",
    "the encoder",
    notebook=NOTEBOOK,
    reference=encoder_answer,
    target="encoder_answer",
    hint=(
        "One level = one encoder block: it gives two tensors, the full-resolution features (for the skip) and the "
        "pooled ones (for the next level). Repeat it depth times in a loop.",
        "Level 0 has base_filters filters and each level doubles them. Keep the features of each level in a list, "
        "in the order you compute them; the pooled tensor of one level is the next level's input.",
    ),
)
def q2(answer):
    for case in _ENCODER_CASES:
        _check_encoder(answer, *case)
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


def _rf_cases():
    from unet_course.analysis.receptive_field import unet_encoder_specs

    examples = dict(_RF_EXAMPLES)
    examples["the paper's encoder down to the bottleneck"] = unet_encoder_specs(4)
    cases = []
    for label, specs in examples.items():
        specs = [tuple(s) for s in specs]
        expected = receptive_field_of(specs)
        shown = f"{label} {specs}" if 0 < len(specs) < 6 else label
        if not specs:
            mistakes = (
                (
                    lambda got: True,
                    "With no layers you returned {got}: the input sees exactly 1 pixel, itself, so return 1.",
                ),
            )
        else:
            mistakes = distinct(
                (
                    (
                        _no_jump(specs),
                        "On {label} you returned {got}, expected {expected}: you add k - 1 for each layer, but after a "
                        "stride-2 layer neighbouring units are 2 input pixels apart. Multiply by the jump: "
                        "r = r + (k - 1) * j, and j = j * s.",
                    ),
                    (
                        _jump_first(specs),
                        "On {label} you returned {got}, expected {expected}: you update the jump before the receptive "
                        "field. A layer's kernel spans the jump of its *input*: "
                        "first r = r + (k - 1) * j, then j = j * s.",
                    ),
                    (
                        expected - 1,
                        "On {label} you returned {got}, expected {expected}: "
                        "start from r = 1 (a pixel sees itself), not 0.",
                    ),
                    (
                        1 + sum(k for k, _ in specs),
                        "On {label} you returned {got}, expected {expected}: you add k for each layer. A k-wide kernel "
                        "adds k - 1 pixels to the window (a 3x3 conv on one pixel sees 3, not 4).",
                    ),
                ),
                expected,
            )
        cases.append(
            Case(shown, (specs,), mistakes=mistakes, otherwise="On {label} you returned {got}, expected {expected}.")
        )
    return cases


def _as_number(got, case):
    if isinstance(got, (tuple, list)):
        pair = " (not the pair r, j)" if len(got) == 2 else ""
        raise Mistake(
            f"On {case.label} you returned {len(got)} values {got!r:.40}; return one number, "
            f"the receptive field r{pair}."
        )
    try:
        return float(got)
    except (TypeError, ValueError):
        raise Mistake(
            f"On {case.label} your function returned {type(got).__name__}; return one number, the receptive field r."
        ) from None


q3 = exercise(
    "q3",
    "receptive field",
    notebook=NOTEBOOK,
    reference=receptive_field_of,
    target="receptive_field_of",
    hint=(
        "Keep two numbers as you go through the layers in order: r, the window one unit sees, and j, the distance "
        "in input pixels between neighbouring units. Before any layer a unit is one pixel, and neighbours are 1 apart.",
        "Section 7's two update rules, in the order written there: each layer first widens r using the jump of its "
        "input, then multiplies the jump by its stride.",
    ),
    cases=_rf_cases,
    coerce=_as_number,
    success="correct! The paper's bottleneck sees 140x140 input pixels; VGG16's last pooling sees 212x212.",
)


# ---------------------------------------------------------------- q4: receptive field with dilation

_DILATED_EXAMPLES = {
    "one 3x3 conv with dilation 2": [(3, 1, 2)],
    "one 5x5 conv with dilation 3": [(5, 1, 3)],
    "3x3 convs with dilations 1, 2 and 4 (a context module)": [(3, 1, 1), (3, 1, 2), (3, 1, 4)],
    "ResNet's stem (7x7 conv, stride 2; 3x3 pool, stride 2), then a 3x3 conv with dilation 2": [
        (7, 2, 1),
        (3, 2, 1),
        (3, 1, 2),
    ],
    "a 3x3 conv, a 2x2 pool, then a 3x3 conv with dilation 3": [(3, 1, 1), (2, 2, 1), (3, 1, 3)],
    "plain layers (dilation 1 everywhere): exercise 3's case": [(3, 1, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1)],
}


def _dilated_variant(specs, *, span=None, jump=None, use_jump=True, start=1):
    """The receptive field computed with one of the typical mistakes."""
    r, j = start, 1
    for k, s, d in specs:
        width = span(k, d) if span else d * (k - 1) + 1
        r = r + (width - 1) * (j if use_jump else 1)
        j = jump(j, s, d) if jump else j * s
    return r


def _dilated_cases():
    cases = []
    for label, specs in _DILATED_EXAMPLES.items():
        expected = receptive_field_dilated(specs)
        mistakes = distinct(
            (
                (
                    _dilated_variant(specs, span=lambda k, d: k),
                    "On {label} you returned {got}, expected {expected}: you ignore the dilation. A kernel of k taps "
                    "spread d pixels apart is wider than k pixels: count the pixels from its first tap to its last.",
                ),
                (
                    _dilated_variant(specs, span=lambda k, d: k * d),
                    "On {label} you returned {got}, expected {expected}: you take the kernel as k * d pixels wide. "
                    "Between k taps there are k - 1 gaps of d pixels: from the first tap to the last is "
                    "d * (k - 1) + 1 pixels (a 3x3 kernel with dilation 2 spans 5, not 6).",
                ),
                (
                    _dilated_variant(specs, jump=lambda j, s, d: j * s * d),
                    "On {label} you returned {got}, expected {expected}: you multiply the jump by the dilation. "
                    "Dilation spreads the taps of the kernel, not the units of the output: a dilated convolution "
                    "with stride 1 keeps every position, so only the stride changes the jump.",
                ),
                (
                    _dilated_variant(specs, use_jump=False),
                    "On {label} you returned {got}, expected {expected}: the dilated span is right, but after a "
                    "stride-2 layer neighbouring units are 2 input pixels apart: multiply the widening by the jump, "
                    "as in exercise 3.",
                ),
                (
                    expected - 1,
                    "On {label} you returned {got}, expected {expected}: "
                    "start from r = 1 (a pixel sees itself), not 0.",
                ),
            ),
            expected,
        )
        cases.append(
            Case(
                f"{label} {specs}",
                (specs,),
                mistakes=mistakes,
                otherwise="On {label} you returned {got}, expected {expected}.",
                on_error="Each layer is now a triple (kernel_size, stride, dilation): unpack three values, "
                "e.g. `for k, s, d in layer_specs:`.",
            )
        )
    return cases


q4 = exercise(
    "q4",
    "receptive field with dilation",
    notebook=NOTEBOOK,
    reference=receptive_field_dilated,
    target="receptive_field_dilated",
    hint=(
        "Start from exercise 3's two numbers, r and j. Only one thing is new: how many pixels of its input a "
        "dilated kernel covers. Draw 3 taps with dilation 2 on a row of pixels and count from the first to the last.",
        "Between k taps there are k - 1 gaps, each d pixels wide. Use that width where exercise 3 used k; the "
        "jump still changes with the stride alone.",
    ),
    cases=_dilated_cases,
    coerce=_as_number,
    success=(
        "correct! A dilated kernel of k taps d apart spans d * (k - 1) + 1 pixels of its input: three 3x3 "
        "convolutions with dilations 1, 2, 4 see 15x15 pixels without any pooling, where plain ones see 7x7 "
        "(the atrous convolution of DeepLab)."
    ),
)

"""Exercises of notebook 03 (the encoder): the sizes of a valid encoder, an encoder, the receptive field of a
whole U-Net (decoder included), a dilated receptive field; two predictions (a valid convolution's size, a block's
parameters)."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Case, Mistake, NotDone, Prediction, call, exercise
from unet_course.exercises._core import distinct, layers_of, walk_layers

NOTEBOOK = "03_encoder"


def encoder_sizes(n, depth):
    """Height (or width) of each level's skip and of the bottleneck in a valid-padding encoder; None if invalid."""
    sizes = []
    for level in range(depth + 1):
        n = n - 4  # two valid 3x3 convolutions: 2 pixels each
        if n < 1:
            return None
        sizes.append(n)
        if level < depth:  # no pooling after the bottleneck
            if n % 2:
                return None  # a 2x2 pooling would drop a row
            n = n // 2
    return sizes


def encoder_answer(x, base_filters, depth):
    from unet_course.models import encoder_block

    skips = []
    for level in range(depth):
        features, x = encoder_block(x, base_filters * 2**level)
        skips.append(features)
    return skips, x


def receptive_field_of(layer_specs, position):
    """The input pixels (first, last) that unit ``position`` of the last layer reads, along one axis.

    Each layer is ("conv", k) (a valid k-wide convolution), ("pool", s) (s-wide pooling, stride s) or
    ("up", s) (an upsampling by s: a transposed convolution with kernel s and stride s, or UpSampling2D).
    """
    first, last = position, position
    for kind, size in reversed(layer_specs):  # from the output back to the input
        if kind == "conv":  # unit o reads o .. o + k - 1
            last = last + size - 1
        elif kind == "pool":  # unit o reads s * o .. s * o + s - 1
            first, last = first * size, last * size + size - 1
        else:  # "up": unit o is a copy (or a weighted copy) of input unit o // s
            first, last = first // size, last // size
    return first, last


def receptive_field_dilated(layer_specs):
    r, j = 1, 1
    for kernel, stride, dilation in layer_specs:
        span = dilation * (kernel - 1) + 1  # k taps, d pixels apart
        r = r + (span - 1) * j
        j = j * stride
    return r


def unet_path(depth):
    """The deepest path of a valid U-Net of ``depth`` levels, as ``receptive_field_of`` reads it."""
    encoder = [("conv", 3), ("conv", 3), ("pool", 2)] * depth
    return encoder + [("conv", 3), ("conv", 3)] + [("up", 2), ("conv", 3), ("conv", 3)] * depth


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


def _conv(x, weights, padding):
    """What Conv2D computes with the learner's ``weights`` (kernel, and bias unless use_bias=False)."""
    import keras

    out = _numpy(keras.ops.conv(x, weights[0], strides=1, padding=padding))
    return out + weights[1] if len(weights) > 1 else out


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


# ---------------------------------------------------------------- q1: the sizes of a valid encoder


def _sizes_variant(n, depth, *, per_conv=2, bottleneck=True, odd="none", pool_first=False):
    """encoder_sizes with one typical mistake (``odd="floor"``: odd sizes rounded down instead of refused)."""
    sizes = []
    for level in range(depth + (1 if bottleneck else 0)):
        if pool_first and level < depth:  # each level pools its input, then convolves
            if n % 2 and odd == "none":
                return None
            n = n // 2
        n = n - 2 * per_conv
        if n < 1:
            return None
        sizes.append(n)
        if level < depth and not pool_first:
            if n % 2 and odd == "none":
                return None
            n = n // 2
    return sizes


def _invalid_reason(n, depth):
    """Why ``encoder_sizes(n, depth)`` is None: "odd" (a pooling meets an odd size) or "small"; None if valid."""
    for level in range(depth + 1):
        n = n - 4
        if n < 1:
            return "small"
        if level < depth:
            if n % 2:
                return "odd"
            n = n // 2
    return None


_SIZE_EXAMPLES = [  # (n, depth): one level first (a miscount shows before any odd size), the paper's tile, ...
    (572, 1),
    (572, 4),
    (188, 4),
    (64, 2),
    (100, 3),
    (570, 4),
    (30, 3),
    (20, 2),
]


def _size_cases():
    cases = []
    for n, depth in _SIZE_EXAMPLES:
        expected = encoder_sizes(n, depth)
        label = f"n={n}, depth={depth}"
        mistakes = [
            (
                _sizes_variant(n, depth, per_conv=1),
                "For {label} you returned {got}, expected {expected}: each valid 3x3 convolution loses 1 pixel on "
                "*each* side, 2 per axis, so a level of two convolutions loses 4, not 2.",
            ),
            (
                _sizes_variant(n, depth, per_conv=4),
                "For {label} you returned {got}, expected {expected}: a valid 3x3 convolution loses 1 pixel per side "
                "(2 per axis), not 2 per side.",
            ),
            (
                _sizes_variant(n, depth, bottleneck=False),
                "For {label} you returned {got}, expected {expected}: the bottleneck is missing. After the last "
                "pooling come two more valid convolutions (and no pooling): return depth + 1 sizes.",
            ),
            (
                _sizes_variant(n, depth, pool_first=True),
                "For {label} you returned {got}, expected {expected}: you pool before the level's convolutions. Each "
                "level convolves first (that size is the skip), then pools for the next level.",
            ),
        ]
        if expected is None and _invalid_reason(n, depth) == "odd":
            mistakes.append(
                (
                    lambda got: got is not None,
                    "For {label} you returned {got}, expected None: some level's size is odd when it reaches the "
                    "2x2 pooling, which then drops its last row and column (Keras rounds down). The decoder "
                    "cannot double that size back to the skip's, so this input size is not valid: return None.",
                )
            )
        elif expected is None:
            mistakes.append(
                (
                    lambda got: got is not None,
                    "For {label} you returned {got}, expected None: the sizes shrink to nothing before the "
                    "bottleneck's convolutions are done (a valid 3x3 convolution needs at least 3 pixels): "
                    "return None.",
                )
            )
        else:
            mistakes.append(
                (
                    lambda got: got is None,
                    "For {label} you returned None, but this size is valid: {expected}. Check two things: each valid "
                    "3x3 convolution loses 1 pixel on *each* side (4 per level), and what must be even is the size "
                    "that reaches each pooling, after the level's convolutions: n need not be a multiple of 2**depth.",
                )
            )
        mistakes = [(wrong, text) for wrong, text in mistakes if callable(wrong) or wrong is not None]
        cases.append(
            Case(
                label,
                (n, depth),
                mistakes=distinct(mistakes, expected),
                otherwise="For {label} you returned {got}, expected {expected}.",
            )
        )
    return cases


def _as_sizes(got, case):
    if got is None:
        return None
    if isinstance(got, (int, float, np.integer, np.floating)):
        raise Mistake(
            f"For {case.label} you returned one number, {got!r}; return a list with one size per level and the "
            "bottleneck's last (depth + 1 numbers), or None."
        )
    try:
        values = [float(v) for v in got]
    except (TypeError, ValueError):
        raise Mistake(
            f"For {case.label} your function returned {type(got).__name__}; return a list of whole numbers, or None."
        ) from None
    if any(v != int(v) for v in values):
        raise Mistake(
            f"For {case.label} you returned {got!r:.60}: a size is a whole number of pixels (use // to halve)."
        )
    return [int(v) for v in values]


q1 = exercise(
    "q1",
    "the sizes of a valid encoder",
    notebook=NOTEBOOK,
    reference=encoder_sizes,
    target="encoder_sizes",
    hint=(
        "Follow one axis through the encoder: what does one valid 3x3 convolution do to the size, what happens "
        "inside a level, and what does a 2x2 pooling need of the size it gets to divide it exactly?",
        "Go level by level, depth + 1 times (the bottleneck is the last): what the convolutions do to the size, "
        "what you record, and when the pooling can halve exactly. As soon as a size cannot go on, the answer is "
        "None.",
    ),
    cases=_size_cases,
    coerce=_as_sizes,
    allow_none=True,
    success=(
        "correct! Valid padding costs 4 pixels per level, and every size that reaches a pooling must be even: "
        "572 is one of the sizes the paper's tiling can use, 570 is not."
    ),
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


# ---------------------------------------------------------------- q3: the receptive field of a whole U-Net


def _window_variant(specs, position, *, forward=False, conv="valid", pool="full", up="floor"):
    """receptive_field_of with one of the typical mistakes."""
    first, last = position, position
    for kind, size in specs if forward else reversed(specs):
        if kind == "conv":
            if conv == "centred":
                first, last = first - (size - 1) // 2, last + size // 2
            else:
                last = last + (size if conv == "k" else size - 1)
        elif kind == "pool":
            first, last = first * size, last * size + (size - 1 if pool == "full" else 0)
        elif up == "times":  # the stride applied on the wrong side: an upsampling gone back through like a pooling
            first, last = first * size, last * size + size - 1
        elif up == "divide":
            first, last = first / size, last / size
        elif up == "floor":
            first, last = first // size, last // size
    return first, last


def _tiny_unet():
    return [("conv", 3), ("pool", 2), ("conv", 3), ("up", 2), ("conv", 3), ("conv", 3)]


_WINDOW_EXAMPLES = [
    ("one valid 3x3 conv", [("conv", 3)], 5),
    ("two 3x3 convs and a 2x2 pooling", [("conv", 3), ("conv", 3), ("pool", 2)], 3),
    ("a 2x2 pooling, then a 3x3 conv", [("pool", 2), ("conv", 3)], 1),
    ("an upsampling by 2", [("up", 2)], 5),
    ("an upsampling by 2, then a 3x3 conv", [("up", 2), ("conv", 3)], 3),
    ("a tiny U-Net's deepest path (conv, pool, conv, up, conv, conv)", _tiny_unet(), 1),
    ("a tiny U-Net's deepest path (conv, pool, conv, up, conv, conv)", _tiny_unet(), 2),
    ("an upsampling by 3, then a 2-wide conv", [("up", 3), ("conv", 2)], 4),
    ("no layers at all", [], 7),
    ("the deepest path of the paper's U-Net, unet_path(4)", unet_path(4), 0),
    ("the deepest path of the paper's U-Net, unet_path(4)", unet_path(4), 8),
]


def _window_cases():
    cases = []
    for label, specs, position in _WINDOW_EXAMPLES:
        expected = receptive_field_of(specs, position)
        mistakes = (
            (
                _window_variant(specs, position, forward=True),
                "For output unit {position} of {label} you returned {got}, expected {expected}: you go through the "
                "layers from the input to the output. Start at the output unit and go *back*: the last layer "
                "first (reversed(layer_specs)).",
            ),
            (
                _window_variant(specs, position, up="times"),
                "For output unit {position} of {label} you returned {got}, expected {expected}: going back through "
                "an upsampling you multiply by s, as for a pooling. An upsampling makes the map larger, so going "
                "back it makes positions smaller: output unit o comes from input unit o // s.",
            ),
            (
                _window_variant(specs, position, up="ignore"),
                "For output unit {position} of {label} you returned {got}, expected {expected}: you leave positions "
                "unchanged through an upsampling. Its output is s times larger than its input: unit o of the output "
                "comes from unit o // s of the input.",
            ),
            (
                _window_variant(specs, position, pool="start"),
                "For output unit {position} of {label} you returned {got}, expected {expected}: a pooled unit o "
                "reads s units, s * o to s * o + s - 1: the last one ends s - 1 further on.",
            ),
            (
                _window_variant(specs, position, conv="centred"),
                "For output unit {position} of {label} you returned {got}, expected {expected}: the window has the "
                "right width but sits centred on the unit, as with 'same' padding. These layers are valid: "
                "unit o of a valid k-wide convolution reads units o to o + k - 1 of its input.",
            ),
            (
                _window_variant(specs, position, conv="k"),
                "For output unit {position} of {label} you returned {got}, expected {expected}: a k-wide convolution "
                "widens the window by k - 1, not k (unit o reads o to o + k - 1).",
            ),
        )
        shown = label if len(specs) > 6 else f"{label} {specs}"
        cases.append(
            Case(
                shown.replace("{", "{{").replace("}", "}}"),
                (specs, position),
                mistakes=distinct(
                    tuple((wrong, text.replace("{position}", str(position))) for wrong, text in mistakes), expected
                ),
                otherwise=f"For output unit {position} of {{label}} you returned {{got}}, expected {{expected}}.",
            )
        )
    return cases


def _as_window(got, case):
    if isinstance(got, (int, float, np.integer, np.floating)):
        raise Mistake(
            f"For {case.label} you returned one number, {got!r}; return the pair (first, last) of input pixels "
            "(the width is last - first + 1)."
        )
    try:
        values = [float(v) for v in got]
    except (TypeError, ValueError):
        raise Mistake(
            f"For {case.label} your function returned {type(got).__name__}; return a pair (first, last)."
        ) from None
    if len(values) != 2:
        raise Mistake(f"For {case.label} you returned {len(values)} values; return two: (first, last).")
    if any(v != int(v) for v in values):
        raise Mistake(
            f"For {case.label} you returned {got!r:.60}: positions are whole units. Going back through an "
            "upsampling by s, output unit o copies input unit o // s (divide and round down)."
        )
    return tuple(int(v) for v in values)


q3 = exercise(
    "q3",
    "the receptive field of a whole U-Net",
    notebook=NOTEBOOK,
    reference=receptive_field_of,
    target="receptive_field_of",
    hint=(
        "Work backwards, from one unit of the last layer to the input: keep the interval of units [first, last] "
        "that matter on each map, and for each kind of layer ask which units of its input one of its units reads.",
        "Go through the layers in reverse order. Draw a few units of each kind on paper: a valid convolution's unit "
        "o starts reading at o, a pooling's at s times o, and each reads a few units; an upsampled map is s times "
        "larger than its input: which input unit does its unit o come from?",
    ),
    cases=_window_cases,
    coerce=_as_window,
    success=(
        "correct! Going back through an upsampling divides positions by 2 and rounds down, so how many units of the "
        "smaller map a window covers depends on where it starts: the paper's output pixels see 188 or 204 input "
        "pixels (by their phase), never the 200 that halving the jump in the forward recurrence gives."
    ),
)


def compare_with_measurement(answer, measured):
    """Print the windows ``answer`` (a ``receptive_field_of``) traces for the rows of the paper's U-Net that
    ``measured`` lists (``(first, last)`` per output row, from the notebook's probe), and whether they agree."""
    try:
        traced = [call(answer, unet_path(4), row, describe=f"on output row {row}") for row in range(len(measured))]
        traced = [(int(first), int(last)) for first, last in traced]
    except NotDone:
        print("Write receptive_field_of in exercise 3 first, then run this cell again.")
        return
    except (Mistake, TypeError, ValueError) as error:
        print(f"Your receptive_field_of does not give a (first, last) pair on the paper's U-Net yet: {error}")
        return
    print(f"your trace, widths for output rows 0 to {len(traced) - 1}:", [last - first + 1 for first, last in traced])
    print("the same windows as measured in section 7:", traced == [tuple(w) for w in measured])


# ---------------------------------------------------------------- predictions


def _explain_valid_size(guess, actual):
    try:
        guess = int(guess)
    except (TypeError, ValueError):
        return "Give one number: the height (= the width) of the output."
    if guess == actual + 1:
        return "A valid 3x3 convolution loses 1 pixel on *each* side (its window must fit): 2 per axis, not 1."
    if guess == actual - 1:
        return "It loses k - 1 = 2 pixels per axis, not k = 3: the first window is centred on pixel 1, the last on 62."
    if guess == actual + 2:
        return "That is 'same' padding, which adds a border of zeros to keep the size; 'valid' adds none."
    if guess == actual - 2:
        return "4 pixels per axis is what a *block* of two valid 3x3 convolutions loses; one loses 2."
    if guess * 2 in (actual + 2, actual + 1):
        return "No stride here: a stride-1 convolution does not halve the size, only pooling (or a stride) does."
    return None


def _explain_block_params(guess, actual):
    try:
        guess = int(guess)
    except (TypeError, ValueError):
        return "Give one number: the total of both convolutions."
    first, second = 3 * 3 * 3 * 16 + 16, 3 * 3 * 16 * 16 + 16
    known = {
        actual - 32: "You left out the biases: one per filter, 16 in each convolution.",
        actual - 16: "You left out the biases of one convolution: each has 16, one per filter.",
        2 * first: "The second convolution reads the first one's 16 channels, not the image's 3: 3*3*16*16 + 16.",
        first: "That is the first convolution only: the block has two.",
        second: "That is the second convolution only: add the first one (3 input channels).",
        3 * 3 * 16 + 16 + 3 * 16 * 16 + 16: "A 3x3 kernel has 3*3 = 9 weights per pair of channels, not 3.",
        3 * 3 * 3 * 16 + 3 * 3 * 16 * 16 + 3 + 16: "There is one bias per *output* channel (16 per convolution).",
    }
    return known.get(guess)


p1 = Prediction(
    "p1",
    "the height and width one 3x3 convolution with padding='valid' leaves of a 64x64 image",
    notebook=NOTEBOOK,
    explain=_explain_valid_size,
)
p2 = Prediction(
    "p2",
    "the parameters of my_conv_block with 16 filters on an RGB input",
    notebook=NOTEBOOK,
    explain=_explain_block_params,
)


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
    "plain layers (dilation 1 everywhere): section 7's recurrence": [(3, 1, 1), (3, 1, 1), (2, 2, 1), (3, 1, 1)],
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
                    "as in section 7's recurrence.",
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
        "Start from section 7's two numbers, r and j. Only one thing is new: how many pixels of its input a "
        "dilated kernel covers. Draw 3 taps with dilation 2 on a row of pixels and count from the first to the last.",
        "Between k taps there are k - 1 gaps, each d pixels wide. Use that width where section 7's recurrence "
        "uses k; the jump still changes with the stride alone.",
    ),
    cases=_dilated_cases,
    coerce=_as_number,
    success=(
        "correct! A dilated kernel of k taps d apart spans d * (k - 1) + 1 pixels of its input: three 3x3 "
        "convolutions with dilations 1, 2, 4 see 15x15 pixels without any pooling, where plain ones see 7x7 "
        "(the atrous convolution of DeepLab)."
    ),
)

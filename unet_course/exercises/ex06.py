"""Exercises of notebook 06 (assembling U-Net): its parameters by arithmetic, and the paper's size rules in both
directions (the output of an input, the input for an output)."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Case, Mistake, Prediction, exercise
from unet_course.exercises._core import distinct

NOTEBOOK = "06_assembling_unet"


def unet_parameters(depth=4, base_filters=64, in_channels=1, num_classes=2, skip="concat"):
    """The parameters of ``build_unet(..., depth, base_filters, skip=skip)`` on ``in_channels`` channels, counted."""

    def conv(kernel, c_in, c_out):
        return kernel * kernel * c_in * c_out + c_out  # weights + one bias per output channel

    total, c_in = 0, in_channels
    for level in range(depth):  # contracting path: two 3x3 convolutions per level
        f = base_filters * 2**level
        total += conv(3, c_in, f) + conv(3, f, f)
        c_in = f
    f = base_filters * 2**depth  # the bottleneck
    total += conv(3, c_in, f) + conv(3, f, f)
    c_in = f
    for level in reversed(range(depth)):  # expanding path: 2x2 up-convolution, merge, two 3x3 convolutions
        f = base_filters * 2**level
        merged = 2 * f if skip == "concat" else f  # addition and no skip add no channels
        total += conv(2, c_in, f) + conv(3, merged, f) + conv(3, f, f)
        c_in = f
    return total + conv(1, base_filters, num_classes)  # the 1x1 classifier


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


def smallest_input_for_output(output_size, depth=4):
    """The smallest input size a valid-padding U-Net of ``depth`` accepts whose output has at least ``output_size``."""
    size = 1
    while not (is_valid_size(size, depth) and output_size_valid(size, depth) >= output_size):
        size += 1
    return size


# ---------------------------------------------------------------- predictions


def _explain_field(guess, actual):
    try:
        guess = float(guess)
    except (TypeError, ValueError):
        return "Give a number of pixels."
    if guess in (184, 185):
        return (
            "572 - 388 (+ 1) is the context margin: the tile is 184 pixels larger than its output. It would be the "
            "receptive field only if each pixel's window were centred on it and slid one pixel at a time; pooling "
            "and up-convolutions make the windows jump in steps of 16, and some are wider than 185."
        )
    if guess == 140:
        return "140 is the receptive field of one bottleneck unit; an output pixel combines several of them."
    if guess == 188:
        return "188 is the narrowest window: 4 of every 16 output rows have it; the other 12 see 204."
    if guess == 572:
        return "572 is the whole tile; an output pixel sees only part of it."
    return None


p1 = Prediction(
    "p1",
    "the widest receptive field of an output pixel of the paper's U-Net, in input pixels",
    notebook=NOTEBOOK,
    explain=_explain_field,
)


def _explain_tiles(guess, actual):
    if guess == "no" and actual == "yes":
        return (
            "Zero padding changes only the pixels whose receptive field crosses a tile's border. Discard a margin "
            "wider than that reach, and offset the tiles by multiples of 16 so that the poolings see the same grid: "
            "every kept pixel is then computed from the same input as in the whole image."
        )
    return None


p2 = Prediction(
    "p2",
    "with overlapping tiles offset by multiples of 16 and a 112-row margin dropped, does same padding reproduce the "
    "whole prediction exactly",
    notebook=NOTEBOOK,
    explain=_explain_tiles,
    choices=("yes", "no"),
)


# ---------------------------------------------------------------- q1: the parameters, by arithmetic


def _parameters_variant(
    depth,
    base_filters,
    in_channels,
    num_classes,
    skip,
    *,
    biases=True,
    up_kernel=2,
    merged_doubles=None,
    reads_input=True,
    bottleneck=True,
    classifier=True,
):
    """``unet_parameters`` with one mistake switched on."""

    def conv(kernel, c_in, c_out):
        return kernel * kernel * c_in * c_out + (c_out if biases else 0)

    doubles = (skip == "concat") if merged_doubles is None else merged_doubles
    total, c_in = 0, in_channels if reads_input else 1
    for level in range(depth):
        f = base_filters * 2**level
        total += conv(3, c_in, f) + conv(3, f, f)
        c_in = f
    if bottleneck:
        f = base_filters * 2**depth
        total += conv(3, c_in, f) + conv(3, f, f)
        c_in = f
    for level in reversed(range(depth)):
        f = base_filters * 2**level
        up = conv(up_kernel, c_in, f) if up_kernel else 0
        total += up + conv(3, 2 * f if doubles else f, f) + conv(3, f, f)
        c_in = f
    return total + (conv(1, base_filters, num_classes) if classifier else 0)


_Q1_CASES = [
    (4, 64, 1, 2, "concat"),  # the paper
    (3, 16, 3, 4, "concat"),
    (2, 8, 3, 1, "add"),
    (3, 8, 1, 3, "none"),
    (4, 16, 3, 4, "add"),
    (1, 4, 2, 5, "concat"),
]

_Q1_MISTAKES = [
    (dict(biases=False), "you counted the weights but not the biases: every convolution has one per output channel"),
    (
        dict(up_kernel=0),
        "you left out the up-convolutions: each decoder level starts with a 2x2 transposed convolution",
    ),
    (dict(up_kernel=3), "you counted each up-convolution as 3x3; the paper's up-convolution is 2x2"),
    (
        dict(merged_doubles=False),
        "the first convolution of each decoder level reads the concatenation of the upsampled tensor and the skip: "
        "twice the level's filters (2 f), not f",
    ),
    (
        dict(merged_doubles=True),
        "you doubled the channels into each decoder level's first convolution, as a concatenation does; with "
        "skip='{skip}' nothing is stacked: it reads f channels",
    ),
    (
        dict(reads_input=False),
        "your first convolution reads 1 channel; it reads the image's in_channels = {in_channels}",
    ),
    (dict(bottleneck=False), "you left out the bottleneck: two 3x3 convolutions with base_filters * 2**depth filters"),
    (
        dict(classifier=False),
        "you left out the 1x1 classifier: base_filters x num_classes weights plus num_classes biases",
    ),
]


def _q1_cases():
    cases = []
    for depth, base_filters, in_channels, num_classes, skip in _Q1_CASES:
        args = (depth, base_filters, in_channels, num_classes, skip)
        label = (
            f"depth={depth}, base_filters={base_filters}, in_channels={in_channels}, num_classes={num_classes}, "
            f"skip={skip!r}"
        )
        mistakes = [
            (
                _parameters_variant(*args, **options),
                "For {label} you returned {got}, expected {expected}: "
                + text.format(skip=skip, in_channels=in_channels)
                + ".",
            )
            for options, text in _Q1_MISTAKES
        ]
        cases.append(
            Case(
                label,
                args,
                mistakes=distinct(mistakes, unet_parameters(*args)),
                otherwise="For {label} you returned {got}, expected {expected}. Count level by level: two 3x3 "
                "convolutions per encoder level and in the bottleneck; per decoder level a 2x2 up-convolution and two "
                "3x3 convolutions; then the 1x1 classifier.",
            )
        )
    return cases


q1 = exercise(
    "q1",
    "the parameters of any U-Net, by arithmetic",
    notebook=NOTEBOOK,
    reference=unet_parameters,
    hint=(
        "Every parameter sits in a convolution, and a convolution's count depends only on its kernel and its input "
        "and output channels. So list the convolutions of the U, level by level, with the channels each one reads.",
        "Only two numbers change with the options: the channels the very first convolution reads (the image's), "
        "and the channels the first convolution of each decoder level reads (which depends on the merge).",
    ),
    cases=_q1_cases,
    coerce=lambda got, case: _as_int(got, case),
    success="correct! With depth 4, 64 base filters, 1 channel in and 2 classes out that is 31,030,658: the paper's "
    "network. Padding appears nowhere in the count.",
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


# ---------------------------------------------------------------- q4: the input a wanted output needs

_Q4_CASES = [(388, 4), (101, 4), (1, 4), (500, 4), (50, 3), (33, 2), (20, 1)]


def _first_fit(size, depth):
    """The smallest size >= ``size`` that a valid-padding U-Net of ``depth`` accepts."""
    while not is_valid_size(size, depth):
        size += 1
    return size


def _q4_cases():
    cases = []
    for output_size, depth in _Q4_CASES:
        expected = smallest_input_for_output(output_size, depth)
        margin = expected - output_size_valid(expected, depth)
        step = 2**depth
        mistakes = [
            (
                output_size + margin,
                "For {label} you returned {got} = output + "
                + str(margin)
                + ", the margin. But {got} is not a size the network accepts: valid outputs come in steps of "
                + str(step)
                + " (2**depth). Take the smallest accepted input whose output is at least output_size.",
            ),
            (
                output_size + 184,
                "For {label} you returned {got} = output + 184. 184 is the margin of the paper's depth 4; a U-Net "
                "of depth " + str(depth) + " has a margin of " + str(margin) + ".",
            ),
            (
                -(-output_size // step) * step,
                "For {label} you returned {got}, the output size rounded up to a multiple of 2**depth: the rule for "
                "same padding. With valid padding the input must be larger than the output by the margin (572 for "
                "388).",
            ),
            (
                expected - step,
                "For {label} you returned {got}: its output is "
                + str(output_size_valid(expected - step, depth) if expected - step > 0 else 0)
                + ", smaller than the "
                + str(output_size)
                + " asked for. Round up, not down.",
            ),
            (
                _first_fit(output_size, depth),
                "For {label} you returned {got}: a size the network accepts, but its output is smaller than the input "
                "by the margin; the input must cover the output *and* its context.",
            ),
        ]
        cases.append(
            Case(
                f"output_size={output_size}, depth={depth}",
                (output_size, depth),
                mistakes=distinct(mistakes, expected),
                otherwise="For {label} you returned {got}, expected {expected}: the smallest input size that the "
                "network accepts and whose output is at least output_size.",
            )
        )
    return cases


q4 = exercise(
    "q4",
    "the smallest input for a wanted output",
    notebook=NOTEBOOK,
    reference=smallest_input_for_output,
    hint=(
        "Two conditions at once: the input must be a size the network accepts (exercise 3), and its output "
        "(exercise 2) must be at least the size you want. Your two earlier functions can answer both.",
        "Try candidate input sizes from small to large and stop at the first that meets both conditions; or use "
        "that the input is always larger than the output by the same margin for a given depth, and that the sizes "
        "that fit come in steps of 2**depth.",
    ),
    cases=_q4_cases,
    coerce=lambda got, case: _as_int(got, case),
    success="correct! For the paper's 388x388 output that is 572: the margin of 184 pixels is the context every "
    "output pixel needs, and an output of 389 would already need a 588 tile.",
)

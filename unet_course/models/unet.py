"""``build_unet``: the whole U-Net from one set of options, and the input sizes it accepts.

The paper's network (Ronneberger, Fischer and Brox, 2015, figure 1)::

    >>> model = build_unet((572, 572, 1), 2, padding="valid")
    >>> model.output_shape
    (None, 388, 388, 2)
    >>> model.count_params()
    31030658

With ``padding="same"`` (the usual modern choice) the output has the input's height and
width, which must then be divisible by ``2 ** depth``.

Mixed precision: build the model after ``keras.config.set_dtype_policy("mixed_bfloat16")``
(CPU, recent GPUs) or ``"mixed_float16"`` (GPU); the blocks then compute in 16 bits and the
``classifier`` in float32 (:func:`~unet_course.models.blocks.classifier`).
"""

from __future__ import annotations

import keras
import numpy as np

from unet_course._validation import check_choice, check_positive_int
from unet_course.models.blocks import (
    PADDING_MODES,
    SKIP_MODES,
    UPSAMPLING_MODES,
    classifier,
    conv_block,
    decoder_block,
    encoder_block,
)

#: Parameters of the paper's U-Net (572x572x1 in, 388x388x2 out).
PAPER_PARAMETERS = 31_030_658


def _valid_output_size(size: int, depth: int) -> int | None:
    """Output size of a valid-padding U-Net for input ``size``, or None if it does not fit."""
    for _ in range(depth):
        size -= 4
        if size <= 0 or size % 2:
            return None
        size //= 2
    size -= 4  # bottleneck
    for _ in range(depth):
        size = size * 2 - 4
        if size <= 0:
            return None
    return size if size > 0 else None


def valid_input_sizes(depth: int = 4, start: int = 1, stop: int = 1024) -> list[int]:
    """Input sizes in ``[start, stop)`` that a valid-padding U-Net of this depth accepts.

    >>> valid_input_sizes(4, 560, 600)
    [572, 588]
    """
    return [s for s in range(start, stop) if _valid_output_size(s, depth)]


def valid_crop(crop_size: int, depth: int) -> tuple[int, int]:
    """``(input size, output size)`` of a valid-padding U-Net of ``depth`` for a requested crop.

    The input is the smallest size at or above ``crop_size`` that the network accepts
    (:func:`valid_input_sizes`: every feature map before a pooling must have an even size);
    the output is its centre, ``12 * 2 ** depth - 8`` pixels smaller (184 for the paper's
    depth 4).

    >>> valid_crop(570, 4)  # the paper's tile
    (572, 388)
    >>> valid_crop(64, 2)
    (64, 24)
    """
    depth = check_positive_int("depth", depth)
    if isinstance(crop_size, bool) or not isinstance(crop_size, (int, np.integer)) or crop_size < 1:
        raise ValueError(f"crop_size must be a positive number of pixels, got {crop_size!r}.")
    smallest = smallest_valid_input(depth)
    if crop_size < smallest:
        raise ValueError(
            f"crop_size={crop_size} is too small for a valid-padding U-Net of depth {depth}: its unpadded "
            f"convolutions need an input of at least {smallest} pixels (which predicts only its centre "
            f"{_valid_output_size(smallest, depth)}x{_valid_output_size(smallest, depth)}). Give crop_size >= "
            f"{smallest} (the paper: 572, for depth 4), or use a smaller depth."
        )
    size = int(crop_size)
    while not _valid_output_size(size, depth):
        size += 1
    return size, _valid_output_size(size, depth)


def smallest_valid_input(depth: int) -> int:
    """The smallest input a valid-padding U-Net of ``depth`` accepts.

    >>> smallest_valid_input(4)
    188
    """
    return valid_input_sizes(depth, 1, 16 * 2**depth)[0]


def largest_valid_input(limit: int, depth: int) -> int | None:
    """The largest input at most ``limit`` that a valid-padding U-Net of ``depth`` accepts, or ``None``."""
    sizes = valid_input_sizes(depth, 1, limit + 1)
    return sizes[-1] if sizes else None


def _check_input_shape(input_shape, depth: int, padding: str):
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(
            f"input_shape must be (height, width, channels), got {input_shape!r}. "
            "Leave out the batch axis: e.g. (128, 128, 3) for RGB or (572, 572, 1) for grey."
        )
    height, width, channels = input_shape
    check_positive_int("channels (last entry of input_shape)", channels)
    for label, size in (("height", height), ("width", width)):
        if size is None:
            if padding == "valid":
                raise ValueError(
                    "padding='valid' needs a fixed height and width; give input_shape such as (572, 572, 1)."
                )
            continue
        check_positive_int(f"{label} (in input_shape)", size)
        if padding == "same" and size % 2**depth:
            lower = size - size % 2**depth
            suggestion = f"{lower} or {lower + 2**depth}" if lower else f"{2**depth}"
            raise ValueError(
                f"The input {label} {size} is not divisible by 2**depth = {2**depth} (depth={depth}): each of the "
                f"{depth} poolings halves it, and the decoder must double it back exactly. Resize or pad your images "
                f"to {suggestion}, or use a smaller depth."
            )
        if padding == "valid" and not _valid_output_size(size, depth):
            near = [s for s in valid_input_sizes(depth, max(1, size - 64), size + 64)]
            nearest = min(near, key=lambda s: abs(s - size)) if near else None
            raise ValueError(
                f"The input {label} {size} does not fit a valid-padding U-Net of depth {depth}: every feature map "
                "before a pooling must have an even size, and each level loses 4 pixels to its two 3x3 convolutions. "
                + (
                    f"The nearest size that fits is {nearest} (see valid_input_sizes(depth))."
                    if nearest
                    else "Use a larger input."
                )
            )


def build_unet(
    input_shape,
    num_classes: int,
    *,
    depth: int = 4,
    base_filters: int = 64,
    upsampling: str = "transpose",
    skip: str = "concat",
    padding: str = "same",
    batch_norm: bool = False,
    dropout: float = 0.0,
    output_activation: str | None = "auto",
    name: str = "unet",
) -> keras.Model:
    """Build a U-Net as a functional ``keras.Model``.

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: output channels. 1 gives one sigmoid channel (binary segmentation);
            2 or more give a softmax over classes (the paper uses 2 for cell/border).
        depth: number of poolings (the paper: 4). Filters double at each level.
        base_filters: filters at the first level (the paper: 64 -> 1024 at the bottom).
        upsampling: ``"transpose"`` (the paper's up-convolution), ``"bilinear"`` or
            ``"nearest"`` (resize, then a 3x3 convolution).
        skip: ``"concat"`` (the paper), ``"add"``, or ``"none"`` (a plain encoder-decoder).
        padding: ``"same"`` keeps sizes; ``"valid"`` is the paper's unpadded convolutions
            (the output is smaller than the input, skips are centre-cropped).
        batch_norm: batch normalisation after each convolution (not in the paper).
        dropout: dropout rate after the deepest encoder block and the bottleneck (the paper
            mentions dropout at the end of the contracting path).
        output_activation: ``"auto"`` (sigmoid for 1 class, softmax otherwise), any Keras
            activation name, or ``None`` for logits.
        name: the model's name.
    """
    depth = check_positive_int("depth", depth)
    base_filters = check_positive_int("base_filters", base_filters)
    num_classes = check_positive_int("num_classes", num_classes)
    check_choice("upsampling", upsampling, UPSAMPLING_MODES)
    check_choice("skip", skip, SKIP_MODES)
    check_choice("padding", padding, PADDING_MODES)
    if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        raise ValueError(f"dropout must be a rate in [0, 1), got {dropout!r}.")
    _check_input_shape(input_shape, depth, padding)
    if output_activation == "auto":
        output_activation = "sigmoid" if num_classes == 1 else "softmax"

    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = inputs
    skips = []
    options = dict(padding=padding, batch_norm=batch_norm)
    for level in range(depth):
        level_dropout = dropout if level == depth - 1 else 0.0
        features, x = encoder_block(
            x, base_filters * 2**level, dropout=level_dropout, name=f"enc{level + 1}", **options
        )
        skips.append(features)
    x = conv_block(x, base_filters * 2**depth, dropout=dropout, name="bottleneck", **options)
    for level in reversed(range(depth)):
        x = decoder_block(
            x,
            skips[level],
            base_filters * 2**level,
            upsampling=upsampling,
            skip_mode=skip,
            name=f"dec{level + 1}",
            **options,
        )
    outputs = classifier(x, num_classes, output_activation)  # float32 under mixed precision
    return keras.Model(inputs, outputs, name=name)

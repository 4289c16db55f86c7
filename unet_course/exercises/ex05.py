"""Exercises of notebook 05 (decoder and skips): centre crop, the decoder block, and the paper's valid-padding block."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, call, exercise
from unet_course.exercises._core import layers_of

NOTEBOOK = "05_decoder_and_skips"


# --------------------------------------------------------------------------------------
# reference answers
# --------------------------------------------------------------------------------------


def center_crop(skip, target_height, target_width):
    """The centre ``target_height x target_width`` window of ``skip`` (height, width, channels).

    When the difference is odd, the extra pixel is cut at the bottom / right, as
    ``keras.layers.Cropping2D`` does in ``unet_course.models.merge_skip``.
    """
    height, width = skip.shape[0], skip.shape[1]
    top = (height - target_height) // 2
    left = (width - target_width) // 2
    return skip[top : top + target_height, left : left + target_width]


def my_decoder_block(x, skip, num_filters):
    """Upsample ``x`` (2x2 transposed convolution, stride 2), concatenate ``skip``, two 3x3 convs.

    Named ``my_decoder_block`` (as in the notebook) so that a learner who copies it does not
    hide the package's ``unet_course.models.decoder_block``, which takes more options.
    """
    from keras import layers

    x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
    x = layers.Concatenate()([skip, x])
    x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
    x = layers.Conv2D(num_filters, 3, padding="same", activation="relu")(x)
    return x


def valid_decoder_block(x, skip, num_filters):
    """The paper's decoder block: up-convolution, centre-crop the larger skip, concatenate, two valid 3x3 convs."""
    from keras import layers

    x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
    extra_h = skip.shape[1] - x.shape[1]
    extra_w = skip.shape[2] - x.shape[2]
    crop = ((extra_h // 2, extra_h - extra_h // 2), (extra_w // 2, extra_w - extra_w // 2))
    skip = layers.Cropping2D(crop)(skip)
    x = layers.Concatenate()([skip, x])
    x = layers.Conv2D(num_filters, 3, padding="valid", activation="relu")(x)
    x = layers.Conv2D(num_filters, 3, padding="valid", activation="relu")(x)
    return x


# --------------------------------------------------------------------------------------
# q1: centre crop
# --------------------------------------------------------------------------------------


def _crop_cases():
    rng = np.random.default_rng(5)
    cases = []
    for height, width, channels, target_h, target_w in [
        (8, 8, 2, 4, 4),  # even differences
        (10, 16, 2, 4, 6),  # even differences, different offsets on the two axes (3 rows, 5 columns)
        (6, 5, 2, 6, 5),  # nothing to crop
        (7, 9, 3, 4, 6),  # odd differences on both axes (3 and 3), not square
        (5, 6, 1, 4, 6),  # odd difference in height only, none in width
        (6, 11, 2, 4, 8),  # even difference in height, odd in width
        (64, 64, 1, 56, 56),  # the paper's deepest level, scaled to one channel
    ]:
        skip = rng.integers(0, 1000, size=(height, width, channels))  # distinct values: every window differs
        cases.append(
            (f"a skip of shape {height}x{width}x{channels} cropped to {target_h}x{target_w}", skip, target_h, target_w)
        )
    return cases


def _window_of(skip, got):
    """The (top, left) of the window of ``skip`` that ``got`` is, or None."""
    target_h, target_w = got.shape[:2]
    for top in range(skip.shape[0] - target_h + 1):
        for left in range(skip.shape[1] - target_w + 1):
            if np.array_equal(got, skip[top : top + target_h, left : left + target_w]):
                return top, left
    return None


def _axis_text(got, want, extra, names):
    """What the learner's offset on one axis does; ``names`` = (first side, last side, unit)."""
    first, last, unit = names
    if got == want:
        return ""
    if extra % 2 and got == want + 1:
        return (
            f"with an odd difference of {extra} {unit}s you cut the extra {unit} at the {first}; the course cuts it "
            f"at the {last}, so the crop starts at {unit} {extra} // 2 = {want}"
        )
    if got == 0:
        return f"you cut nothing at the {first} (the difference is {extra}: cut {want} there)"
    if got == extra:
        return f"you cut all {extra} {unit}s at the {first} and none at the {last}"
    return f"you cut {got} {unit}s at the {first}, expected {want}"


@exercise(
    "q1",
    "centre crop",
    notebook=NOTEBOOK,
    reference=center_crop,
    hint=(
        "On each axis the difference (height - target_height) is split between the two sides. With an odd "
        "difference one side gets one more: the course cuts the extra pixel at the bottom and on the right, so "
        "the top gets the rounded-down half.",
        "Once you know the top and left offsets, a slice with a start and a length, start : start + target, "
        "is the window; it also works when there is nothing to cut (a slice ending at -0 would be empty).",
    ),
)
def q1(answer):
    for label, skip, target_h, target_w in _crop_cases():
        got = call(answer, skip.copy(), target_h, target_w, describe=f"on {label}")
        try:
            got = np.asarray(got)
        except Exception:
            raise Mistake(
                f"On {label} your function returned {type(got).__name__}; return the cropped array."
            ) from None
        height, width, channels = skip.shape
        want_shape = (target_h, target_w, channels)
        if got.ndim == 4 and got.shape[0] == 1:
            raise Mistake(
                f"On {label} you returned shape {got.shape}, with a batch axis of 1 in front. The skip has no "
                f"batch axis: return an array of shape {want_shape}."
            )
        if got.ndim != 3 or got.shape[2] != channels:
            raise Mistake(f"On {label} you returned shape {got.shape}; keep the channel axis: expected {want_shape}.")
        extra_h, extra_w = height - target_h, width - target_w
        if got.shape[:2] != (target_h, target_w):
            if got.size == 0:
                raise Mistake(
                    f"On {label} you returned an empty array {got.shape}. When there is nothing to cut, "
                    "a slice such as skip[0:-0] is empty: -0 is 0. "
                    "Slice with a start and a length instead: skip[top:top + target_height]."
                )
            if got.shape[:2] == (target_w, target_h) and target_h != target_w:
                raise Mistake(
                    f"On {label} you returned {got.shape[0]}x{got.shape[1]}: height and width swapped. The first axis "
                    f"is the height: expected {target_h}x{target_w}."
                )
            off_by_one = [
                name
                for name, size, target, extra in (
                    ("height", got.shape[0], target_h, extra_h),
                    ("width", got.shape[1], target_w, extra_w),
                )
                if size != target and extra % 2 and size == target + 1
            ]
            if off_by_one and all(
                size == target or name in off_by_one
                for name, size, target in (("height", got.shape[0], target_h), ("width", got.shape[1], target_w))
            ):
                raise Mistake(
                    f"On {label} you returned {got.shape[0]}x{got.shape[1]}, expected {target_h}x{target_w}: one pixel "
                    f"too many in the {' and the '.join(off_by_one)}, where the difference is odd. Cutting "
                    "difference // 2 from both sides leaves one pixel too many; take exactly target_height rows "
                    "(and target_width columns) from the start offset."
                )
            raise Mistake(f"On {label} you returned {got.shape[0]}x{got.shape[1]}, expected {target_h}x{target_w}.")
        top, left = extra_h // 2, extra_w // 2
        if np.array_equal(got, skip[top : top + target_h, left : left + target_w]):
            continue
        where = _window_of(skip, got)
        if where is None:
            raise Mistake(
                f"On {label} your crop has the right shape, but it is not a window of the skip: no "
                f"{target_h}x{target_w} slice of it holds these values. Return skip[top:top + target_height, "
                "left:left + target_width] with all channels as they are (no transposing or reordering)."
            )
        got_top, got_left = where
        if (got_top, got_left) == (0, 0):
            raise Mistake(
                f"On {label} you took the top-left corner. U-Net crops the *centre*: "
                "cut the same amount from each side."
            )
        if (got_top, got_left) == (extra_h, extra_w):
            raise Mistake(
                f"On {label} you took the bottom-right corner. Cut half of the difference at the top and half at the "
                "bottom (and the same for left and right)."
            )
        if (got_top, got_left) == (left, top):
            raise Mistake(
                f"On {label} you swapped the row and column offsets (you start at row {got_top}, column {got_left}; "
                f"the centre starts at row {top}, column {left}): the first axis is the height, the second the width."
            )
        texts = [
            text
            for text in (
                _axis_text(got_top, top, extra_h, ("top", "bottom", "row")),
                _axis_text(got_left, left, extra_w, ("left", "right", "column")),
            )
            if text
        ]
        raise Mistake(
            f"On {label} your crop starts at row {got_top}, column {got_left}; the centre window starts at row {top}, "
            f"column {left}: {'; and '.join(texts)}."
        )
    return (
        "correct! With an odd difference the course (like keras.layers.Cropping2D in unet_course.models.merge_skip) "
        "cuts the extra pixel at the bottom and right. In the paper every difference is even (8, 32, 80, 176 pixels)."
    )


# --------------------------------------------------------------------------------------
# q2: decoder block
# --------------------------------------------------------------------------------------


def _numpy(value) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(value))


def _decoder_reference(
    x,
    skip,
    up,
    convs,
    *,
    skip_first=True,
    up_relu=False,
    relu=(True, True),
    activation="relu",
    padding="same",
    crop_start=None,
):
    """What the task's block computes with the learner's layers' weights (NumPy arrays in, out).

    ``crop_start`` = (top, left): the skip is cut to the upsampled size from there (the valid block).
    """
    import keras

    weights = up.get_weights()
    y = _numpy(keras.ops.conv_transpose(x, weights[0], strides=2, padding=up.padding))
    y = y + weights[1] if len(weights) > 1 else y
    if up_relu:
        y = np.maximum(y, 0)
    if crop_start is not None:
        top, left = crop_start
        skip = skip[:, top : top + y.shape[1], left : left + y.shape[2]]
    y = np.concatenate([skip, y] if skip_first else [y, skip], axis=-1)
    for conv, with_relu in zip(convs, relu):
        weights = conv.get_weights()
        y = _numpy(keras.ops.conv(y, weights[0], strides=1, padding=padding)) + (weights[1] if len(weights) > 1 else 0)
        if with_relu:
            y = np.maximum(y, 0) if activation == "relu" else _numpy(keras.activations.get(activation)(y))
    return y


def _matches(got, reference, **options) -> bool:
    want = _decoder_reference(*reference, **options)
    return want.shape == got.shape and np.allclose(got, want, rtol=1e-3, atol=1e-4)


def _axis_name(axis) -> str:
    return {0: "the batch axis", 1: "the height", 2: "the width", -3: "the height", -2: "the width"}.get(axis, "")


def _check_upsampling(model, label, shape, x_shape, skip_shape, num_filters):
    """Step 1 of every decoder block: one 2x2 transposed convolution of stride 2 with num_filters filters."""
    from keras import layers

    transposes = layers_of(model, layers.Conv2DTranspose)
    resizes = layers_of(model, layers.UpSampling2D, layers.Resizing, "Resize")
    if not transposes:
        if resizes:
            how = type(resizes[0]).__name__
            interpolation = getattr(resizes[0], "interpolation", None)
            how += f"(interpolation={interpolation!r})" if interpolation else ""
            raise Mistake(
                f"Your block upsamples with {how}, a fixed interpolation. The task asks for a 2x2 transposed "
                "convolution of stride 2, which learns its upsampling: layers.Conv2DTranspose (the paper's "
                "up-convolution)."
            )
        raise Mistake(
            f"On {label} your output is {shape[1]}x{shape[2]} and your block has no upsampling layer: did you forget "
            "the upsampling? A decoder block first doubles height and width with a 2x2 transposed convolution of "
            "stride 2 (layers.Conv2DTranspose)."
        )
    if len(transposes) > 1:
        raise Mistake(
            f"Your block has {len(transposes)} transposed convolutions; the task's block has one, which doubles x once."
        )
    up = transposes[0]
    if tuple(up.kernel_size) != (2, 2):
        raise Mistake(
            f"Your transposed convolution has a {'x'.join(map(str, up.kernel_size))} kernel; the task asks for 2x2 "
            "(kernel 2 with stride 2: the footprints tile the output without overlap, so no checkerboard)."
        )
    if tuple(up.strides) != (2, 2):
        raise Mistake(
            f"Your transposed convolution has strides {tuple(up.strides)}; the task asks for stride 2, which doubles "
            "the height and the width."
        )
    if resizes:
        raise Mistake(
            f"Your block upsamples twice: with the transposed convolution and with {type(resizes[0]).__name__}. "
            "The transposed convolution alone doubles x."
        )
    if up.filters != num_filters:
        channels = {x_shape[-1]: "the channels of x", skip_shape[-1]: "the channels of the skip"}
        if x_shape[-1] // 2 not in channels:
            channels[x_shape[-1] // 2] = (
                f"half the channels of x: in U-Net that is num_filters, but here num_filters is {num_filters}"
            )
        why = f" ({channels[up.filters]})" if up.filters in channels else ""
        raise Mistake(
            f"On {label} your transposed convolution has {up.filters} filters{why}; give it num_filters = "
            f"{num_filters} filters, like the two convolutions after it."
        )
    return up


def _check_concatenation(model):
    """Step 2: the skip concatenated along the channels."""
    concats = layers_of(model, "Concatenate")
    if not concats:
        if layers_of(model, "Add"):
            raise Mistake(
                "Your block merges the skip with Add. This exercise asks for the paper's concatenation: "
                "layers.Concatenate()([skip, x])."
            )
        raise Mistake(
            "Your block has no Concatenate layer: the skip features must be concatenated with the upsampled tensor."
        )
    for concat in concats:
        axis = getattr(concat, "axis", -1)
        if axis not in (-1, 3):
            raise Mistake(
                f"Your block concatenates along axis {axis} ({_axis_name(axis) or 'not the channels'}). Concatenate "
                "along the channel axis, the last one (axis=-1): the skip's features and the upsampled ones lie "
                "side by side at every pixel. (keras.ops.concatenate's default is axis=0.)"
            )


def _check_convolutions(model, label, num_filters, padding="same"):
    """Step 3: two plain 3x3 convolutions with num_filters filters and the task's padding."""
    from keras import layers

    convs = [c for c in layers_of(model, layers.Conv2D) if not isinstance(c, layers.Conv2DTranspose)]
    if len(convs) != 2:
        raise Mistake(
            f"Your block has {len(convs)} Conv2D layer{'s' if len(convs) != 1 else ''} besides the transposed "
            "convolution; the task's decoder block has 2 (3x3 each), after the concatenation."
        )
    for index, conv in enumerate(convs, start=1):
        if tuple(conv.kernel_size) != (3, 3):
            raise Mistake(
                f"Your Conv2D number {index} has a {'x'.join(map(str, conv.kernel_size))} kernel; the task "
                "asks for 3x3 convolutions."
            )
        if conv.filters != num_filters:
            raise Mistake(
                f"On {label} your Conv2D number {index} has {conv.filters} filters; give it num_filters = "
                f"{num_filters} (not the channel count of x or of the skip)."
            )
        if conv.padding != padding:
            why = (
                "which keeps the skip's size (valid padding trims 1 pixel per side)"
                if padding == "same"
                else "the paper's unpadded convolutions: each trims 1 pixel per side, so the block's output is 4 "
                "pixels smaller than the cropped skip"
            )
            raise Mistake(
                f"Your Conv2D number {index} has padding={conv.padding!r}; "
                f"the task asks for padding={padding!r}, {why}."
            )
        if tuple(conv.strides) != (1, 1) or tuple(conv.dilation_rate) != (1, 1):
            raise Mistake(
                f"Your Conv2D number {index} has strides {tuple(conv.strides)} and dilation "
                f"{tuple(conv.dilation_rate)}; the task's convolutions are plain (stride 1, dilation 1)."
            )
    return convs


def _check_decoder(answer, x_shape, skip_shape, num_filters):
    import keras

    label = f"x of shape {(None, *x_shape)}, skip of shape {(None, *skip_shape)} and num_filters={num_filters}"
    x_in = keras.Input(x_shape, name="x")
    skip_in = keras.Input(skip_shape, name="skip")
    out = call(answer, x_in, skip_in, num_filters, describe=f"on {label}")
    if not isinstance(out, keras.KerasTensor):
        raise Mistake(
            f"On {label} your function returned {type(out).__name__}; return the output tensor of the last layer."
        )
    shape = tuple(out.shape)
    model = keras.Model([x_in, skip_in], out)
    # 1. the upsampling: a 2x2 transposed convolution of stride 2, with num_filters filters
    up = _check_upsampling(model, label, shape, x_shape, skip_shape, num_filters)
    # 2. the merge: a concatenation with the skip, along the channels
    _check_concatenation(model)
    # 3. the two 3x3 convolutions, same padding, num_filters filters
    convs = _check_convolutions(model, label, num_filters)
    expected = (None, skip_shape[0], skip_shape[1], num_filters)
    if shape != expected:
        raise Mistake(
            f"On {label} your output has shape {shape}, expected {expected}: the upsampled x, merged with the skip, "
            "then the two convolutions, one after the other."
        )
    # 4. behaviour: is the skip used, and with the learner's weights, does the block compute the task's block?
    rng = np.random.default_rng(0)
    x_value = rng.normal(size=(2, *x_shape)).astype("float32")
    skip_a = rng.normal(size=(2, *skip_shape)).astype("float32")
    skip_b = rng.normal(size=(2, *skip_shape)).astype("float32")
    out_a = _numpy(model([x_value, skip_a], training=False))
    out_b = _numpy(model([x_value, skip_b], training=False))
    if np.allclose(out_a, out_b):
        raise Mistake(
            "Your block ignores the skip: changing the skip features does not change the output. Concatenate the "
            "skip with the upsampled x."
        )
    reference = (x_value, skip_a, up, convs)
    merged = convs[0].get_weights()[0].shape[2]
    if merged != num_filters + skip_shape[-1]:
        raise Mistake(
            f"On {label} your first 3x3 convolution reads {merged} channels, but the upsampled x ({num_filters}) and "
            f"the skip ({skip_shape[-1]}) concatenated make {num_filters + skip_shape[-1]}: the first 3x3 convolution "
            "comes right after the concatenation of exactly these two."
        )
    for skip_first in (True, False):
        for up_relu in (False, True):  # the task does not say whether the up-convolution has an activation
            if _matches(out_a, reference, skip_first=skip_first, up_relu=up_relu):
                return
    for skip_first in (True, False):
        for relu, text in (
            ((False, True), "the first 3x3 convolution has no ReLU after it"),
            ((True, False), "the second 3x3 convolution has no ReLU after it (your output has negative values)"),
            ((False, False), "your 3x3 convolutions have no activation: neither is followed by a ReLU"),
        ):
            if any(_matches(out_a, reference, skip_first=skip_first, up_relu=u, relu=relu) for u in (False, True)):
                raise Mistake(
                    f"With your block's own weights I compared it with the task's block: {text}. Give them "
                    "activation='relu' (or add ReLU layers)."
                )
    for other in ("sigmoid", "tanh", "elu", "selu", "gelu", "silu", "leaky_relu", "softplus"):
        if _matches(out_a, reference, skip_first=True, activation=other) or _matches(
            out_a, reference, skip_first=False, activation=other
        ):
            raise Mistake(
                f"With your block's own weights I compared it with the task's block: your 3x3 convolutions apply "
                f"{other} where the task has ReLU."
            )
    raise Mistake(
        "Your block has the task's layers, but with their own weights it computes something else than "
        "transposed convolution -> concatenation with the skip -> 3x3 conv + ReLU -> 3x3 conv + ReLU. Check the "
        "order of the steps and that the concatenation takes the skip and the upsampled x as they are."
    )


@exercise(
    "q2",
    "decoder block",
    notebook=NOTEBOOK,
    reference=my_decoder_block,
    hint=(
        "The block has three steps, in this order: upsample x so that it has the skip's height and width, merge "
        "the two, then refine with convolutions.",
        "Upsampling with learned weights is a transposed convolution (kernel 2 and stride 2 double the size "
        "exactly). Merging puts the skip's channels next to the upsampled ones: a concatenation along the last "
        "axis. The convolutions after it see both together.",
    ),
)
def q2(answer):
    # x has twice the channels of skip (as in U-Net), then an unusual case where
    # num_filters equals neither input's channel count; neither input is square
    for x_shape, skip_shape, num_filters in [((4, 6, 16), (8, 12, 8), 8), ((3, 5, 6), (6, 10, 4), 5)]:
        _check_decoder(answer, x_shape, skip_shape, num_filters)
    return "correct! Concatenation order does not matter to the network: [skip, x] and [x, skip] learn the same block."


# --------------------------------------------------------------------------------------
# q3: the paper's decoder block, valid padding: the skip is larger and must be cropped
# --------------------------------------------------------------------------------------

_VALID_CASES = [  # x shape, skip shape, num_filters: the skip is larger than the upsampled x
    ((14, 14, 16), (32, 32, 8), 8),  # even differences (4 on each axis: 2 cut per side)
    ((5, 7, 6), (13, 16, 4), 4),  # odd difference in height (3), even in width (2); not square
    ((28, 28, 8), (64, 64, 4), 4),  # the paper's deepest level (56 vs 64) with fewer channels
]

_CONCAT_ERROR = ("`Concatenate` layer requires inputs with matching shapes", "must have the same shape except")


def _mismatch_hint(text: str) -> bool:
    return text.startswith("Your function raised") and any(phrase in text for phrase in _CONCAT_ERROR)


def _check_valid_decoder(answer, x_shape, skip_shape, num_filters):
    import keras
    from keras import layers

    up_h, up_w = 2 * x_shape[0], 2 * x_shape[1]
    extra_h, extra_w = skip_shape[0] - up_h, skip_shape[1] - up_w
    top, left = extra_h // 2, extra_w // 2
    label = f"x of shape {(None, *x_shape)}, skip of shape {(None, *skip_shape)} and num_filters={num_filters}"
    x_in = keras.Input(x_shape, name="x")
    skip_in = keras.Input(skip_shape, name="skip")
    try:
        out = call(answer, x_in, skip_in, num_filters, describe=f"on {label}")
    except Mistake as mistake:
        if _mismatch_hint(str(mistake)):
            raise Mistake(
                f"{mistake} The upsampled x is {up_h}x{up_w} and the skip {skip_shape[0]}x{skip_shape[1]}: a "
                f"concatenation needs equal heights and widths. Crop the skip's centre to exactly {up_h}x{up_w} "
                "before concatenating (layers.Cropping2D, or a slice); with an odd difference cut the extra pixel "
                "at the bottom and on the right, as in exercise 1."
            ) from None
        raise
    if not isinstance(out, keras.KerasTensor):
        raise Mistake(
            f"On {label} your function returned {type(out).__name__}; return the output tensor of the last layer."
        )
    shape = tuple(out.shape)
    model = keras.Model([x_in, skip_in], out)
    if layers_of(model, layers.Conv2DTranspose) and layers_of(model, layers.Resizing, "Resize"):
        raise Mistake(
            "Your block resizes a tensor (Resizing) besides the transposed convolution. The paper does not shrink "
            "the skip: it cuts out its centre, so that every kept pixel is a real encoder feature at its own place."
        )
    pads = layers_of(model, layers.ZeroPadding2D, "Pad")
    if pads:
        raise Mistake(
            f"Your block pads a tensor ({type(pads[0]).__name__}) to make the sizes match. The paper crops the "
            "larger skip instead: padding the upsampled x would surround it with zeros that the valid "
            "convolutions then read as if they were image content."
        )
    up = _check_upsampling(model, label, shape, x_shape, skip_shape, num_filters)
    _check_concatenation(model)
    convs = _check_convolutions(model, label, num_filters, padding="valid")
    expected = (None, up_h - 4, up_w - 4, num_filters)
    if shape != expected:
        raise Mistake(
            f"On {label} your output has shape {shape}, expected {expected}: the upsampled x is {up_h}x{up_w}, the "
            "skip cropped to that size, and each of the two valid 3x3 convolutions trims 1 pixel per side."
        )
    for crop in layers_of(model, layers.Cropping2D):
        got = tuple(tuple(int(v) for v in pair) for pair in crop.cropping)
        want = ((top, extra_h - top), (left, extra_w - left))
        if got != want:
            texts = [
                text
                for text in (
                    _axis_text(got[0][0], top, extra_h, ("top", "bottom", "row")),
                    _axis_text(got[1][0], left, extra_w, ("left", "right", "column")),
                )
                if text
            ]
            raise Mistake(
                f"On {label} your Cropping2D cuts {got}, the centre crop is {want}"
                + (f": {'; and '.join(texts)}." if texts else ".")
            )
    # behaviour, with the learner's own weights
    rng = np.random.default_rng(1)
    x_value = rng.normal(size=(2, *x_shape)).astype("float32")
    skip_a = rng.normal(size=(2, *skip_shape)).astype("float32")
    skip_b = rng.normal(size=(2, *skip_shape)).astype("float32")
    out_a = _numpy(model([x_value, skip_a], training=False))
    if np.allclose(out_a, _numpy(model([x_value, skip_b], training=False))):
        raise Mistake(
            "Your block ignores the skip: changing the skip features does not change the output. Concatenate the "
            "cropped skip with the upsampled x."
        )
    reference = (x_value, skip_a, up, convs)
    options = dict(padding="valid")
    for skip_first in (True, False):
        for up_relu in (False, True):
            if _matches(out_a, reference, skip_first=skip_first, up_relu=up_relu, crop_start=(top, left), **options):
                return
    wrong_places = {
        (0, 0): "you kept the skip's top-left corner. U-Net crops the *centre*: cut the same amount from each side",
        (extra_h, extra_w): "you kept the skip's bottom-right corner. Cut half of the difference on each side",
        (top + extra_h % 2, left + extra_w % 2): "with an odd difference you cut the extra pixel at the top (or "
        "left); the course cuts it at the bottom and on the right, as keras.layers.Cropping2D does in merge_skip",
        (left, top): "you swapped the row and column offsets: the first axis is the height, the second the width",
    }
    for start, text in wrong_places.items():
        if start == (top, left):
            continue
        for skip_first in (True, False):
            if any(
                _matches(out_a, reference, skip_first=skip_first, up_relu=u, crop_start=start, **options)
                for u in (False, True)
            ):
                raise Mistake(f"On {label} your block is right except for the crop: {text}.")
    for skip_first in (True, False):
        for relu, text in (
            ((False, True), "the first 3x3 convolution has no ReLU after it"),
            ((True, False), "the second 3x3 convolution has no ReLU after it (your output has negative values)"),
            ((False, False), "your 3x3 convolutions have no activation: neither is followed by a ReLU"),
        ):
            if any(
                _matches(
                    out_a, reference, skip_first=skip_first, up_relu=u, relu=relu, crop_start=(top, left), **options
                )
                for u in (False, True)
            ):
                raise Mistake(
                    f"With your block's own weights I compared it with the task's block: {text}. Give them "
                    "activation='relu' (or add ReLU layers)."
                )
    raise Mistake(
        "Your block has the task's layers, but with their own weights it computes something else than "
        "transposed convolution -> centre crop of the skip -> concatenation -> 3x3 conv + ReLU -> 3x3 conv + ReLU "
        "(valid padding). Check the order of the steps and that the skip is cropped to its centre, not resized."
    )


@exercise(
    "q3",
    "the paper's decoder block (valid padding)",
    notebook=NOTEBOOK,
    reference=valid_decoder_block,
    hint=(
        "Build exercise 2's block with padding='valid' and run it: the concatenation fails. Compare the two "
        "shapes it complains about: which tensor is larger, and by how much on each axis?",
        "The skip is larger than the upsampled x. Work out on each axis how many pixels to cut before and after, "
        "from the two shapes (skip.shape[1], x.shape[1], ...), and cut them with a Cropping2D layer before the "
        "concatenation; the convolutions then use padding='valid'.",
    ),
)
def q3(answer):
    for x_shape, skip_shape, num_filters in _VALID_CASES:
        _check_valid_decoder(answer, x_shape, skip_shape, num_filters)
    return (
        "correct! This is the paper's expanding step: with valid convolutions the encoder's features are larger "
        "than the upsampled tensor, so they are centre-cropped (64 -> 56 at the deepest level, 568 -> 392 at the "
        "top), and each valid 3x3 convolution then trims 1 pixel per side."
    )

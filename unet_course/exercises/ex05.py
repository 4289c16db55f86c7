"""Exercises of notebook 05 (decoder and skips): the crop table of a valid U-Net, an added skip with a 1x1
projection, a misaligned crop to fix, and a boundary IoU that also sees the predicted edges."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Case, Mistake, Prediction, call, exercise
from unet_course.exercises._core import distinct, layers_of

NOTEBOOK = "05_decoder_and_skips"


# --------------------------------------------------------------------------------------
# reference answers
# --------------------------------------------------------------------------------------


def skip_crops(input_size, depth=4):
    """Pixels cut from each side of every skip of a valid-padding U-Net, level 1 (the top) first."""
    size, skips = input_size, []
    for _ in range(depth):
        size -= 4  # the level's two valid 3x3 convolutions
        skips.append(size)  # these features cross the U
        size //= 2  # 2x2 max pooling
    size -= 4  # the bottleneck's two convolutions
    crops = [0] * depth
    for level in reversed(range(depth)):  # back up, the deepest level first
        size *= 2  # the 2x2 up-convolution
        crops[level] = (skips[level] - size) // 2  # the skip is cut to the upsampled size, half on each side
        size -= 4  # the decoder level's two convolutions
    return crops


def add_decoder_block(x, skip, num_filters):
    """Upsample ``x``, add the skip (projected by a 1x1 convolution when its channels differ), two 3x3 convs."""
    from keras import layers

    x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
    if skip.shape[-1] != num_filters:
        skip = layers.Conv2D(num_filters, 1)(skip)  # a linear 1x1 projection: channels to num_filters
    x = layers.Add()([skip, x])
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


def buggy_valid_decoder_block(x, skip, num_filters):
    """Exercise 3's block: it runs and its shapes are right, but its crop keeps the wrong pixels."""
    from keras import layers

    x = layers.Conv2DTranspose(num_filters, 2, strides=2)(x)
    extra_h = skip.shape[1] - x.shape[1]
    extra_w = skip.shape[2] - x.shape[2]
    skip = layers.Cropping2D(((0, extra_h), (0, extra_w)))(skip)
    x = layers.Concatenate()([skip, x])
    x = layers.Conv2D(num_filters, 3, padding="valid", activation="relu")(x)
    x = layers.Conv2D(num_filters, 3, padding="valid", activation="relu")(x)
    return x


def boundary_iou_both(y_true, y_pred, width):
    """Foreground IoU inside the union of the bands around the true *and* the predicted boundaries."""
    from unet_course.evaluation import boundary_band

    band = boundary_band(y_true, width) | boundary_band(y_pred, width)
    a, b = np.asarray(y_true)[band].astype(bool), np.asarray(y_pred)[band].astype(bool)
    union = np.sum(a | b)
    return 1.0 if union == 0 else float(np.sum(a & b) / union)


# --------------------------------------------------------------------------------------
# predictions
# --------------------------------------------------------------------------------------


def _explain_crop(guess, actual):
    try:
        guess = float(guess)
    except (TypeError, ValueError):
        return "Give a number of pixels."
    if guess == 2 * actual:
        return (
            "That is the whole difference, 568 - 392; the decoder's tensor sits at the centre, so half is cut on "
            "each side."
        )
    if guess in (184, 92, 185):
        return (
            "572 - 388 = 184 compares the network's input with its output; the crop compares the level-1 skip "
            "(568) with the upsampled tensor it joins (392)."
        )
    if guess == 4:
        return (
            "4 per side is the crop of the deepest level (64 -> 56); level 1 has lost far more on the way down and up."
        )
    return None


p1 = Prediction(
    "p1",
    "pixels cut from each side of the level-1 skip (568x568 features, 392x392 upsampled tensor)",
    notebook=NOTEBOOK,
    explain=_explain_crop,
)


def _explain_boundary(guess, actual):
    if guess == "IoU" and actual == "boundary IoU":
        return (
            "Most wrong pixels lie near the edges, and the band holds only a small share of the pixels: the same "
            "wrong pixels are a larger share of the band than of the image."
        )
    if guess == "boundary IoU" and actual == "IoU":
        return "In this run the skips' gain was not concentrated at the edges: read the table above."
    return None


p2 = Prediction(
    "p2",
    "removing the skips costs more of which score",
    notebook=NOTEBOOK,
    explain=_explain_boundary,
    choices=("IoU", "boundary IoU"),
)


# --------------------------------------------------------------------------------------
# q1: the crop table of a valid-padding U-Net
# --------------------------------------------------------------------------------------


def _crop_variant(input_size, depth, enc=4, bottleneck=4, dec=4, after_convs=False):
    """``skip_crops`` with one mistake switched on (a pixel count changed, or the crop taken after the convs)."""
    size, skips = input_size, []
    for _ in range(depth):
        size -= enc
        skips.append(size)
        size //= 2
    size -= bottleneck
    crops = [0] * depth
    for level in reversed(range(depth)):
        size *= 2
        crops[level] = (skips[level] - (size - dec if after_convs else size)) // 2
        size -= dec
    return crops


_Q1_CASES = [(572, 4), (188, 4), (132, 3), (92, 3), (60, 2), (18, 1)]

_Q1_MISTAKES = {
    "forgot the bottleneck's two convolutions (-4 at the bottom of the U)": dict(bottleneck=0),
    "forgot the 4 pixels that each decoder level's two convolutions take after its up-convolution": dict(dec=0),
    "forgot the 4 pixels that each encoder level's two convolutions take before its skip and its pooling": dict(enc=0),
    "counted 2 pixels per conv block; each valid 3x3 convolution trims 1 pixel on *each* side, so a block of two "
    "trims 4": dict(enc=2, bottleneck=2, dec=2),
    "compared the skip with the decoder level's output, after its two convolutions. The crop comes before them: the "
    "skip is cut to the size of the up-convolution's output": dict(after_convs=True),
}


def _q1_cases():
    cases = []
    for size, depth in _Q1_CASES:
        want = skip_crops(size, depth)
        mistakes = [
            (
                [2 * c for c in want],
                "For {label} you returned {got}: the whole difference between the skip and the upsampled tensor. "
                "The upsampled tensor sits at the centre of the skip, so half is cut on each side.",
            ),
            (
                [-c for c in want],
                "For {label} you returned {got}: negative crops. You subtracted the skip from the upsampled size; the "
                "skip is the larger tensor, and it is the skip that is cropped (the upsampled tensor is never cut).",
            ),
            (
                want[::-1],
                "For {label} you returned {got}: the deepest level first. Return level 1 (the top, the largest skip) "
                "first, then down the U.",
            ),
        ]
        mistakes += [
            (
                _crop_variant(size, depth, **options),
                "For {label} you returned {got}, expected {expected}: you " + text + ".",
            )
            for text, options in _Q1_MISTAKES.items()
        ]
        cases.append(
            Case(
                f"input_size={size}, depth={depth}",
                (size, depth),
                mistakes=distinct(mistakes, want),
                otherwise="For {label} you returned {got}, expected {expected}. Follow the size down the U (two "
                "valid convolutions, then a pooling, at each level), keep each level's size before its pooling, "
                "then come back up and compare.",
            )
        )
    return cases


def _off_by_one(got, want) -> bool:
    return len(got) == len(want) and all(abs(g - w) <= 1 for g, w in zip(got, want)) and got != want


def _q1_checker(answer):
    for case in _q1_cases():
        got = call(answer, *case.args, describe=f"for {case.label}")
        got = _as_crops(got, case)
        want = skip_crops(*case.args)
        if got == want:
            continue
        if _off_by_one(got, want):
            levels = [level for level, (g, w) in enumerate(zip(got, want), start=1) if g != w]
            raise Mistake(
                f"For {case.label} you returned {got}, expected {want}: off by one at level "
                f"{', '.join(map(str, levels))}. In a U-Net whose input size fits, every difference is even (every "
                "size is even before a pooling, every up-convolution doubles): cut exactly half of it on each side. "
                "Check each -4 and each halving on the way."
            )
        for wrong, message in case.mistakes:
            if not callable(wrong) and got == list(wrong):
                raise Mistake(message.format(label=case.label, got=got, expected=want))
        raise Mistake(case.otherwise.format(label=case.label, got=got, expected=want))
    return (
        "correct! The paper's 572x572 tile gives 88, 40, 16 and 4 pixels per side. Every crop is half an even "
        "difference: the upsampled tensor sits exactly at the centre of its skip."
    )


def _as_crops(got, case):
    """The learner's answer as a list of ints (a list, tuple, array, dict by level, or (before, after) pairs)."""
    size, depth = case.args
    if isinstance(got, dict):
        got = [got[k] for k in sorted(got)]
    try:
        values = [np.asarray(v).tolist() for v in got]
    except TypeError:
        raise Mistake(
            f"For {case.label} you returned {type(got).__name__} {got!r:.60}; return a list with one number per level."
        ) from None
    crops = []
    for level, value in enumerate(values, start=1):
        if isinstance(value, list):  # a (before, after) pair
            if len(value) != 2:
                raise Mistake(
                    f"For {case.label} level {level} is {value}; give one number (or a (before, after) pair)."
                )
            before, after = value
            if before != after:
                if 0 in (before, after):
                    raise Mistake(
                        f"For {case.label} you cut the whole difference from one side at level {level} ({value}): "
                        "the upsampled tensor lies at the *centre* of the skip, so half is cut on each side."
                    )
                raise Mistake(
                    f"For {case.label} you cut {before} and {after} pixels at level {level}; the difference is even, "
                    "so both sides lose the same."
                )
            value = before
        try:
            crops.append(int(value))
        except (TypeError, ValueError):
            raise Mistake(f"For {case.label} level {level} is {value!r:.40}; return whole numbers.") from None
    if len(crops) != depth:
        raise Mistake(
            f"For {case.label} you returned {len(crops)} number{'s' if len(crops) != 1 else ''}; a U-Net of depth "
            f"{depth} has {depth} skip connections, one per level: return one crop for each."
        )
    return crops


q1 = exercise(
    "q1",
    "the crop table of a valid-padding U-Net",
    notebook=NOTEBOOK,
    reference=skip_crops,
    hint=(
        "Follow one side length down the U and back up, as the cell with the paper's table did with the layers: "
        "remember the size each level hands to its skip, and compare it with what arrives there on the way up.",
        "Two numbers meet at each level: the encoder's size before its pooling, and the decoder's size just after "
        "its up-convolution. The skip is the larger one; the difference is shared by the two sides.",
    ),
)(_q1_checker)


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


# --------------------------------------------------------------------------------------
# the Keras checks shared by q2 and q3
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


def _check_convolutions(model, label, num_filters, padding="same", convs=None):
    """Step 3: two plain 3x3 convolutions with num_filters filters and the task's padding.

    ``convs``: the convolutions to judge (default: every Conv2D that is not a transposed convolution).
    """
    from keras import layers

    if convs is None:
        convs = [c for c in layers_of(model, layers.Conv2D) if not isinstance(c, layers.Conv2DTranspose)]
    if len(convs) != 2:
        raise Mistake(
            f"Your block has {len(convs)} Conv2D layer{'s' if len(convs) != 1 else ''} besides the transposed "
            "convolution; the task's decoder block has 2 (3x3 each), after the merge."
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


# --------------------------------------------------------------------------------------
# q2: an added skip, with a 1x1 projection when the channel counts differ
# --------------------------------------------------------------------------------------

_ADD_ERRORS = ("incompatible shapes", "Cannot broadcast shape")


def _add_reference(x, skip, up, projection, convs, *, up_relu=False, projection_relu=False, relu=(True, True)):
    """What the task's block computes with the learner's layers' weights (NumPy arrays in, out)."""
    import keras

    weights = up.get_weights()
    y = _numpy(keras.ops.conv_transpose(x, weights[0], strides=2, padding=up.padding))
    y = y + weights[1] if len(weights) > 1 else y
    if up_relu:
        y = np.maximum(y, 0)
    if projection is not None:
        weights = projection.get_weights()
        skip = skip @ weights[0][0, 0] + (weights[1] if len(weights) > 1 else 0)
        if projection_relu:
            skip = np.maximum(skip, 0)
    y = y + skip
    for conv, with_relu in zip(convs, relu):
        weights = conv.get_weights()
        y = _numpy(keras.ops.conv(y, weights[0], strides=1, padding="same")) + (weights[1] if len(weights) > 1 else 0)
        if with_relu:
            y = np.maximum(y, 0)
    return y


def _add_matches(got, reference, **options) -> bool:
    want = _add_reference(*reference, **options)
    return want.shape == got.shape and np.allclose(got, want, rtol=1e-3, atol=1e-4)


def _check_add_decoder(answer, x_shape, skip_shape, num_filters):
    import keras
    from keras import layers

    channels = skip_shape[-1]
    label = f"x of shape {(None, *x_shape)}, skip of shape {(None, *skip_shape)} and num_filters={num_filters}"
    x_in, skip_in = keras.Input(x_shape, name="x"), keras.Input(skip_shape, name="skip")
    try:
        out = call(answer, x_in, skip_in, num_filters, describe=f"on {label}")
    except Mistake as mistake:
        if str(mistake).startswith("Your function raised") and any(e in str(mistake) for e in _ADD_ERRORS):
            raise Mistake(
                f"{mistake} The upsampled x has num_filters = {num_filters} channels and the skip {channels}: an "
                "addition needs the same channels on both sides. Project the skip to num_filters channels first, "
                "with a 1x1 convolution (it mixes the channels of each pixel, and leaves height and width alone)."
            ) from None
        raise
    if not isinstance(out, keras.KerasTensor):
        raise Mistake(
            f"On {label} your function returned {type(out).__name__}; return the output tensor of the last layer."
        )
    shape = tuple(out.shape)
    model = keras.Model([x_in, skip_in], out)
    up = _check_upsampling(model, label, shape, x_shape, skip_shape, num_filters)
    if not layers_of(model, "Add"):
        if layers_of(model, "Concatenate"):
            raise Mistake(
                "Your block concatenates the skip. This exercise merges by addition (layers.Add, or x + skip): "
                "the merge that adds no weights to the convolution after it."
            )
        raise Mistake("Your block has no Add layer: the skip features must be added to the upsampled tensor.")
    convs = [c for c in layers_of(model, layers.Conv2D) if not isinstance(c, layers.Conv2DTranspose)]
    projections = [c for c in convs if tuple(c.kernel_size) == (1, 1)]
    threes = [c for c in convs if tuple(c.kernel_size) != (1, 1)]
    if channels == num_filters and projections:
        extra = channels * num_filters + num_filters
        raise Mistake(
            f"On {label} the skip already has num_filters = {num_filters} channels, yet your block projects it "
            f"with a 1x1 convolution ({extra:,} more parameters). Add the skip as it is when the channels agree: "
            "project only when they differ, as the task says."
        )
    if channels != num_filters:
        if not projections:
            if len(threes) == 3:
                raise Mistake(
                    f"On {label} your projection of the skip is a {'x'.join(map(str, threes[0].kernel_size))} "
                    "convolution. A 1x1 convolution is enough to change the number of channels (it mixes the "
                    "channels of each pixel), with 9 times fewer weights than a 3x3 one; the two 3x3 convolutions "
                    "after the addition look at the neighbours."
                )
            raise Mistake(
                f"On {label} your block has no 1x1 convolution: the skip's {channels} channels must be projected "
                f"to num_filters = {num_filters} before the addition."
            )
        if len(projections) > 1:
            raise Mistake(f"Your block has {len(projections)} 1x1 convolutions; one projection of the skip is enough.")
        projection = projections[0]
        if projection.filters != num_filters or projection.get_weights()[0].shape[2] != channels:
            raise Mistake(
                f"On {label} your 1x1 convolution turns {projection.get_weights()[0].shape[2]} channels into "
                f"{projection.filters}. Project the *skip* ({channels} channels) to num_filters = {num_filters}: the "
                "upsampled x already has num_filters channels, and the block's output has num_filters too."
            )
    else:
        projection = None
    convs = _check_convolutions(model, label, num_filters, convs=threes)
    expected = (None, skip_shape[0], skip_shape[1], num_filters)
    if shape != expected:
        raise Mistake(
            f"On {label} your output has shape {shape}, expected {expected}: the upsampled x plus the (projected) "
            "skip, then the two convolutions."
        )
    rng = np.random.default_rng(0)
    x_value = rng.normal(size=(2, *x_shape)).astype("float32")
    skip_a = rng.normal(size=(2, *skip_shape)).astype("float32")
    skip_b = rng.normal(size=(2, *skip_shape)).astype("float32")
    out_a = _numpy(model([x_value, skip_a], training=False))
    if np.allclose(out_a, _numpy(model([x_value, skip_b], training=False))):
        raise Mistake(
            "Your block ignores the skip: changing the skip features does not change the output. Add the (projected) "
            "skip to the upsampled x."
        )
    reference = (x_value, skip_a, up, projection, convs)
    # the task leaves open whether the up-convolution or the projection has an activation: both are accepted
    options = [dict(up_relu=u, projection_relu=p) for u in (False, True) for p in (False, True)]
    if any(_add_matches(out_a, reference, **o) for o in options):
        return
    for relu, text in (
        ((False, True), "the first 3x3 convolution has no ReLU after it"),
        ((True, False), "the second 3x3 convolution has no ReLU after it (your output has negative values)"),
        ((False, False), "your 3x3 convolutions have no activation: neither is followed by a ReLU"),
    ):
        if any(_add_matches(out_a, reference, relu=relu, **o) for o in options):
            raise Mistake(
                f"With your block's own weights I compared it with the task's block: {text}. Give them "
                "activation='relu' (or add ReLU layers)."
            )
    raise Mistake(
        "Your block has the task's layers, but with their own weights it computes something else than "
        "transposed convolution, plus the (projected) skip, then 3x3 conv + ReLU twice. Check the order of the steps."
    )


@exercise(
    "q2",
    "an added skip, projected when the channels differ",
    notebook=NOTEBOOK,
    reference=add_decoder_block,
    hint=(
        "An addition needs two tensors of exactly the same shape, channels included. After the up-convolution x has "
        "num_filters channels; the skip has whatever its encoder level gave it. Which layer changes only the "
        "number of channels, pixel by pixel?",
        "Compare skip.shape[-1] with num_filters while the function builds the block (the shapes of symbolic "
        "tensors are known then), and insert the channel-changing layer on the skip's side only when they differ.",
    ),
)
def q2(answer):
    # the skip with fewer channels than num_filters, with more (not square), and with exactly num_filters
    for x_shape, skip_shape, num_filters in [
        ((4, 6, 16), (8, 12, 4), 8),
        ((3, 5, 6), (6, 10, 10), 4),
        ((4, 4, 16), (8, 8, 8), 8),
    ]:
        _check_add_decoder(answer, x_shape, skip_shape, num_filters)
    return (
        "correct! A 1x1 projection costs channels x num_filters weights (plus biases), once per level where the "
        "counts differ; concatenation instead makes the first 3x3 convolution read both, at 9 weights per channel "
        "pair. FPN (the feature pyramid network) merges its levels this way."
    )


# --------------------------------------------------------------------------------------
# q3: the paper's decoder block, valid padding: a crop that keeps the wrong pixels, to fix
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
                "at the bottom and on the right, as keras.layers.Cropping2D does in merge_skip."
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
    "fix the crop of a valid decoder block",
    notebook=NOTEBOOK,
    reference=valid_decoder_block,
    hint=(
        "The shapes are right, so look at *which* pixels survive the crop. Which encoder pixel ends up next to the "
        "upsampled pixel (0, 0)? Which one should: where does the decoder's window lie inside the skip's?",
        "The two paths lost their pixels evenly on both sides of the image, so the upsampled tensor lies at the "
        "centre of the skip. Split each difference between the two sides (with an odd one, the extra pixel goes "
        "at the bottom and on the right, as in the small 7x7 example).",
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


# --------------------------------------------------------------------------------------
# q4: boundary IoU with the bands of both masks
# --------------------------------------------------------------------------------------


def _band(mask, width):
    from unet_course.evaluation import boundary_band

    return boundary_band(mask, width)


def _iou_in(band, y_true, y_pred, empty=1.0):
    a, b = y_true[band].astype(bool), y_pred[band].astype(bool)
    union = np.sum(a | b)
    return empty if union == 0 else float(np.sum(a & b) / union)


def _q4_variants(y_true, y_pred, width):
    """The plausible wrong answers on one case: (value, message)."""
    t, p = _band(y_true, width), _band(y_pred, width)
    both = np.ones_like(t)
    background = 0.5 * (_iou_in(t | p, y_true, y_pred) + _iou_in(t | p, 1 - y_true, 1 - y_pred))
    return [
        (
            _iou_in(t, y_true, y_pred),
            "On {label} you returned {got}, expected {expected}: that is the lesson's boundary IoU, with the band of "
            "the *true* boundary only, where a false object far from every true edge costs nothing. Take the band "
            "around the predicted boundary too: the union of the two bands.",
        ),
        (
            _iou_in(p, y_true, y_pred),
            "On {label} you returned {got}, expected {expected}: you used the band of the predicted boundary only, "
            "where a missed object costs nothing. Take the union of the two bands.",
        ),
        (
            _iou_in(t & p, y_true, y_pred),
            "On {label} you returned {got}, expected {expected}: you kept only the pixels that lie in *both* bands. "
            "A pixel near one boundary but far from the other is exactly where the two outlines disagree: take the "
            "union of the bands (|), not their intersection (&).",
        ),
        (
            _iou_in(both, y_true, y_pred),
            "On {label} you returned {got}, expected {expected}: the plain IoU over all pixels. Count only the pixels "
            "in the band (the union of the two bands).",
        ),
        (
            background,
            "On {label} you returned {got}, expected {expected}: the mean of the background's and the shape's IoU in "
            "the band. Score the foreground only, as the lesson's boundary_iou does.",
        ),
    ]


def _q4_cases():
    square = np.zeros((16, 16), dtype=np.uint8)
    square[4:10, 4:10] = 1
    far_blob = square.copy()
    far_blob[12:15, 12:15] = 1  # a false object, more than 2 pixels from every true edge
    grown = np.zeros_like(square)
    grown[3:11, 3:11] = 1
    shifted = np.roll(square, 1, axis=1)
    empty = np.zeros_like(square)
    blob_only = np.zeros_like(square)
    blob_only[5:9, 10:14] = 1
    cases = []
    for label, y_true, y_pred, width in [
        ("a 6x6 square predicted exactly, plus a false 3x3 blob far from it (width 1)", square, far_blob, 1),
        ("a 6x6 square predicted one pixel too large on every side (width 1)", square, grown, 1),
        ("a 6x6 square predicted one pixel to the right (width 2)", square, shifted, 2),
        ("an empty truth and a predicted 4x4 blob (width 1)", empty, blob_only, 1),
        ("a 6x6 square and an empty prediction (width 2)", square, empty, 2),
        ("two empty masks (width 1)", empty, empty, 1),
    ]:
        expected = boundary_iou_both(y_true, y_pred, width)
        mistakes = list(distinct(_q4_variants(y_true, y_pred, width), expected))
        mistakes.append(
            (
                lambda got: isinstance(got, float) and np.isnan(got),
                "On {label} you returned nan: the union in the band is empty (0 / 0). Nothing is there to get "
                "wrong: return 1.0 in that case, as the lesson's boundary_iou does.",
            )
        )
        cases.append(
            Case(
                label,
                (y_true, y_pred, width),
                expected=expected,
                mistakes=tuple(mistakes),
                on_error="With two empty masks both bands are empty: return 1.0 when the union in the band is empty.",
            )
        )
    return cases


def _as_float(got, case):
    try:
        return float(np.asarray(got))
    except (TypeError, ValueError):
        raise Mistake(f"On {case.label} you returned {type(got).__name__} {got!r:.60}; return one number.") from None


q4 = exercise(
    "q4",
    "boundary IoU with the bands of both masks",
    notebook=NOTEBOOK,
    reference=boundary_iou_both,
    hint=(
        "The lesson's band looks only near the true edges. Which pixels does a false object far from every true "
        "edge occupy, and which band would contain its outline?",
        "Build one band per mask, with the same width, combine them into one boolean mask of pixels, and score "
        "the foreground IoU inside it as the lesson's boundary_iou does (same convention for an empty union).",
    ),
    cases=_q4_cases,
    coerce=_as_float,
    success=(
        "correct! With both bands, a false object far from every true edge lowers the score (it scored 1.0 with the "
        "lesson's band), and so does a predicted object where the truth is empty. Cheng et al.'s Boundary IoU "
        "also looks at both boundaries."
    ),
)

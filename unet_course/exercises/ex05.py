"""Exercises of notebook 05 (decoder and skips): centre crop and the decoder block."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, call, exercise

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


# --------------------------------------------------------------------------------------
# q1: centre crop
# --------------------------------------------------------------------------------------


def _crop_cases():
    rng = np.random.default_rng(5)
    cases = []
    for height, width, channels, target_h, target_w in [
        (8, 8, 2, 4, 4),  # even differences
        (6, 5, 2, 6, 5),  # nothing to crop
        (7, 9, 3, 4, 6),  # odd differences (3 and 3), not square
        (64, 64, 1, 56, 56),  # the paper's deepest level, scaled to one channel
        (5, 6, 1, 4, 6),  # odd difference in height only, none in width
    ]:
        skip = rng.integers(0, 100, size=(height, width, channels))
        cases.append(
            (f"a skip of shape {height}x{width}x{channels} cropped to {target_h}x{target_w}", skip, target_h, target_w)
        )
    return cases


@exercise(
    "q1",
    "centre crop",
    notebook=NOTEBOOK,
    reference=center_crop,
    hint="Cut (height - target_height) // 2 rows from the top, then take target_height rows from there "
    "(skip[top:top + target_height]); the same for the columns. Slicing with a start and a length never "
    "goes wrong on odd differences or when there is nothing to cut.",
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
        height, width = skip.shape[:2]
        if got.ndim != 3 or got.shape[2] != skip.shape[2]:
            raise Mistake(
                f"On {label} you returned shape {got.shape}; keep the channel axis: expected {(target_h, target_w, skip.shape[2])}."
            )
        if got.shape[:2] != (target_h, target_w):
            if got.size == 0:
                raise Mistake(
                    f"On {label} you returned an empty array {got.shape}. When there is nothing to cut, a slice such as "
                    "skip[0:-0] is empty: -0 is 0. Slice with a start and a length instead: skip[top:top + target_height]."
                )
            if (height - target_h) % 2 or (width - target_w) % 2:
                raise Mistake(
                    f"On {label} you returned {got.shape[0]}x{got.shape[1]}, expected {target_h}x{target_w}: an off-by-one on an "
                    "odd difference. Cutting (difference // 2) from both sides leaves one pixel too many; take exactly "
                    "target_height rows starting at the top offset."
                )
            raise Mistake(f"On {label} you returned {got.shape[0]}x{got.shape[1]}, expected {target_h}x{target_w}.")
        expected = center_crop(skip, target_h, target_w)
        if np.array_equal(got, expected):
            continue
        top_up = -(-(height - target_h) // 2)  # the other rounding: extra pixel cut at the top / left
        left_up = -(-(width - target_w) // 2)
        if np.array_equal(got, skip[top_up : top_up + target_h, left_up : left_up + target_w]):
            continue  # also a centre crop: the odd pixel is cut on the other side
        if np.array_equal(got, skip[:target_h, :target_w]):
            raise Mistake(
                f"On {label} you took the top-left corner. U-Net crops the *centre*: cut the same amount from each side."
            )
        if np.array_equal(got, skip[height - target_h :, width - target_w :]):
            raise Mistake(
                f"On {label} you took the bottom-right corner. Cut half of the difference from the top and half from the bottom."
            )
        top, left = (height - target_h) // 2, (width - target_w) // 2
        if np.array_equal(got, skip[left : left + target_h, top : top + target_w]):
            raise Mistake(
                f"On {label} you swapped the row and column offsets: the first axis is the height, the second the width."
            )
        raise Mistake(
            f"On {label} your crop has the right size but not the centre pixels. Expected rows {top}..{top + target_h - 1} and columns {left}..{left + target_w - 1}."
        )
    return (
        "correct! With an odd difference the course (like keras.layers.Cropping2D in unet_course.models.merge_skip) "
        "cuts the extra pixel at the bottom and right. In the paper every difference is even (8, 32, 80, 176 pixels)."
    )


# --------------------------------------------------------------------------------------
# q2: decoder block
# --------------------------------------------------------------------------------------


def _layer_kinds(model):
    """The block's layers by kind. ``model.operations`` also lists ``keras.ops`` calls
    (``ops.concatenate``, ``ops.add``, ``ops.relu``), so those answers count too."""
    from keras import layers

    kinds = {"conv": [], "transpose": [], "resize": [], "concat": [], "add": [], "relu_layers": 0}
    for layer in model.operations:
        kind = type(layer).__name__
        if isinstance(layer, layers.Conv2DTranspose):
            kinds["transpose"].append(layer)
        elif isinstance(layer, layers.Conv2D):
            kinds["conv"].append(layer)
        elif isinstance(layer, layers.UpSampling2D) or kind in ("Resizing", "Resize"):
            kinds["resize"].append(layer)
        elif kind == "Concatenate":
            kinds["concat"].append(layer)
        elif kind == "Add":
            kinds["add"].append(layer)
        elif kind in ("ReLU", "Relu") or (
            isinstance(layer, layers.Activation) and "relu" in str(layer.get_config().get("activation"))
        ):
            kinds["relu_layers"] += 1
    return kinds


def _check_decoder(answer, x_shape, skip_shape, num_filters):
    import keras

    label = f"x of shape {(None,) + x_shape}, skip of shape {(None,) + skip_shape} and num_filters={num_filters}"
    x_in = keras.Input(x_shape, name="x")
    skip_in = keras.Input(skip_shape, name="skip")
    out = call(answer, x_in, skip_in, num_filters, describe=f"on {label}")
    if not hasattr(out, "shape") or not isinstance(out, keras.KerasTensor):
        raise Mistake(
            f"On {label} your function returned {type(out).__name__}; return the output tensor of the last layer."
        )
    expected = (None, skip_shape[0], skip_shape[1], num_filters)
    shape = tuple(out.shape)
    model = keras.Model([x_in, skip_in], out)
    kinds = _layer_kinds(model)
    if not kinds["transpose"] and not kinds["resize"] or shape[1:3] == x_shape[:2] and not kinds["transpose"]:
        raise Mistake(
            f"On {label} your output is {shape[1]}x{shape[2]} and your block has no upsampling layer: did you forget the upsampling? "
            "A decoder block first doubles height and width (Conv2DTranspose(num_filters, 2, strides=2))."
        )
    if shape[1:3] != expected[1:3]:
        raise Mistake(
            f"On {label} your output is {shape[1]}x{shape[2]}, expected {expected[1]}x{expected[2]} (the skip's size). "
            "Use padding='same' in the 3x3 convolutions, and upsample by exactly 2."
        )
    if not kinds["concat"]:
        if kinds["add"]:
            raise Mistake(
                "Your block merges the skip with Add. This exercise asks for the paper's concatenation: layers.Concatenate()([skip, x])."
            )
        raise Mistake(
            "Your block has no Concatenate layer: the skip features must be concatenated with the upsampled tensor."
        )
    # is the skip really used? change it and watch the output
    rng = np.random.default_rng(0)
    x_value = rng.normal(size=(1,) + x_shape).astype("float32")
    skip_a = rng.normal(size=(1,) + skip_shape).astype("float32")
    skip_b = rng.normal(size=(1,) + skip_shape).astype("float32")
    out_a = np.asarray(model.predict([x_value, skip_a], verbose=0))
    out_b = np.asarray(model.predict([x_value, skip_b], verbose=0))
    if np.allclose(out_a, out_b):
        raise Mistake(
            "Your block ignores the skip: changing the skip features does not change the output. Concatenate skip with the upsampled x."
        )
    # the 3x3 convolutions after the merge (a resize-convolution adds one conv before it)
    convs = [c for c in kinds["conv"] if tuple(c.kernel_size) == (3, 3)]
    expected_convs = (2, 3) if kinds["resize"] and not kinds["transpose"] else (2,)
    if len(kinds["conv"]) + len(kinds["transpose"]) == 1 or len(convs) < 2:
        raise Mistake(
            f"Your block has {len(kinds['conv'])} conv layer{'s' if len(kinds['conv']) != 1 else ''} after the merge; a U-Net decoder block has 2 (3x3 each)."
        )
    if len(kinds["conv"]) not in expected_convs:
        raise Mistake(
            f"Your block has {len(kinds['conv'])} Conv2D layers; a U-Net decoder block has 2 (3x3 each) after the merge."
        )
    if len(convs) != len(kinds["conv"]):
        sizes = sorted({tuple(c.kernel_size) for c in kinds["conv"]})
        raise Mistake(f"Your convolutions have kernel sizes {sizes}; U-Net uses 3x3 convolutions.")
    for layer in kinds["conv"] + kinds["transpose"]:
        if layer.filters != num_filters:
            raise Mistake(
                f"On {label} your layer {layer.name!r} has {layer.filters} filters; every layer of the block should have "
                f"num_filters = {num_filters} (not the channel count of x or of the skip)."
            )
    linear = [c for c in convs if c.get_config().get("activation") in ("linear", None)]
    if len(linear) > kinds["relu_layers"] + (1 if kinds["resize"] else 0):
        raise Mistake("Your 3x3 convolutions have no activation: give them activation='relu' (or add ReLU layers).")
    if shape[-1] != num_filters:
        raise Mistake(f"On {label} your output has {shape[-1]} channels, expected num_filters = {num_filters}.")


@exercise(
    "q2",
    "decoder block",
    notebook=NOTEBOOK,
    reference=my_decoder_block,
    hint="Three steps: Conv2DTranspose(num_filters, 2, strides=2) on x; Concatenate() of the skip and the "
    "upsampled x; two Conv2D(num_filters, 3, padding='same', activation='relu').",
)
def q2(answer):
    # x has twice the channels of skip (as in U-Net), then an unusual case where
    # num_filters equals neither input's channel count
    for x_shape, skip_shape, num_filters in [((4, 4, 16), (8, 8, 8), 8), ((3, 5, 6), (6, 10, 4), 5)]:
        _check_decoder(answer, x_shape, skip_shape, num_filters)
    return "correct! Concatenation order does not matter to the network: [skip, x] and [x, skip] learn the same block."

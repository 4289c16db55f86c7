"""Exercises of notebook 04 (upsampling): transposed-convolution size, by hand, parameters, 'same' cropping."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, call, exercise

NOTEBOOK = "04_upsampling"


def transposed_output_size(n, kernel_size, stride, padding):
    """Output length of a transposed convolution (kernel_size >= stride)."""
    if padding == "same":
        return n * stride
    return (n - 1) * stride + kernel_size


def transposed_conv2d(x, kernel, stride):
    """Single-channel transposed convolution, valid padding: scatter x[i, j] * kernel."""
    n_rows, n_cols = x.shape
    k = kernel.shape[0]
    out = np.zeros(((n_rows - 1) * stride + k, (n_cols - 1) * stride + k))
    for i in range(n_rows):
        for j in range(n_cols):
            out[i * stride : i * stride + k, j * stride : j * stride + k] += x[i, j] * kernel
    return out


def transposed_conv2d_same(x, kernel, stride):
    """Single-channel transposed convolution with padding='same' (kernel_size >= stride): n * stride per axis."""
    full = transposed_conv2d(x, kernel, stride)
    start = (kernel.shape[0] - stride) // 2  # the overhang is kernel_size - stride: the odd pixel goes at the end
    return full[start : start + x.shape[0] * stride, start : start + x.shape[1] * stride]


def transpose_conv_params(in_channels, out_channels, kernel_size):
    """Parameters of Conv2DTranspose(out_channels, kernel_size) on in_channels channels, with bias."""
    return kernel_size * kernel_size * in_channels * out_channels + out_channels


# ---------------------------------------------------------------- q1: output size

_SIZE_CASES = [  # (n, kernel_size, stride, padding); kernel_size >= stride
    (4, 3, 2, "valid"),
    (4, 3, 2, "same"),
    (5, 2, 2, "valid"),
    (5, 2, 2, "same"),
    (3, 4, 2, "valid"),
    (6, 3, 1, "valid"),
    (6, 3, 1, "same"),
    (7, 5, 3, "valid"),
    (7, 5, 3, "same"),
    (1, 3, 2, "valid"),
]


def _as_int(value, label):
    if isinstance(value, bool):
        raise Mistake(f"For {label} you returned {value}; return a whole number of pixels.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Mistake(
            f"For {label} you returned {type(value).__name__} {value!r:.60}; return one whole number."
        ) from None
    if number != int(number):
        raise Mistake(f"For {label} you returned {number:g}, a fraction; a size is a whole number of pixels.")
    return int(number)


@exercise(
    "q1",
    "transposed-convolution output size",
    notebook=NOTEBOOK,
    reference=transposed_output_size,
    hint=(
        "Draw a small case on paper: every input pixel paints a footprint kernel_size pixels wide, and neighbouring "
        "footprints start stride pixels apart. Where does the first one start, and where does the last one end?",
        "With padding='valid' nothing is cropped: the output ends where the last footprint ends. With "
        "padding='same' Keras crops the overhang so that the output is exactly stride times the input.",
    ),
)
def q1(answer):
    for n, k, s, padding in _SIZE_CASES:
        label = f"n={n}, kernel_size={k}, stride={s}, padding={padding!r}"
        got = _as_int(call(answer, n, k, s, padding, describe=f"for {label}"), label)
        expected = transposed_output_size(n, k, s, padding)
        if got == expected:
            continue
        if padding == "valid":
            if got == (n - 1) * s:
                raise Mistake(
                    f"For {label} you returned (n - 1) * stride = {got}: that is where the last footprint *starts*. "
                    f"Add the kernel size: it is {k} pixels wide, so {expected}."
                )
            if got == n * s:
                raise Mistake(
                    f"For {label} you returned n * stride = {got}, the 'same' size. "
                    "With 'valid' padding nothing is cropped: "
                    f"the last footprint hangs over by kernel_size - stride, so {expected}."
                )
            if got == n * s + k:
                raise Mistake(
                    f"For {label} you returned n * stride + kernel_size = {got}: one stride too many. "
                    f"The first footprint starts at 0, the last at (n - 1) * stride: {expected}."
                )
            if got == (n - 1) * s + k - 1 or got == (n - 1) * s + k + 1:
                raise Mistake(
                    f"For {label} you returned {got}, one off from {expected}: count the footprints from position 0."
                )
        else:
            if got == (n - 1) * s + k:
                raise Mistake(
                    f"For {label} you returned {got}, the 'valid' size. 'same' crops the overhang: "
                    f"the output is n * stride = {expected}."
                )
            if got == -(-n // s) and s > 1:
                raise Mistake(
                    f"For {label} you returned {got}: n / stride, rounded up, the size after an ordinary strided "
                    f"convolution with 'same' padding. A transposed convolution goes the other way: {expected}."
                )
        if n > k and got == (n - k) // s + 1:
            raise Mistake(
                f"For {label} you returned {got}: that is the size after an ordinary (strided) convolution, "
                f"which shrinks. A transposed convolution goes the other way and grows: {expected}."
            )
        raise Mistake(f"For {label} you returned {got}, expected {expected}.")
    return "correct! In U-Net (kernel 2, stride 2) both paddings give the same size: (n - 1) * 2 + 2 = 2n."


# ---------------------------------------------------------------- q2: by hand, against Keras


def _keras_transpose(x, kernel, stride):
    """What keras.layers.Conv2DTranspose computes with this kernel (one channel, no bias)."""
    import keras

    layer = keras.layers.Conv2DTranspose(1, kernel.shape[0], strides=stride, padding="valid", use_bias=False)
    layer.build((1,) + x.shape + (1,))
    layer.set_weights([kernel[:, :, None, None].astype("float32")])
    return np.asarray(keras.ops.convert_to_numpy(layer(x[None, :, :, None].astype("float32"))))[0, :, :, 0]


def _overwrite(x, kernel, stride):
    k = kernel.shape[0]
    out = np.zeros(((x.shape[0] - 1) * stride + k, (x.shape[1] - 1) * stride + k))
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            out[i * stride : i * stride + k, j * stride : j * stride + k] = x[i, j] * kernel
    return out


def _q2_cases():
    rng = np.random.default_rng(4)
    return [
        (
            "a 3x3 input, a 3x3 kernel, stride 2",
            rng.integers(-3, 4, (3, 3)).astype(float),
            rng.integers(-2, 3, (3, 3)).astype(float),
            2,
        ),
        ("a 2x4 input, a 2x2 kernel, stride 2", rng.normal(size=(2, 4)), rng.normal(size=(2, 2)), 2),
        ("a 4x3 input, a 3x3 kernel, stride 1", rng.normal(size=(4, 3)), rng.normal(size=(3, 3)), 1),
        ("a 3x3 input, a 4x4 kernel, stride 3", rng.normal(size=(3, 3)), rng.normal(size=(4, 4)), 3),
    ]


@exercise(
    "q2",
    "transposed convolution by hand",
    notebook=NOTEBOOK,
    reference=transposed_conv2d,
    hint=(
        "Start from an output full of zeros, of the size exercise 1 gives for padding='valid' (on each axis). Then "
        "visit every input pixel (i, j), for example with two nested loops.",
        "Each input pixel contributes its value times the whole kernel to a k x k window of the output that starts "
        "at (i * stride, j * stride). Where windows overlap, the contributions add up.",
    ),
)
def q2(answer):
    for label, x, kernel, stride in _q2_cases():
        got = call(answer, x.copy(), kernel.copy(), stride, describe=f"on {label}")
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            raise Mistake(
                f"On {label} your function returned {type(got).__name__}; return a 2-D NumPy array."
            ) from None
        expected = _keras_transpose(x, kernel, stride)
        if got.shape != expected.shape:
            rows, cols = x.shape
            if got.shape == (rows * stride, cols * stride):
                raise Mistake(
                    f"On {label} your output is {got.shape}, n * stride per axis: "
                    "the last footprint hangs over the edge. "
                    f"Make room for it: (n - 1) * stride + k gives {expected.shape}."
                )
            if got.shape == (rows - 1 + kernel.shape[0], cols - 1 + kernel.shape[0]) and stride > 1:
                raise Mistake(
                    f"On {label} your output is {got.shape}: did you ignore the stride? Footprint (i, j) starts at "
                    f"(i * stride, j * stride), and the output is {expected.shape}."
                )
            raise Mistake(f"On {label} your output has shape {got.shape}, but Conv2DTranspose gives {expected.shape}.")
        if np.allclose(got, expected, atol=1e-4):
            continue
        if np.allclose(got, _overwrite(x, kernel, stride), atol=1e-4):
            raise Mistake(
                f"On {label} the overlapping footprints overwrite each other: "
                "use += so that overlapping products add up."
            )
        if np.allclose(got, transposed_conv2d(x, kernel[::-1, ::-1], stride), atol=1e-4):
            raise Mistake(
                f"On {label} your result matches a flipped kernel. Keras does not flip it: "
                "x[i, j] * kernel lands with kernel[0, 0] at (i * stride, j * stride)."
            )
        if np.allclose(got, transposed_conv2d(x.T, kernel, stride).T, atol=1e-4) or np.allclose(
            got, transposed_conv2d(x, kernel.T, stride), atol=1e-4
        ):
            raise Mistake(
                f"On {label} rows and columns are swapped somewhere: the first index is the row (i), "
                "the second the column (j)."
            )
        if np.allclose(got, np.trunc(expected), atol=1e-4) and not np.allclose(expected, np.trunc(expected)):
            raise Mistake(
                f"On {label} your output holds whole numbers only: the right values with their fractions cut off "
                f"(e.g. {got.flat[int(np.argmax(np.abs(got - expected)))]:g} instead of "
                f"{expected.flat[int(np.argmax(np.abs(got - expected)))]:.3f}). Is your output array of an integer "
                "dtype? np.zeros(shape) makes floats; dtype=int or np.zeros_like of an integer array does not."
            )
        if np.allclose(got, transposed_conv2d(np.ones_like(x), kernel, stride), atol=1e-4):
            raise Mistake(
                f"On {label} your result ignores the input values: multiply the kernel by x[i, j] before adding it."
            )
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
        raise Mistake(
            f"On {label} your output differs from keras.layers.Conv2DTranspose with the same kernel, "
            f"e.g. at {tuple(int(v) for v in worst)}: {got[worst]:.3f} instead of {expected[worst]:.3f}."
        )
    return "correct, and it agrees with keras.layers.Conv2DTranspose on every example!"


# ---------------------------------------------------------------- q3: parameters


def _keras_params(in_channels, out_channels, kernel_size):
    import keras

    layer = keras.layers.Conv2DTranspose(out_channels, kernel_size, strides=2)
    layer.build((None, 8, 8, in_channels))
    return int(layer.count_params())


_PARAM_CASES = [(64, 32, 2), (3, 5, 3), (128, 64, 2), (16, 16, 4), (1, 1, 3)]


@exercise(
    "q3",
    "parameters of a transposed convolution",
    notebook=NOTEBOOK,
    reference=transpose_conv_params,
    hint=(
        "Count what the layer learns: a kernel connects every input channel to every output channel, and each "
        "output channel has something of its own too.",
        "Each (input channel, output channel) pair has one k x k kernel; each output channel has one bias. Does the "
        "stride change how many numbers are stored?",
    ),
)
def q3(answer):
    for c_in, c_out, k in _PARAM_CASES:
        label = f"in_channels={c_in}, out_channels={c_out}, kernel_size={k}"
        got = _as_int(call(answer, c_in, c_out, k, describe=f"for {label}"), label)
        expected = _keras_params(c_in, c_out, k)
        if got == expected:
            continue
        weights = k * k * c_in * c_out
        if got == weights:
            raise Mistake(
                f"For {label} you returned {got}, the kernel only. Add the biases: one per output channel ({c_out})."
            )
        if got == k * k * c_out + c_out and c_in > 1:
            raise Mistake(
                f"For {label} you returned {got}: every output channel reads every input channel, "
                "so multiply by in_channels too."
            )
        if got == k * c_in * c_out + c_out and k > 1:
            raise Mistake(f"For {label} you returned {got}: the kernel is k x k, so use kernel_size squared.")
        if got == weights + c_in and c_in != c_out:
            raise Mistake(
                f"For {label} you returned {got}: there is one bias per *output* channel ({c_out}), "
                "not per input channel."
            )
        raise Mistake(f"For {label} you returned {got}, but keras.layers.Conv2DTranspose has {expected} parameters.")
    return (
        "correct! The same formula as for Conv2D: "
        "a transposed convolution has exactly the weights of the convolution it transposes."
    )


# ---------------------------------------------------------------- q4: 'same' padding, the crop


def _keras_transpose_same(x, kernel, stride):
    """What keras.layers.Conv2DTranspose(padding='same') computes with this kernel (one channel, no bias)."""
    import keras

    layer = keras.layers.Conv2DTranspose(1, kernel.shape[0], strides=stride, padding="same", use_bias=False)
    layer.build((1,) + x.shape + (1,))
    layer.set_weights([kernel[:, :, None, None].astype("float32")])
    return np.asarray(keras.ops.convert_to_numpy(layer(x[None, :, :, None].astype("float32"))))[0, :, :, 0]


def _q4_cases():
    rng = np.random.default_rng(7)
    return [
        ("a 3x3 input, a 3x3 kernel, stride 2 (overhang 1)", rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), 2),
        ("a 3x4 input, a 4x4 kernel, stride 2 (overhang 2)", rng.normal(size=(3, 4)), rng.normal(size=(4, 4)), 2),
        ("a 2x4 input, a 5x5 kernel, stride 2 (overhang 3)", rng.normal(size=(2, 4)), rng.normal(size=(5, 5)), 2),
        ("a 4x3 input, a 3x3 kernel, stride 1 (overhang 2)", rng.normal(size=(4, 3)), rng.normal(size=(3, 3)), 1),
        ("a 3x2 input, a 2x2 kernel, stride 2 (no overhang)", rng.normal(size=(3, 2)), rng.normal(size=(2, 2)), 2),
        ("a 2x3 input, a 7x7 kernel, stride 3 (overhang 4)", rng.normal(size=(2, 3)), rng.normal(size=(7, 7)), 3),
    ]


def _windows(full, shape):
    """Every (top, left) at which a window of ``shape`` fits in ``full``."""
    return [(a, b) for a in range(full.shape[0] - shape[0] + 1) for b in range(full.shape[1] - shape[1] + 1)]


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


def _crop_axis_text(got: int, want: int, overhang: int, names) -> str:
    first, last, unit = names
    if got == want:
        return ""
    if overhang % 2 and got == want + 1:
        return (
            f"with an odd overhang ({_count(overhang, unit)}) you cut the extra {unit} at the {first}; Keras cuts it "
            f"at the {last}: (kernel_size - stride) // 2 = {want} at the {first}"
        )
    if got == 0:
        return f"you cut nothing at the {first} and the whole overhang ({_count(overhang, unit)}) at the {last}"
    if got == overhang:
        return f"you cut the whole overhang ({_count(overhang, unit)}) at the {first} and none at the {last}"
    return f"you start at {unit} {got} instead of {want}"


@exercise(
    "q4",
    "transposed convolution with 'same' padding",
    notebook=NOTEBOOK,
    reference=transposed_conv2d_same,
    hint=(
        "Compute the full ('valid') output first, as in exercise 2: it is (n - 1) * stride + kernel_size long on "
        "each axis. 'same' keeps n * stride of it. How many pixels hang over, and on which side does Keras cut them?",
        "The overhang is kernel_size - stride pixels per axis. Keras cuts half of it, rounded down, at the start "
        "(top and left) and the rest at the end: try Conv2DTranspose(1, 4, strides=2, padding='same') and "
        "(1, 5, strides=2) on a tiny input to see where the odd pixel goes.",
    ),
)
def q4(answer):
    for label, x, kernel, stride in _q4_cases():
        got = call(answer, x.copy(), kernel.copy(), stride, describe=f"on {label}")
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            raise Mistake(
                f"On {label} your function returned {type(got).__name__}; return a 2-D NumPy array."
            ) from None
        expected = _keras_transpose_same(x, kernel, stride)
        k, (rows, cols) = kernel.shape[0], x.shape
        overhang = k - stride
        full = transposed_conv2d(x, kernel, stride)
        if got.shape != expected.shape:
            if got.shape == full.shape and overhang:
                raise Mistake(
                    f"On {label} your output is {got.shape}: the full, uncropped ('valid') output. With "
                    f"padding='same' Keras crops the overhang of kernel_size - stride = {_count(overhang, 'pixel')} "
                    "per axis, "
                    f"so that the output is n * stride: {expected.shape}."
                )
            if got.shape == (rows * stride - overhang, cols * stride - overhang) and overhang:
                raise Mistake(
                    f"On {label} your output is {got.shape}: you cut kernel_size - stride = "
                    f"{_count(overhang, 'pixel')} from "
                    f"*each* side. That is the whole overhang of an axis: split it between the start and the end, "
                    f"so that n * stride remain: {expected.shape}."
                )
            if got.shape == (rows, cols):
                raise Mistake(
                    f"On {label} your output is {got.shape}, the input's size. A transposed convolution with "
                    f"'same' padding multiplies the size by the stride: {expected.shape}."
                )
            raise Mistake(f"On {label} your output has shape {got.shape}, but Conv2DTranspose gives {expected.shape}.")
        if np.allclose(got, expected, atol=1e-4):
            continue
        start = overhang // 2
        found = [
            w
            for w in _windows(full, got.shape)
            if np.allclose(got, full[w[0] : w[0] + rows * stride, w[1] : w[1] + cols * stride], atol=1e-4)
        ]
        if found:
            top, left = found[0]
            texts = [
                text
                for text in (
                    _crop_axis_text(top, start, overhang, ("top", "bottom", "row")),
                    _crop_axis_text(left, start, overhang, ("left", "right", "column")),
                )
                if text
            ]
            raise Mistake(
                f"On {label} your values are the right transposed convolution, cropped at the wrong place: your "
                f"window starts at row {top}, column {left}, Keras's at row {start}, column {start}: "
                f"{'; and '.join(texts)}."
            )
        window = (slice(start, start + rows * stride), slice(start, start + cols * stride))
        if np.allclose(got, _overwrite(x, kernel, stride)[window], atol=1e-4):
            raise Mistake(
                f"On {label} the crop is right, but overlapping footprints overwrite each other: use += so that "
                "overlapping products add up."
            )
        if np.allclose(got, transposed_conv2d(x, kernel[::-1, ::-1], stride)[window], atol=1e-4):
            raise Mistake(
                f"On {label} your result matches a flipped kernel. Keras does not flip it: x[i, j] * kernel lands "
                "with kernel[0, 0] at (i * stride, j * stride) of the full output."
            )
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
        raise Mistake(
            f"On {label} your output has the right shape but is no window of the full transposed convolution; it "
            f"differs from Conv2DTranspose(padding='same'), e.g. at {tuple(int(v) for v in worst)}: "
            f"{got[worst]:.3f} instead of {expected[worst]:.3f}."
        )
    return (
        "correct! 'same' keeps n * stride pixels: Keras cuts the overhang, kernel_size - stride, half at the start "
        "(rounded down) and the rest at the end. For U-Net's kernel 2, stride 2 there is nothing to cut."
    )

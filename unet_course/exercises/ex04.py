"""Exercises of notebook 04 (upsampling): a convolution's matrix and its transpose, a transposed convolution as an
ordinary one, parameters, 'same' cropping; two predictions (an output size, where the checkerboard appears)."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, Prediction, call, exercise

NOTEBOOK = "04_upsampling"


def conv_matrix(kernel, n, stride):
    """The matrix C of Conv2D(1, k, strides=stride, padding="same", use_bias=False) on an n x n input.

    One row per output pixel, one column per input pixel (both flattened row by row): C @ x.ravel() is the
    convolution, C.T @ y.ravel() the transposed convolution Conv2DTranspose(..., padding="same").
    """
    k = kernel.shape[0]
    m = -(-n // stride)  # 'same' keeps ceil(n / stride) outputs per axis
    before = max((m - 1) * stride + k - n, 0) // 2  # the zeros the windows need, the smaller half before
    C = np.zeros((m * m, n * n))
    for r in range(m):
        for c in range(m):
            for a in range(k):
                for b in range(k):
                    row, col = r * stride + a - before, c * stride + b - before
                    if 0 <= row < n and 0 <= col < n:  # a tap on the padding reads nothing
                        C[r * m + c, row * n + col] = kernel[a, b]
    return C


def transposed_as_convolution(x, kernel, stride):
    """Conv2DTranspose(1, k, strides=stride, padding="valid") as an ordinary stride-1 convolution."""
    from scipy.signal import correlate2d

    k = kernel.shape[0]
    spread = np.zeros(((x.shape[0] - 1) * stride + 1, (x.shape[1] - 1) * stride + 1))
    spread[::stride, ::stride] = x  # stride - 1 zeros between neighbours
    padded = np.pad(spread, k - 1)  # room for the first and the last footprint
    return correlate2d(padded, kernel[::-1, ::-1], mode="valid")  # C.T's rows hold the kernel backwards


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


# ---------------------------------------------------------------- q1: the matrix of a 'same' convolution


def _matrix(kernel, n, stride, *, before=None, step=None):
    """conv_matrix with the windows starting ``before`` pixels early and ``step`` apart (a typical mistake)."""
    k = kernel.shape[0]
    m = -(-n // stride)
    if before is None:
        before = max((m - 1) * stride + k - n, 0) // 2
    step = stride if step is None else step
    C = np.zeros((m * m, n * n))
    for r in range(m):
        for c in range(m):
            for a in range(k):
                for b in range(k):
                    row, col = r * step + a - before, c * step + b - before
                    if 0 <= row < n and 0 <= col < n:
                        C[r * m + c, row * n + col] = kernel[a, b]
    return C


def _keras_matrix(kernel, n, stride):
    """C read from Keras: row i of C is Conv2DTranspose(padding='same') applied to the i-th basis image."""
    import keras

    m = -(-n // stride)
    layer = keras.layers.Conv2DTranspose(1, kernel.shape[0], strides=stride, padding="same", use_bias=False)
    layer.build((m * m, m, m, 1))
    layer.set_weights([kernel[:, :, None, None].astype("float32")])
    basis = np.eye(m * m, dtype="float32").reshape(m * m, m, m, 1)
    return np.asarray(keras.ops.convert_to_numpy(layer(basis))).reshape(m * m, -1)


def _q1_cases():
    rng = np.random.default_rng(11)
    cases = []
    for k, stride, n in ((3, 2, 6), (4, 2, 4), (5, 2, 4), (3, 1, 4), (2, 2, 6), (5, 3, 6)):
        label = f"a {k}x{k} kernel, stride {stride}, a {n}x{n} input"
        cases.append((label, rng.normal(size=(k, k)), n, stride))
    return cases


def _as_matrix(got, label):
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Mistake(f"For {label} your function returned {type(got).__name__}; return a 2-D NumPy array.") from None
    if got.ndim != 2:
        raise Mistake(
            f"For {label} you returned an array of shape {got.shape}; C is 2-D: one row per output pixel, one column "
            "per input pixel (flatten both row by row, as ravel does)."
        )
    return got


def _reordered(matrix, m, n):
    """``matrix`` with its rows, or its columns, in column-major order (the typical flattening mistake)."""
    rows = np.arange(m * m).reshape(m, m).T.ravel()
    cols = np.arange(n * n).reshape(n, n).T.ravel()
    return matrix[rows], matrix[:, cols]


@exercise(
    "q1",
    "the matrix of a 'same' convolution, transposed",
    notebook=NOTEBOOK,
    reference=conv_matrix,
    hint=(
        "Start from the lesson's valid C. With 'same' padding two things change: how many output pixels there "
        "are per axis, and where the first window starts, partly on the zeros outside the image. A kernel tap "
        "that lands on that padding connects to no input pixel.",
        "Per axis, 'same' keeps ceil(n / stride) outputs. Count how far those windows reach beyond the image: "
        "that is the padding, split unevenly when it is odd. Conv2D on an image holding a single 1 shows which "
        "side gets the extra zero; taps that land on the padding are left out of C.",
    ),
)
def q1(answer):
    for label, kernel, n, stride in _q1_cases():
        got = _as_matrix(call(answer, kernel.copy(), n, stride, describe=f"for {label}"), label)
        expected = _keras_matrix(kernel, n, stride)
        k, m = kernel.shape[0], -(-n // stride)
        if got.shape != expected.shape:
            valid = (n - k) // stride + 1
            if got.shape == expected.T.shape:
                raise Mistake(
                    f"For {label} your matrix is {got.shape}: that is C.T already. C has one row per *output* pixel "
                    f"({m}x{m} = {m * m}) and one column per input pixel ({n}x{n} = {n * n}); transposing it is "
                    "what gives the transposed convolution."
                )
            if got.shape == (valid * valid, n * n) and valid != m:
                raise Mistake(
                    f"For {label} your matrix is {got.shape}: the matrix of the 'valid' convolution, with "
                    f"{valid}x{valid} outputs. With padding='same' a stride-{stride} convolution keeps ceil(n / "
                    f"stride) = {m} outputs per axis: the windows at the border reach into the zero padding."
                )
            if got.shape == (n * n, n * n) and stride > 1:
                raise Mistake(
                    f"For {label} your matrix is {got.shape}: one row per input pixel, as if the stride were 1. "
                    f"A stride-{stride} convolution keeps every {stride}th window: {m}x{m} outputs, so {m * m} rows."
                )
            raise Mistake(
                f"For {label} your matrix is {got.shape}; C is {expected.shape}: one row per output pixel "
                f"({m}x{m}) and one column per input pixel ({n}x{n})."
            )
        if np.allclose(got, expected, atol=1e-5):
            continue
        right = max((m - 1) * stride + k - n, 0) // 2
        for before in range(-k, k + 1):
            if before != right and np.allclose(got, _matrix(kernel, n, stride, before=before), atol=1e-5):
                where = "early" if before > right else "late"
                raise Mistake(
                    f"For {label} your windows are right but start {abs(before - right)} pixel(s) too {where}: you "
                    f"pad {before} zero(s) before the first pixel, Keras pads {right}. A strided 'same' convolution "
                    f"pads just what its {m} windows need beyond the image, "
                    f"{max((m - 1) * stride + k - n, 0)} here, the smaller half (rounded down) at the top and left."
                )
        checks = (
            (
                _matrix(kernel[::-1, ::-1], n, stride),
                "your matrix holds the kernel flipped. Conv2D (and so C) reads the kernel as it is, kernel[0, 0] at "
                "the window's top left; with a flipped kernel C.T @ y is not Conv2DTranspose with the same kernel.",
            ),
            (
                _matrix(kernel.T, n, stride),
                "your matrix holds the kernel transposed: rows and columns are swapped somewhere (the first index "
                "is the row, the second the column).",
            ),
            (
                _matrix(kernel, n, stride, step=1) if stride > 1 else None,
                "the windows of neighbouring output pixels are 1 pixel apart in your matrix: the stride goes on the "
                "input's side, output pixel (r, c) reads the window that starts at (r * stride, c * stride) of the "
                "padded input.",
            ),
            (
                _reordered(expected, m, n)[0],
                "your rows are in the wrong order: flatten the output row by row, as ravel does (output pixel "
                "(r, c) is row r * m + c of C, m outputs per row).",
            ),
            (
                _reordered(expected, m, n)[1],
                "your columns are in the wrong order: flatten the input row by row, as ravel does (input pixel "
                "(i, j) is column i * n + j).",
            ),
        )
        for wrong, text in checks:
            if wrong is not None and np.allclose(got, wrong, atol=1e-5):
                raise Mistake(f"For {label} {text}")
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
        raise Mistake(
            f"For {label} C.T @ y differs from Conv2DTranspose(padding='same') with the same kernel; e.g. "
            f"C[{worst[0]}, {worst[1]}] (output pixel {divmod(int(worst[0]), m)}, "
            f"input pixel {divmod(int(worst[1]), n)}) is "
            f"{got[worst]:.3f} instead of {expected[worst]:.3f}."
        )
    return (
        "correct! C @ x is Conv2D(padding='same') and C.T @ y is Conv2DTranspose(padding='same') with the same "
        "kernel, for every stride. When n is a multiple of the stride, the transposed convolution's 'same' crop "
        "(exercise 4) is exactly the convolution's 'same' padding, seen from the other side."
    )


# ---------------------------------------------------------------- q2: a transposed convolution is a convolution


def _q2_cases():
    rng = np.random.default_rng(4)
    return [
        ("a 3x3 input, a 3x3 kernel, stride 2", rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), 2),
        ("a 2x4 input, a 2x2 kernel, stride 2", rng.normal(size=(2, 4)), rng.normal(size=(2, 2)), 2),
        ("a 4x3 input, a 3x3 kernel, stride 1", rng.normal(size=(4, 3)), rng.normal(size=(3, 3)), 1),
        ("a 3x3 input, a 4x4 kernel, stride 3", rng.normal(size=(3, 3)), rng.normal(size=(4, 4)), 3),
    ]


@exercise(
    "q2",
    "a transposed convolution as an ordinary one",
    notebook=NOTEBOOK,
    reference=transposed_as_convolution,
    hint=(
        "A row of C.T lists the input pixels that reach one output pixel of the transposed convolution: they are "
        "stride pixels apart, and the kernel's weights appear in them in some order. Spread x out so that an "
        "ordinary stride-1 window sees exactly those pixels. What must surround the spread-out x so that the first "
        "and last footprints fit, and which way round must the kernel be read?",
        "Three choices make it work: how many zeros go between neighbouring pixels (and whether any go after the "
        "last), how wide a border of zeros the spread-out x needs for the first and last footprints to fit, and "
        "which way round the kernel is read (a row of C.T shows it).",
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
        (rows, cols), k = x.shape, kernel.shape[0]
        if got.shape != expected.shape:
            spread = ((rows - 1) * stride + 1, (cols - 1) * stride + 1)
            diff = tuple(g - e for g, e in zip(got.shape, expected.shape))
            if got.shape == (rows + k - 1, cols + k - 1) and stride > 1:
                raise Mistake(
                    f"On {label} your output is {got.shape}: you did not spread the input. Put stride - 1 = "
                    f"{stride - 1} zeros between neighbouring pixels first: the output is then {expected.shape}."
                )
            if got.shape == (spread[0] - k + 1, spread[1] - k + 1) or got.shape == spread:
                raise Mistake(
                    f"On {label} your output is {got.shape}, smaller than Conv2DTranspose's {expected.shape}: pad "
                    f"the spread-out input with kernel_size - 1 = {k - 1} zeros on every side, so that the first "
                    "and the last footprints fit."
                )
            if diff == (stride - 1, stride - 1) and stride > 1:
                raise Mistake(
                    f"On {label} your output is {got.shape}, {stride - 1} too large per axis: the stride - 1 zeros "
                    "go *between* neighbouring pixels, not after the last one as well."
                )
            if diff in ((-2, -2), (2, 2)):
                raise Mistake(
                    f"On {label} your output is {got.shape}, Conv2DTranspose's is {expected.shape}: pad "
                    f"kernel_size - 1 = {k - 1} zeros on every side, no more and no less."
                )
            raise Mistake(f"On {label} your output has shape {got.shape}, but Conv2DTranspose gives {expected.shape}.")
        if np.allclose(got, expected, atol=1e-4):
            continue
        if np.allclose(got, transposed_conv2d(x, kernel[::-1, ::-1], stride), atol=1e-4):
            raise Mistake(
                f"On {label} you correlate with the kernel as it is: turn it by 180 degrees (kernel[::-1, ::-1]). "
                "The transposed convolution *writes* kernel[0, 0] at the top left of each footprint, so an output "
                "pixel *reads* its inputs with the kernel backwards (look at a row of C.T)."
            )
        if np.allclose(got, transposed_conv2d(x, kernel.T, stride), atol=1e-4) or np.allclose(
            got, transposed_conv2d(x, kernel.T[::-1, ::-1], stride), atol=1e-4
        ):
            raise Mistake(
                f"On {label} your kernel is transposed (kernel.T): turning it by 180 degrees is kernel[::-1, ::-1], "
                "rows and columns both reversed, not swapped."
            )
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
        raise Mistake(
            f"On {label} your output differs from keras.layers.Conv2DTranspose with the same kernel, "
            f"e.g. at {tuple(int(v) for v in worst)}: {got[worst]:.3f} instead of {expected[worst]:.3f}."
        )
    return (
        "correct: a transposed convolution is an ordinary stride-1 convolution of the input spread out with zeros, "
        "with the kernel turned around: the rows of C.T, read as windows."
    )


# ---------------------------------------------------------------- predictions


def _explain_output_size(guess, actual):
    try:
        guess = int(guess)
    except (TypeError, ValueError):
        return "Give one number: the output's height (= its width)."
    n, k, s = 4, 3, 2
    known = {
        n * s: "That is the 'same' size, n * stride. With 'valid' nothing is cropped: the last footprint starts at "
        "(n - 1) * stride and hangs over by kernel_size - stride.",
        (n - 1) * s: "That is where the last footprint *starts*: add its width, kernel_size.",
        n * s + k: "n * stride + kernel_size is one stride too many: the first footprint starts at 0, the last at "
        "(n - 1) * stride.",
        (n - k) // s + 1: "That is the size after an ordinary strided convolution, which shrinks; the transposed one "
        "grows.",
        -(-n // s): "n / stride is what an ordinary strided convolution leaves; the transposed one multiplies.",
    }
    return known.get(guess)


def _explain_uneven(guess, actual):
    return {
        2: "Kernel 2 with stride 2: the footprints tile the output side by side, every pixel covered once.",
        4: "Kernel 4 is a multiple of the stride: every pixel away from the border is covered 2 x 2 = 4 times, "
        "evenly. The count varies only near the border.",
    }.get(guess)


p1 = Prediction(
    "p1",
    "the output size of Conv2DTranspose(kernel 3, stride 2, padding='valid') on 4 pixels",
    notebook=NOTEBOOK,
    explain=_explain_output_size,
)
p2 = Prediction(
    "p2",
    "which kernel size, 2, 3 or 4, covers the pixels away from the border unevenly with stride 2",
    notebook=NOTEBOOK,
    explain=_explain_uneven,
    choices=(2, 3, 4),
)


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

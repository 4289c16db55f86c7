"""Exercises of notebook 04: references pass, typical mistakes get their message."""

import numpy as np
import pytest

from unet_course.exercises import ex04 as ex


def message(exercise, answer):
    passed, text = exercise.verdict(answer)
    return passed, text


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3, ex.q4])
def test_reference_passes(exercise, capsys):
    exercise.check(exercise.reference)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3, ex.q4])
def test_none_and_not_implemented_give_feedback(exercise):
    def todo(*args):
        raise NotImplementedError()

    passed, text = message(exercise, None)
    assert not passed and "None" in text
    passed, text = message(exercise, todo)
    assert not passed and "not yet implemented" in text


# ---------------------------------------------------------------- q1: the matrix of a 'same' convolution


def _by_keras_conv2d(kernel, n, stride):  # column j of C is Conv2D applied to the j-th basis image
    import keras

    layer = keras.layers.Conv2D(1, kernel.shape[0], strides=stride, padding="same", use_bias=False)
    layer.build((n * n, n, n, 1))
    layer.set_weights([kernel[:, :, None, None].astype("float32")])
    basis = np.eye(n * n, dtype="float32").reshape(n * n, n, n, 1)
    return keras.ops.convert_to_numpy(layer(basis)).reshape(n * n, -1).T


def _padded_then_valid(kernel, n, stride):  # pad the image as Keras does, build the valid C, drop the pad columns
    k = kernel.shape[0]
    m = -(-n // stride)
    total = max((m - 1) * stride + k - n, 0)
    size = n + total
    rows = []
    for r in range(m):
        for c in range(m):
            window = np.zeros((size, size))
            window[r * stride : r * stride + k, c * stride : c * stride + k] = kernel
            rows.append(window[total // 2 : total // 2 + n, total // 2 : total // 2 + n].ravel().tolist())
    return rows  # a list of lists


def test_q1_other_correct_answers():
    for answer in (_by_keras_conv2d, _padded_then_valid):
        passed, text = message(ex.q1, answer)
        assert passed, f"{answer.__name__}: {text}"


def test_q1_reference_is_conv2d_and_its_transpose_is_conv2d_transpose():
    import keras

    rng = np.random.default_rng(0)
    for k, stride, n in ((3, 2, 6), (5, 2, 4), (1, 3, 6), (4, 1, 5)):
        kernel = rng.normal(size=(k, k))
        C = ex.conv_matrix(kernel, n, stride)
        np.testing.assert_allclose(C, _by_keras_conv2d(kernel, n, stride), atol=1e-5)
        m = -(-n // stride)
        y = rng.normal(size=(1, m, m, 1)).astype("float32")
        layer = keras.layers.Conv2DTranspose(1, k, strides=stride, padding="same", use_bias=False)
        layer.build(y.shape)
        layer.set_weights([kernel[:, :, None, None].astype("float32")])
        if n % stride == 0:  # then Conv2DTranspose gives back n pixels: C.T
            np.testing.assert_allclose((C.T @ y.ravel()).reshape(n, n), layer(y)[0, :, :, 0], atol=1e-4)


def _wrong_padding(extra):
    def answer(kernel, n, stride):
        k, m = kernel.shape[0], -(-n // stride)
        before = max((m - 1) * stride + k - n, 0) // 2 + extra
        return ex._matrix(kernel, n, stride, before=before)

    return answer


def _valid_matrix(kernel, n, stride):
    k = kernel.shape[0]
    m = (n - k) // stride + 1
    C = np.zeros((m * m, n * n))
    for r in range(m):
        for c in range(m):
            window = np.zeros((n, n))
            window[r * stride : r * stride + k, c * stride : c * stride + k] = kernel
            C[r * m + c] = window.ravel()
    return C


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda kernel, n, s: ex.conv_matrix(kernel, n, s).T, "that is C.T already"),
        (_valid_matrix, "the matrix of the 'valid' convolution"),
        (lambda kernel, n, s: ex.conv_matrix(kernel[::-1, ::-1], n, s), "the kernel flipped"),
        (lambda kernel, n, s: ex.conv_matrix(kernel.T, n, s), "the kernel transposed"),
        (lambda kernel, n, s: ex._matrix(kernel, n, s, step=1), "the stride goes on the input's side"),
        (_wrong_padding(1), "too early"),
        (_wrong_padding(-1), "too late"),
        (lambda kernel, n, s: ex._reordered(ex.conv_matrix(kernel, n, s), -(-n // s), n)[0], "rows are in the wrong"),
        (lambda kernel, n, s: ex._reordered(ex.conv_matrix(kernel, n, s), -(-n // s), n)[1], "columns are in the"),
        (lambda kernel, n, s: np.zeros((n * n, n * n)), "as if the stride were 1"),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, text = message(ex.q1, answer)
    assert not passed and phrase in text, text


def test_q1_symmetric_padding_of_a_stride_1_convolution():
    def symmetric(kernel, n, stride):  # (k - 1) // 2 on each side: right for stride 1, not for a strided 'same'
        return ex._matrix(kernel, n, stride, before=(kernel.shape[0] - 1) // 2)

    passed, text = message(ex.q1, symmetric)
    assert not passed and "too early" in text and "3x3 kernel, stride 2" in text


# ---------------------------------------------------------------- q2: a transposed convolution as a convolution


def test_q2_other_correct_answers():
    import keras

    def with_keras_conv2d(x, kernel, stride):  # the spread, padded input through Conv2D with the turned kernel
        k = kernel.shape[0]
        spread = np.zeros(((x.shape[0] - 1) * stride + 1, (x.shape[1] - 1) * stride + 1), dtype="float32")
        spread[::stride, ::stride] = x
        padded = np.pad(spread, k - 1)[None, :, :, None]
        layer = keras.layers.Conv2D(1, k, use_bias=False)
        layer.build(padded.shape)
        layer.set_weights([np.ascontiguousarray(kernel[::-1, ::-1])[:, :, None, None].astype("float32")])
        return keras.ops.convert_to_numpy(layer(padded))[0, :, :, 0]

    def gathering(x, kernel, stride):  # each output pixel sums the inputs whose footprint covers it
        k = kernel.shape[0]
        out = np.zeros(((x.shape[0] - 1) * stride + k, (x.shape[1] - 1) * stride + k))
        for p in range(out.shape[0]):
            for q in range(out.shape[1]):
                for i in range(x.shape[0]):
                    for j in range(x.shape[1]):
                        a, b = p - i * stride, q - j * stride
                        if 0 <= a < k and 0 <= b < k:
                            out[p, q] += x[i, j] * kernel[a, b]
        return out

    for answer in (with_keras_conv2d, gathering, ex.transposed_conv2d):
        passed, text = message(ex.q2, answer)
        assert passed, f"{answer.__name__}: {text}"


def _zero_insertion(*, flip=True, pad=None, after_last=False, spread=True, transpose=False):
    from scipy.signal import correlate2d

    def answer(x, kernel, stride):
        k = kernel.shape[0]
        step = stride if spread else 1
        size = [(n - 1) * step + 1 + (step - 1 if after_last else 0) for n in x.shape]
        z = np.zeros(size)
        z[::step, ::step] = x
        z = np.pad(z, k - 1 if pad is None else pad)
        w = kernel.T if transpose else kernel
        return correlate2d(z, w[::-1, ::-1] if flip else w, mode="valid")

    return answer


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_zero_insertion(flip=False), "turn it by 180 degrees"),
        (_zero_insertion(pad=0), "pad the spread-out input"),
        (_zero_insertion(after_last=True), "not after the last one"),
        (_zero_insertion(spread=False), "you did not spread the input"),
        (_zero_insertion(transpose=True), "your kernel is transposed"),
        (lambda x, kernel, s: _zero_insertion(pad=kernel.shape[0])(x, kernel, s), "no more and no less"),
    ],
)
def test_q2_typical_mistakes(answer, phrase):
    passed, text = message(ex.q2, answer)
    assert not passed and phrase in text, text


# ---------------------------------------------------------------- predictions


def test_p1_output_size():
    ex.p1.predict(9)
    assert ex.p1.verdict(9).passed
    for guess, phrase in ((8, "'same' size"), (6, "*starts*"), (11, "one stride too many"), (2, "ordinary")):
        ex.p1.predict(guess)
        passed, text = ex.p1.verdict(9)
        assert not passed and phrase in text, text


def test_p2_uneven_kernel(capsys):
    ex.p2.predict(3)
    assert ex.p2.verdict(3).passed
    for guess, phrase in ((2, "tile the output"), (4, "multiple of the stride")):
        ex.p2.predict(guess)
        passed, text = ex.p2.verdict(3)
        assert not passed and phrase in text, text
    ex.p2.predict(5)
    assert "one of 2, 3, 4" in capsys.readouterr().out


def test_q3_mistakes():
    passed, text = message(ex.q3, lambda a, b, k: k * k * a * b)
    assert not passed and "Add the biases" in text
    passed, text = message(ex.q3, lambda a, b, k: k * k * b + b)
    assert not passed and "multiply by in_channels" in text
    passed, text = message(ex.q3, lambda a, b, k: k * a * b + b)
    assert not passed and "kernel_size squared" in text
    passed, text = message(ex.q3, lambda a, b, k: k * k * a * b + a)
    assert not passed and "output* channel" in text


def test_q3_other_correct_answers():
    def from_keras(in_channels, out_channels, kernel_size):
        import keras

        layer = keras.layers.Conv2DTranspose(out_channels, kernel_size)
        layer.build((None, 4, 4, in_channels))
        return layer.count_params()

    for answer in (lambda a, b, k: (k * k * a + 1) * b, from_keras):
        passed, text = message(ex.q3, answer)
        assert passed, text


# ---------------------------------------------------------------- q4: 'same' padding


def _full(x, kernel, stride):
    return ex.transposed_conv2d(x, kernel, stride)


def test_q4_other_correct_answers():
    from unet_course.analysis import transposed_conv

    def with_the_package(x, kernel, stride):  # channels last: (H, W, 1) and a (k, k, 1, 1) kernel
        return transposed_conv.transposed_conv2d(x[..., None], kernel[:, :, None, None], stride=stride, padding="same")[
            ..., 0
        ]

    def into_the_cropped_output(x, kernel, stride):  # scatter straight into n * stride, dropping the overhang
        k, start = kernel.shape[0], (kernel.shape[0] - stride) // 2
        out = np.zeros((x.shape[0] * stride, x.shape[1] * stride))
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                for a in range(k):
                    for b in range(k):
                        r, c = i * stride + a - start, j * stride + b - start
                        if 0 <= r < out.shape[0] and 0 <= c < out.shape[1]:
                            out[r, c] += x[i, j] * kernel[a, b]
        return out

    for answer in (with_the_package, into_the_cropped_output):
        passed, text = message(ex.q4, answer)
        assert passed, text


def test_q4_the_uncropped_output():
    passed, text = message(ex.q4, _full)
    assert not passed and "the full, uncropped ('valid') output" in text and "1 pixel per axis" in text


def test_q4_the_overhang_cut_at_the_end_only():
    def at_the_end(x, kernel, stride):
        return _full(x, kernel, stride)[: x.shape[0] * stride, : x.shape[1] * stride]

    passed, text = message(ex.q4, at_the_end)
    assert not passed and "4x4 kernel" in text and "you cut nothing at the top" in text


def test_q4_the_odd_pixel_cut_at_the_start():
    def extra_first(x, kernel, stride):
        start = -(-(kernel.shape[0] - stride) // 2)
        return _full(x, kernel, stride)[start : start + x.shape[0] * stride, start : start + x.shape[1] * stride]

    passed, text = message(ex.q4, extra_first)
    assert not passed and "odd overhang (1 row) you cut the extra row at the top" in text


def test_q4_the_overhang_cut_from_each_side():
    def each_side(x, kernel, stride):
        cut = kernel.shape[0] - stride
        full = _full(x, kernel, stride)
        return full[cut : full.shape[0] - cut, cut : full.shape[1] - cut]

    passed, text = message(ex.q4, each_side)
    assert not passed and "from *each* side" in text

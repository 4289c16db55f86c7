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


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda n, k, s, p: (n - 1) * s, "Add the kernel size"),
        (lambda n, k, s, p: n * s, "the 'same' size"),
        (lambda n, k, s, p: (n - 1) * s + k, "the 'valid' size"),
        (lambda n, k, s, p: n * s + k, "one stride too many"),
        (lambda n, k, s, p: (n - k) // s + 1, "ordinary (strided) convolution"),
        (lambda n, k, s, p: "8", None),
    ],
)
def test_q1_mistakes(answer, phrase):
    passed, text = message(ex.q1, answer)
    assert not passed
    if phrase:
        assert phrase in text


def test_q1_fraction_is_refused():
    passed, text = message(ex.q1, lambda n, k, s, p: (n - 1) * s + k / 2)
    assert not passed and "fraction" in text


def test_q2_mistakes():
    passed, text = message(ex.q2, ex._overwrite)
    assert not passed and "use +=" in text
    passed, text = message(ex.q2, lambda x, kernel, s: ex.transposed_conv2d(x, kernel[::-1, ::-1], s))
    assert not passed and "flipped kernel" in text
    passed, text = message(ex.q2, lambda x, kernel, s: np.zeros((x.shape[0] * s, x.shape[1] * s)))
    assert not passed and "n * stride per axis" in text
    passed, text = message(ex.q2, lambda x, kernel, s: ex.transposed_conv2d(x, kernel, 1))
    assert not passed and "ignore the stride" in text
    passed, text = message(ex.q2, lambda x, kernel, s: ex.transposed_conv2d(np.ones_like(x), kernel, s))
    assert not passed and "ignores the input values" in text


def test_q2_swapped_axes():
    def swapped(x, kernel, s):
        return ex.transposed_conv2d(x.T, kernel, s).T

    passed, text = message(ex.q2, swapped)
    assert not passed and "swapped" in text


def test_q3_mistakes():
    passed, text = message(ex.q3, lambda a, b, k: k * k * a * b)
    assert not passed and "Add the biases" in text
    passed, text = message(ex.q3, lambda a, b, k: k * k * b + b)
    assert not passed and "multiply by in_channels" in text
    passed, text = message(ex.q3, lambda a, b, k: k * a * b + b)
    assert not passed and "kernel_size squared" in text
    passed, text = message(ex.q3, lambda a, b, k: k * k * a * b + a)
    assert not passed and "output* channel" in text


def test_q1_other_correct_answers():
    def by_overhang(n, kernel_size, stride, padding):  # n * stride, plus the overhang unless 'same' crops it
        return n * stride + (0 if padding == "same" else kernel_size - stride)

    def by_keras(n, kernel_size, stride, padding):
        import keras

        layer = keras.layers.Conv2DTranspose(1, kernel_size, strides=stride, padding=padding)
        return layer.compute_output_shape((1, n, n, 1))[1]

    for answer in (by_overhang, by_keras):
        passed, text = message(ex.q1, answer)
        assert passed, text


def test_q1_same_padding_as_a_strided_convolution():
    passed, text = message(ex.q1, lambda n, k, s, p: (n - 1) * s + k if p == "valid" else -(-n // s))
    assert not passed and "n / stride, rounded up" in text


def test_q2_other_correct_answers():
    def vectorised(x, kernel, stride):  # one shifted copy of x per kernel position
        k = kernel.shape[0]
        out = np.zeros(((x.shape[0] - 1) * stride + k, (x.shape[1] - 1) * stride + k))
        for a in range(k):
            for b in range(k):
                out[a : a + (x.shape[0] - 1) * stride + 1 : stride, b : b + (x.shape[1] - 1) * stride + 1 : stride] += (
                    kernel[a, b] * x
                )
        return out

    def with_np_add_at(x, kernel, stride):
        k = kernel.shape[0]
        out = np.zeros(((x.shape[0] - 1) * stride + k, (x.shape[1] - 1) * stride + k), dtype=np.float32)
        i, j, a, b = np.meshgrid(*(np.arange(n) for n in (*x.shape, k, k)), indexing="ij")
        np.add.at(out, (i * stride + a, j * stride + b), x[i, j] * kernel[a, b])
        return out

    for answer in (vectorised, with_np_add_at):
        passed, text = message(ex.q2, answer)
        assert passed, text


def test_q2_an_integer_output_array():
    def int_output(x, kernel, stride):
        k = kernel.shape[0]
        out = np.zeros(((x.shape[0] - 1) * stride + k, (x.shape[1] - 1) * stride + k), dtype=int)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                window = (slice(i * stride, i * stride + k), slice(j * stride, j * stride + k))
                out[window] = out[window] + x[i, j] * kernel  # assignment casts to int silently
        return out

    passed, text = message(ex.q2, int_output)
    assert not passed and "whole numbers only" in text


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

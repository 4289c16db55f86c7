"""Transposed convolution in NumPy, its output size, and the overlap map behind checkerboards.

A transposed convolution *scatters*: every input pixel, times the kernel, is added into the
output at a position ``stride`` pixels further on than its neighbour's. Where kernel
footprints overlap, their products add up. When the kernel size is not a multiple of the
stride, some output pixels are covered by more footprints than others: the *uneven overlap*
that draws a checkerboard (Odena, Dumoulin and Olah, "Deconvolution and Checkerboard
Artifacts", Distill 2016).

Everything here matches ``keras.layers.Conv2DTranspose`` (checked in the tests), whose kernel
has the shape ``(kernel_size, kernel_size, out_channels, in_channels)``.
"""

from __future__ import annotations

import numpy as np

from unet_course._validation import check_choice, check_positive_int

PADDINGS = ("valid", "same")


def transposed_output_size(n: int, kernel_size: int, stride: int, padding: str = "valid") -> int:
    """Length of one spatial axis after a transposed convolution, as Keras computes it.

    - ``"same"``: ``n * stride`` (the inverse of a strided "same" convolution);
    - ``"valid"``: ``(n - 1) * stride + kernel_size``: the last input pixel starts its
      footprint at ``(n - 1) * stride`` and the footprint is ``kernel_size`` wide.
      (When ``kernel_size < stride`` the footprints leave gaps and Keras pads the end to
      ``n * stride``; in general: ``(n - 1) * stride + max(kernel_size, stride)``.)
    """
    n = check_positive_int("n", n)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    stride = check_positive_int("stride", stride)
    check_choice("padding", padding, PADDINGS)
    if padding == "same":
        return n * stride
    return (n - 1) * stride + max(kernel_size, stride)


def _as_channels(x, kernel):
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    single = x.ndim == 2 and kernel.ndim == 2
    if x.ndim == 2:
        x = x[:, :, None]
    if kernel.ndim == 2:
        kernel = kernel[:, :, None, None]
    if x.ndim != 3:
        raise ValueError(f"x must be (height, width) or (height, width, channels), got shape {x.shape}.")
    if kernel.ndim != 4 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(
            "kernel must be (k, k) or (k, k, out_channels, in_channels) like a Conv2DTranspose kernel, "
            f"got shape {kernel.shape}."
        )
    if kernel.shape[3] != x.shape[2]:
        raise ValueError(f"kernel expects {kernel.shape[3]} input channels (its last axis) but x has {x.shape[2]}.")
    return x, kernel, single


def transposed_conv2d(x, kernel, stride: int, padding: str = "valid") -> np.ndarray:
    """A transposed convolution by hand: scatter each input pixel times the kernel.

    ``x`` is ``(H, W)`` or ``(H, W, C_in)``; ``kernel`` is ``(k, k)`` or
    ``(k, k, C_out, C_in)`` (the layout of a Keras ``Conv2DTranspose`` kernel). Returns
    ``(H', W')`` for 2-D inputs and ``(H', W', C_out)`` otherwise, with ``H'`` given by
    :func:`transposed_output_size`. No bias.
    """
    stride = check_positive_int("stride", stride)
    check_choice("padding", padding, PADDINGS)
    x, kernel, single = _as_channels(x, kernel)
    height, width, _ = x.shape
    k = kernel.shape[0]
    full = np.zeros(((height - 1) * stride + max(k, stride), (width - 1) * stride + max(k, stride), kernel.shape[2]))
    for i in range(height):
        for j in range(width):
            # (k, k, C_out, C_in) @ (C_in,) -> (k, k, C_out): this pixel's contribution
            full[i * stride : i * stride + k, j * stride : j * stride + k] += kernel @ x[i, j]
    if padding == "same":
        start = max(k - stride, 0) // 2  # Keras/TensorFlow crop: less at the start than at the end
        full = full[start : start + height * stride, start : start + width * stride]
    return full[:, :, 0] if single else full


def overlap_map(kernel_size: int, stride: int, input_size: int = 5, padding: str = "valid") -> np.ndarray:
    """How many kernel footprints cover each output pixel (an integer array).

    This is a transposed convolution of an all-ones ``input_size x input_size`` input with
    an all-ones kernel. Even overlap (``kernel_size`` a multiple of ``stride``) gives the
    same count everywhere away from the borders; uneven overlap gives a periodic pattern.
    """
    kernel_size = check_positive_int("kernel_size", kernel_size)
    input_size = check_positive_int("input_size", input_size)
    counts = transposed_conv2d(np.ones((input_size, input_size)), np.ones((kernel_size, kernel_size)), stride, padding)
    return np.rint(counts).astype(int)


def interior(array, kernel_size: int, stride: int) -> np.ndarray:
    """``array`` without its border: ``kernel_size - 1`` rows and columns on each side,
    rounded up to a multiple of ``stride`` so that row/column phases keep their parity.

    Near the borders fewer footprints reach (the ramp of an overlap map); the periodic
    pattern is what remains inside.
    """
    kernel_size = check_positive_int("kernel_size", kernel_size)
    stride = check_positive_int("stride", stride)
    margin = -(-(kernel_size - 1) // stride) * stride
    array = np.asarray(array)
    if array.shape[0] <= 2 * margin or array.shape[1] <= 2 * margin:
        raise ValueError(
            f"An array of shape {array.shape[:2]} has no interior for kernel_size={kernel_size}; use a larger input."
        )
    return array[margin : array.shape[0] - margin, margin : array.shape[1] - margin] if margin else array


def phase_energy(outputs, stride: int = 2) -> np.ndarray:
    """Mean squared value of ``outputs`` ``(H, W[, C])`` at each phase ``(row % stride, col % stride)``.

    Returns a ``(stride, stride)`` array. With random zero-mean weights the squared output at
    a pixel grows with the number of kernel taps that reach it, so this reveals the uneven
    overlap of an untrained layer. Positions are counted from the array's own origin, so pass
    an array whose first row/column is a multiple of ``stride`` in the full output.
    """
    stride = check_positive_int("stride", stride)
    outputs = np.asarray(outputs, dtype=np.float64)
    energy = np.zeros((stride, stride))
    for a in range(stride):
        for b in range(stride):
            energy[a, b] = np.mean(outputs[a::stride, b::stride] ** 2)
    return energy


def checkerboard_ratio(outputs, stride: int = 2) -> float:
    """Largest over smallest :func:`phase_energy`: 1.0 means no phase stands out."""
    energy = phase_energy(outputs, stride)
    return float(energy.max() / energy.min()) if energy.min() > 0 else float("inf")


def bilinear_kernel(kernel_size: int, channels: int) -> np.ndarray:
    """A ``Conv2DTranspose`` kernel ``(k, k, channels, channels)`` that upsamples bilinearly.

    Each channel is upsampled on its own (the kernel is diagonal in the channels) with the
    tent filter ``1 - |x - centre| / factor``, ``factor = (k + 1) // 2``, the initialisation
    of FCN (Long et al. 2015) used by d2l.ai. With ``kernel_size=4``, ``strides=2`` and
    ``padding="same"``, the layer gives exactly ``UpSampling2D(2, interpolation="bilinear")``
    away from the outermost ring of pixels (checked in the tests).
    """
    kernel_size = check_positive_int("kernel_size", kernel_size)
    channels = check_positive_int("channels", channels)
    factor = (kernel_size + 1) // 2
    centre = factor - 1 if kernel_size % 2 == 1 else factor - 0.5
    taps = 1 - np.abs(np.arange(kernel_size) - centre) / factor
    kernel = np.zeros((kernel_size, kernel_size, channels, channels), dtype="float32")
    for c in range(channels):
        kernel[:, :, c, c] = np.outer(taps, taps)
    return kernel


def icnr_kernel(stride: int, out_channels: int, in_channels: int, seed: int = 0) -> np.ndarray:
    """ICNR initialisation (Aitken et al. 2017) of a ``Conv2DTranspose(out, stride, strides=stride)``.

    A transposed convolution whose kernel size equals its stride is a sub-pixel convolution:
    each output phase ``(row % stride, column % stride)`` has its own ``(out, in)`` weight
    matrix, so random weights give every phase a different response (a *phase* checkerboard).
    ICNR draws one Glorot-uniform matrix and copies it to every phase: the layer then starts as
    nearest-neighbour upsampling followed by a 1x1 convolution, with no phase pattern.
    Returns the kernel ``(stride, stride, out_channels, in_channels)``.
    """
    stride = check_positive_int("stride", stride)
    out_channels = check_positive_int("out_channels", out_channels)
    in_channels = check_positive_int("in_channels", in_channels)
    limit = np.sqrt(6.0 / (in_channels + out_channels))
    matrix = np.random.default_rng(seed).uniform(-limit, limit, size=(out_channels, in_channels))
    return np.broadcast_to(matrix, (stride, stride, out_channels, in_channels)).astype("float32")

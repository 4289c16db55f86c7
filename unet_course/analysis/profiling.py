"""Measure what a layer or model costs: parameters, multiply-adds, activation memory, time.

Parameters, multiply-adds (MACs) and activation memory are computed from shapes, so they
are exact and the same on every machine. Time is measured (median of several runs) and
depends on the machine, its load and the backend.

Counting conventions (per example, batch size 1):

- ``Conv2D``: each output value is a dot product over ``k * k * C_in`` inputs:
  ``H_out * W_out * C_out * k * k * C_in`` MACs.
- ``Conv2DTranspose``: each input value is multiplied by ``k * k * C_out`` kernel weights and
  scattered: ``H_in * W_in * C_in * k * k * C_out`` MACs (with ``padding="same"`` a few of
  these land in the cropped border; they are counted too).
- ``UpSampling2D``: ``"nearest"`` copies (0 MACs); ``"bilinear"`` weighs 4 neighbours:
  4 MACs per output value.
- ``Dense``: ``inputs * units`` per position. Biases, activations, pooling, concatenation: 0.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

import keras

from unet_course._validation import check_positive_int


def count_params(model_or_layer) -> int:
    """Number of weights (trainable and not) of a built Keras layer or model."""
    if not getattr(model_or_layer, "built", False):
        raise ValueError(
            f"{getattr(model_or_layer, 'name', model_or_layer)!r} is not built yet; "
            "call it on an input (or build a Model) first."
        )
    return int(sum(math.prod(w.shape) for w in model_or_layer.weights))


def _shape_of(tensor):
    shape = tuple(tensor.shape)
    if any(d is None for d in shape[1:]):
        raise ValueError(
            f"Cannot count from the shape {shape}: give the model a fixed input size, e.g. keras.Input((64, 64, 3))."
        )
    return shape


def layer_macs(layer) -> int:
    """Multiply-adds of one call of ``layer`` on one example, from its input and output shapes.

    ``layer`` must belong to a functional model (so that ``layer.input`` and ``layer.output``
    have shapes). See the module docstring for the conventions.
    """
    counted = (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.UpSampling2D, keras.layers.Dense)
    if not isinstance(layer, counted):
        return 0
    try:
        in_shape, out_shape = _shape_of(layer.input), _shape_of(layer.output)
    except (AttributeError, ValueError, TypeError) as error:
        if "fixed input size" in str(error):
            raise
        raise ValueError(
            f"Layer {layer.name!r} has no single input/output shape; use it once in a functional model "
            "(keras.Model(inputs, outputs))."
        ) from None
    if isinstance(layer, keras.layers.Conv2DTranspose):
        kh, kw = layer.kernel_size
        return math.prod(in_shape[1:]) * kh * kw * layer.filters
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        return math.prod(out_shape[1:]) * kh * kw * in_shape[-1] // layer.groups
    if isinstance(layer, keras.layers.UpSampling2D):
        return 4 * math.prod(out_shape[1:]) if layer.interpolation == "bilinear" else 0
    if isinstance(layer, keras.layers.Dense):
        return math.prod(out_shape[1:]) * in_shape[-1]
    return 0


def count_macs(model) -> int:
    """Multiply-adds of one forward pass of a functional ``model`` on one example."""
    return sum(layer_macs(layer) for layer in model.layers)


def activation_bytes(model, batch_size: int = 1, bytes_per_value: int = 4) -> int:
    """Bytes of every tensor a forward pass produces, the input included (float32 by default).

    This is what a training step keeps in memory for the backward pass, computed from the
    shapes; weights, gradients and the framework's own workspace come on top.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    tensors = list(model.inputs) + [
        layer.output for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)
    ]
    return batch_size * bytes_per_value * sum(math.prod(_shape_of(t)[1:]) for t in tensors)


@dataclass
class Timing:
    """Wall-clock times of repeated calls, in seconds."""

    times: list

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)

    def __str__(self) -> str:
        return f"median {self.median * 1e3:.1f} ms over {len(self.times)} runs (best {self.best * 1e3:.1f} ms)"


def time_callable(function, *, repeats: int = 5, warmup: int = 1) -> Timing:
    """Call ``function()`` ``warmup`` times untimed, then ``repeats`` times timed.

    Results that are backend tensors are converted to NumPy inside the timing, so that
    lazily computed results are really computed. Report the median: it ignores the odd
    slow run caused by other programs.
    """
    repeats = check_positive_int("repeats", repeats)
    warmup = check_positive_int("warmup", warmup, minimum=0)
    if not callable(function):
        raise ValueError(f"function must be callable (e.g. lambda: layer(x)), got {type(function).__name__}.")

    def run():
        result = function()
        if result is not None and hasattr(result, "shape"):
            keras.ops.convert_to_numpy(result)

    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return Timing(times)


def profile(model, x, *, repeats: int = 5) -> dict:
    """Parameters, MACs and activation bytes per example, and the median time of ``model(x)``."""
    timing = time_callable(lambda: model(x, training=False), repeats=repeats)
    return {
        "parameters": count_params(model),
        "macs": count_macs(model),
        "activation_bytes": activation_bytes(model),
        "seconds": timing.median,
    }

"""Receptive field of a chain of convolutions and poolings (notebook 03).

The receptive field ``r`` of a unit is the width of the input window it can see; the jump
``j`` is the distance, in input pixels, between two neighbouring units of a feature map.
A layer with kernel ``k`` and stride ``s`` changes them as::

    r_out = r_in + (k - 1) * j_in
    j_out = j_in * s

starting from the input itself (``r = 1``, ``j = 1``). Padding shifts where a window
sits, not how wide it is, so "same" and "valid" convolutions have the same receptive field.

>>> receptive_fields([(3, 1), (3, 1), (2, 2)])
[(3, 1), (5, 1), (6, 2)]
>>> receptive_field(unet_encoder_specs(depth=4))   # the paper's bottleneck
140
"""

from __future__ import annotations

from unet_course._validation import check_positive_int


def receptive_fields(specs) -> list[tuple[int, int]]:
    """``(r, j)`` after each layer of ``specs``, a list of ``(kernel_size, stride)`` pairs."""
    r, j = 1, 1
    out = []
    for index, spec in enumerate(specs):
        try:
            kernel, stride = spec
        except (TypeError, ValueError):
            raise ValueError(
                f"Layer {index} is {spec!r}; give each layer as a (kernel_size, stride) pair, e.g. (3, 1) or (2, 2)."
            ) from None
        kernel = check_positive_int(f"kernel_size of layer {index}", kernel)
        stride = check_positive_int(f"stride of layer {index}", stride)
        r, j = r + (kernel - 1) * j, j * stride
        out.append((r, j))
    return out


def receptive_field(specs) -> int:
    """The receptive field (in input pixels) after the last layer of ``specs`` (1 for no layers)."""
    fields = receptive_fields(specs)
    return fields[-1][0] if fields else 1


def unet_encoder_specs(depth: int = 4, convs_per_level: int = 2, bottleneck: bool = True) -> list[tuple[int, int]]:
    """``(kernel, stride)`` of a U-Net encoder: per level ``convs_per_level`` 3x3 convs and a 2x2 pool.

    With ``bottleneck=True`` the two convolutions under the last pooling are included.
    """
    depth = check_positive_int("depth", depth)
    convs_per_level = check_positive_int("convs_per_level", convs_per_level)
    specs = []
    for _ in range(depth):
        specs += [(3, 1)] * convs_per_level + [(2, 2)]
    if bottleneck:
        specs += [(3, 1)] * convs_per_level
    return specs


def _square(name: str, value) -> int:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(set(values)) != 1:
        raise ValueError(
            f"Layer {name!r} has a non-square window {values}; this helper handles square kernels and strides only."
        )
    return int(values[0])


def model_specs(model) -> list[tuple[str, int, int]]:
    """``(layer name, kernel, stride)`` for each convolution and pooling layer of ``model``, in order.

    A dilated convolution counts with its effective kernel ``dilation * (kernel - 1) + 1``.
    Other layers (activations, batch norm, input) do not change the receptive field and are skipped.
    The model should be a plain chain (as an encoder is): branches are listed in layer order.
    """
    from keras import layers

    out = []
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            kernel = _square(layer.name, layer.kernel_size)
            dilation = _square(layer.name, layer.dilation_rate)
            out.append((layer.name, dilation * (kernel - 1) + 1, _square(layer.name, layer.strides)))
        elif isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)):
            out.append((layer.name, _square(layer.name, layer.pool_size), _square(layer.name, layer.strides)))
    return out

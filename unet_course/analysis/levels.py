"""Shapes and parameters along the U, read from a model built by :func:`~unet_course.models.build_unet`.

These read a model (or any model that uses the same layer names: ``enc1_...``,
``bottleneck_...``, ``dec1_...``, ``classifier``); :mod:`unet_course.viz.diagram` draws them::

    >>> from unet_course.models import build_unet
    >>> model = build_unet((572, 572, 1), 2, padding="valid")
    >>> parameters_per_level(model)["bottleneck"]
    14157824

Activation memory is counted by :func:`unet_course.analysis.profiling.activation_bytes`;
:func:`costs_per_level` splits it, the multiply-adds and the parameters by part of the U, so
that whole decoder blocks can be compared (not only their upsampling layers)::

    >>> costs_per_level(model)["dec1"]["parameters"]
    143552
"""

from __future__ import annotations

import math

__all__ = ["as_unet_model", "costs_per_level", "parameters_per_level", "unet_depth", "unet_levels"]


def as_unet_model(model_or_config):
    """A Keras model from a model or from a dict of ``build_unet`` arguments (built then)."""
    if isinstance(model_or_config, dict):
        from unet_course.models.unet import build_unet

        config = dict(model_or_config)
        if "input_shape" not in config or "num_classes" not in config:
            raise ValueError(
                "A config needs at least 'input_shape' and 'num_classes' (the arguments of build_unet), "
                f"got keys {sorted(config)}."
            )
        return build_unet(config.pop("input_shape"), config.pop("num_classes"), **config)
    if not hasattr(model_or_config, "layers"):
        raise ValueError(
            f"Expected a Keras model or a dict of build_unet arguments, got {type(model_or_config).__name__}. "
            "Pass e.g. build_unet((128, 128, 1), 2) or {'input_shape': (128, 128, 1), 'num_classes': 2}."
        )
    return model_or_config


def unet_depth(model) -> int:
    """The number of pooling levels of a model that uses build_unet's layer names (ValueError otherwise)."""
    names = {layer.name for layer in model.layers}
    depth = 0
    while f"enc{depth + 1}_pool" in names:
        depth += 1
    if depth == 0 or not any(n.startswith("bottleneck_") for n in names) or "classifier" not in names:
        raise ValueError(
            f"Model {model.name!r} does not use build_unet's layer names (enc1_pool, bottleneck_conv1, dec1_..., "
            "classifier). Build it with build_unet, or name your blocks the same way (name='enc1', ...)."
        )
    return depth


def _shape(tensor) -> tuple:
    return tuple(tensor.shape[1:])


def _last_layer(model, prefix: str):
    found = [layer for layer in model.layers if layer.name.startswith(prefix)]
    return found[-1]


def unet_levels(model) -> dict:
    """Shapes along the U (without the batch axis), read from the model's layers.

    Returns ``{"input", "output", "depth", "encoder": [...], "pooled": [...], "bottleneck",
    "decoder": [...], "upsampling": [...], "skip": [...]}``, lists ordered level 1 (top) to
    level ``depth`` (bottom). ``skip`` holds ``"concat"``, ``"add"`` or ``None`` and whether the
    skip is cropped.
    """
    model = as_unet_model(model)
    depth = unet_depth(model)
    names = {layer.name for layer in model.layers}
    levels = {"depth": depth, "input": _shape(model.inputs[0]), "output": _shape(model.outputs[0])}
    levels["encoder"] = [_shape(model.get_layer(f"enc{i}_pool").input) for i in range(1, depth + 1)]
    levels["pooled"] = [_shape(model.get_layer(f"enc{i}_pool").output) for i in range(1, depth + 1)]
    levels["bottleneck"] = _shape(_last_layer(model, "bottleneck_").output)
    levels["decoder"] = [_shape(_last_layer(model, f"dec{i}_").output) for i in range(1, depth + 1)]
    upsampling, skips = [], []
    for i in range(1, depth + 1):
        up = model.get_layer(f"dec{i}_up")
        if type(up).__name__ == "Conv2DTranspose":
            upsampling.append("up-conv 2×2")
        else:
            upsampling.append(f"{getattr(up, 'interpolation', 'resize')} ×2 + conv 3×3")
        mode = "concat" if f"dec{i}_concat" in names else "add" if f"dec{i}_add" in names else None
        skips.append((mode, f"dec{i}_crop" in names))
    levels["upsampling"], levels["skip"] = upsampling, skips
    return levels


def _parts(depth: int) -> list[str]:
    return (
        [f"enc{i}" for i in range(1, depth + 1)]
        + ["bottleneck"]
        + [f"dec{i}" for i in range(depth, 0, -1)]
        + ["classifier"]
    )


def _part_of(layer_name: str) -> str:
    return layer_name if layer_name == "classifier" else layer_name.split("_", 1)[0]


def parameters_per_level(model) -> dict:
    """Trainable and non-trainable parameters of each part of the U, in the order of the U.

    Returns ``{"enc1": n, ..., "enc<depth>": n, "bottleneck": n, "dec<depth>": n, ..., "dec1": n,
    "classifier": n}``; the values add up to ``model.count_params()``.
    """
    model = as_unet_model(model)
    counts = dict.fromkeys(_parts(unet_depth(model)), 0)
    for layer in model.layers:
        part = _part_of(layer.name)
        if part in counts:
            counts[part] += layer.count_params()
        elif layer.count_params():
            raise ValueError(
                f"Layer {layer.name!r} has parameters but belongs to no level; "
                "name it enc<i>_..., bottleneck_..., dec<i>_... or classifier."
            )
    return counts


def costs_per_level(model, *, bytes_per_value: int = 4) -> dict:
    """Parameters, multiply-adds and activation bytes of each part of the U, for one image.

    Returns ``{part: {"parameters": n, "macs": n, "activation_bytes": n}}`` with the parts of
    :func:`parameters_per_level`, in the order of the U. A decoder level ``dec<i>`` holds its whole
    block: upsampling, the convolution that may follow it, crop, merge and both 3x3 convolutions.
    The parts add up to ``count_params``, ``count_macs`` and ``activation_bytes`` of
    :mod:`~unet_course.analysis.profiling`, except that the input image belongs to no part (its
    bytes are in ``activation_bytes`` only). Every other layer must belong to a part (named
    ``enc<i>_...``, ``bottleneck_...``, ``dec<i>_...`` or ``classifier``).
    """
    import keras

    from unet_course.analysis import profiling

    model = as_unet_model(model)
    parts = _parts(unet_depth(model))
    costs = {part: {"parameters": 0, "macs": 0, "activation_bytes": 0} for part in parts}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        part = _part_of(layer.name)
        if part not in costs:
            raise ValueError(
                f"Layer {layer.name!r} belongs to no level; name it enc<i>_..., bottleneck_..., dec<i>_... "
                "or classifier so that its cost is counted."
            )
        shape = profiling._shape_of(layer.output)
        costs[part]["parameters"] += profiling.count_params(layer)
        costs[part]["macs"] += profiling.layer_macs(layer)
        costs[part]["activation_bytes"] += bytes_per_value * math.prod(shape[1:])
    return costs

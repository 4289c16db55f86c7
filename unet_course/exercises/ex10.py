"""Exercises of notebook 10 (pretrained encoders): pick the skip layers of a backbone from its
layers, and freeze the encoder of a backbone U-Net and count what is left to train."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from unet_course.exercises import Mistake, call, exercise

NOTEBOOK = "10_pretrained_encoders"


# --------------------------------------------------------------------------------------
# reference answers
# --------------------------------------------------------------------------------------


def pick_taps(model, strides=(2, 4, 8, 16, 32)):
    """``{stride: layer name}``: for each stride, the last (deepest) layer of ``model`` whose
    output has the input's height divided by the stride."""
    import keras

    height = model.input_shape[1]
    taps = {}
    for layer in model.layers:  # from the input to the output
        if isinstance(layer, keras.layers.InputLayer):
            continue  # the image itself, not a feature map
        for stride in strides:
            if layer.output.shape[1] == height // stride:
                taps[stride] = layer.name  # a later layer at the same size replaces it: the deepest wins
    return taps


def freeze_and_count(model):
    """Freeze the encoder of a ``build_backbone_unet`` model; return the parameters left to train."""
    model.get_layer("encoder").trainable = False
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


# --------------------------------------------------------------------------------------
# q1: the skip layers of a backbone
# --------------------------------------------------------------------------------------

_ALL_STRIDES = (2, 4, 8, 16, 32)


@functools.cache
def _network(encoder: str, size: int):
    from unet_course.models import build_encoder

    return build_encoder(encoder, (size, size, 3))


def _q1_cases():
    """(label, encoder, input size, strides)."""
    return [
        ("MobileNetV2 (64x64 inputs)", "mobilenetv2", 64, _ALL_STRIDES),
        ("ResNet50 (64x64 inputs)", "resnet50", 64, _ALL_STRIDES),
        ("EfficientNetB0 (64x64 inputs)", "efficientnetb0", 64, _ALL_STRIDES),
        ("VGG16 (64x64 inputs, strides 1 to 32)", "vgg16", 64, (1, *_ALL_STRIDES)),
        ("MobileNetV2 (96x96 inputs)", "mobilenetv2", 96, _ALL_STRIDES),
    ]


def _size(layer):
    return layer.output.shape[1]


def _first_at(model, size):
    import keras

    return next(
        (layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer) and _size(layer) == size),
        None,
    )


def _q1_diagnose(got, model, strides, label):
    """Raise the :class:`Mistake` that explains ``got`` (not the right taps)."""
    import keras

    height = model.input_shape[1]
    expected = pick_taps(model, strides)
    if not isinstance(got, Mapping):
        if isinstance(got, (list, tuple)):
            raise Mistake(
                f"On {label} your function returned a {type(got).__name__} of {len(got)} items; return a dict "
                "{stride: layer name}, e.g. {2: '...', 4: '...'}, so that each skip connection knows its stride."
            )
        raise Mistake(
            f"On {label} your function returned {type(got).__name__} {got!r:.60}; return a dict {{stride: layer name}}."
        )
    if any(isinstance(v, keras.layers.Layer) for v in got.values()):
        raise Mistake(
            f"On {label} the values of your dict are layer objects; return their names (layer.name), as "
            "model.get_layer(name) and build_backbone_unet's taps take them."
        )
    if not got:
        raise Mistake(
            f"On {label} your dict is empty: no layer matched any stride. A layer's output shape is "
            "layer.output.shape = (batch, height, width, channels): compare its height, shape[1] (shape[0] is the "
            f"batch, None), with model.input_shape[1] // stride. This network takes {height}x{height} inputs: read "
            "the size from the model (model.input_shape), do not assume one (224, 64, ...)."
        )
    keys = set(got)
    sizes = {height // s for s in strides}
    by_height = all(got.get(height // s) == expected[s] for s in strides)  # 64 px: the heights are the strides too
    if keys == sizes and (keys != set(strides) or by_height):
        raise Mistake(
            f"On {label} your keys are {sorted(keys, reverse=True)}: the heights in pixels. Use the strides as keys "
            f"({sorted(strides)}): stride s is the level whose height is input height // s."
        )
    try:
        keys = {int(k) for k in got}
    except (TypeError, ValueError):
        raise Mistake(
            f"On {label} your keys are {sorted(map(str, got))}; use the strides, as integers: {sorted(strides)}."
        ) from None
    for stride in strides:  # the layers it did pick say more than the strides it missed
        if stride in keys:
            _q1_wrong_layer(got.get(stride, got.get(str(stride))), stride, expected[stride], model, label)
    missing, extra = sorted(set(strides) - keys), sorted(keys - set(strides))
    first_name = got.get(1, got.get("1"))
    if 1 in extra and first_name == model.layers[0].name and isinstance(model.layers[0], keras.layers.InputLayer):
        raise Mistake(
            f"On {label} you returned stride 1: {first_name!r}, the InputLayer, that is the image itself, not a "
            f"feature map. Return the strides asked for (strides={tuple(strides)}) and skip the InputLayer."
        )
    raise Mistake(
        f"On {label} your dict has the strides {sorted(keys)}; the checker asked for strides={tuple(strides)}"
        + (f" (missing: {missing})" if missing else "")
        + (f" (not asked for: {extra})" if extra else "")
        + ". Return one entry per stride of the argument."
    )


def _q1_wrong_layer(name, stride, want, model, label):
    """Raise the :class:`Mistake` that explains ``name`` as the tap of ``stride`` (when it is not ``want``)."""
    import keras

    if name == want:
        return
    height = model.input_shape[1]
    size = height // stride
    if not isinstance(name, str) or name not in [layer.name for layer in model.layers]:
        raise Mistake(
            f"On {label} {name!r} (stride {stride}) is not the name of a layer of the network; use layer.name."
        )
    layer = model.get_layer(name)
    first = _first_at(model, size)
    halving = _first_at(model, size // 2) if size > 1 else None
    if isinstance(layer, keras.layers.ZeroPadding2D):
        raise Mistake(
            f"On {label} you took {name!r} for stride {stride}: a ZeroPadding2D layer, whose output is "
            f"{_size(layer)} pixels high, not {height} // {stride} = {size}: it pads the map for the strided "
            f"convolution that follows. Compare heights exactly (==); the tap is {want!r}."
        )
    if isinstance(layer, keras.layers.InputLayer):
        raise Mistake(
            f"On {label} you took {name!r}, the InputLayer, for stride {stride}: the image itself, not a feature map."
        )
    if first is not None and name == first.name:
        raise Mistake(
            f"On {label} you took {name!r} for stride {stride}: the FIRST layer at {size}x{size}. The decoder "
            f"wants the deepest features at each resolution, computed by every layer before the network halves "
            f"it again: the LAST layer at {size}x{size}, {want!r}. Keep overwriting as you walk the layers."
        )
    if halving is not None and name == halving.name:
        raise Mistake(
            f"On {label} you took {name!r} for stride {stride}, the layer that halves the resolution: its output "
            f"is {_size(layer)} pixels high, stride {2 * stride}. The tap is the layer just before it, {want!r}, "
            f"whose output is {size} pixels high."
        )
    raise Mistake(
        f"On {label} you took {name!r} for stride {stride}: its output is {_size(layer)} pixels high, while "
        f"stride {stride} is {height} // {stride} = {size}. Expected {want!r}, the last layer {size} pixels high."
    )


@exercise(
    "q1",
    "the skip layers of a backbone",
    notebook=NOTEBOOK,
    reference=pick_taps,
    hint=(
        "Every layer of a functional model knows its output: layer.output.shape is (batch, height, width, "
        "channels). The feature maps at stride s are model.input_shape[1] // s pixels high.",
        "Walk model.layers from the input to the output and, for each stride, store the name of every layer whose "
        "height is input // stride: a later layer at the same height overwrites an earlier one, so the last one, "
        "the deepest at that resolution, remains.",
        "Compare heights exactly (==), and skip the InputLayer: a ZeroPadding2D layer before a strided convolution "
        "is one pixel higher (33 for 32), and the input is the image, not a feature map.",
    ),
)
def q1(answer):
    for label, encoder, size, strides in _q1_cases():
        model = _network(encoder, size)
        try:
            got = call(answer, model, strides, describe=f"on {label}")
        except Mistake as mistake:
            if "output_shape" in str(mistake):
                raise Mistake(
                    f"{mistake} Keras 3 layers have no output_shape (that was Keras 2): use layer.output.shape, "
                    "(batch, height, width, channels)."
                ) from None
            raise
        expected = pick_taps(model, strides)
        if isinstance(got, Mapping) and len(got) == len(expected):
            try:
                same = {int(k): v for k, v in got.items()} == expected
            except (TypeError, ValueError):
                same = False
            if same:
                continue
        _q1_diagnose(got, model, strides, label)
    return (
        "correct! Your rule picks the taps build_backbone_unet uses (encoder_taps) and, for VGG16, MobileNetV2 and "
        "EfficientNetB0, those segmentation_models picked: the output of a stage, or the expansion just before a "
        "strided depthwise convolution, the last map at its resolution."
    )


# --------------------------------------------------------------------------------------
# q2: freeze the encoder, count the trainable parameters
# --------------------------------------------------------------------------------------


def _q2_cases():
    """(label, build arguments) of build_backbone_unet."""
    return [
        (
            "a MobileNetV2 U-Net (base_filters=4, batch norm in the decoder)",
            dict(input_shape=(None, None, 3), num_classes=2, encoder="mobilenetv2", base_filters=4, batch_norm=True),
        ),
        (
            "a VGG16 U-Net for grey images (base_filters=2, no batch norm)",
            dict(input_shape=(None, None, 1), num_classes=2, encoder="vgg16", base_filters=2),
        ),
    ]


@functools.cache
def _q2_model(index: int):
    from unet_course.models import build_backbone_unet

    return build_backbone_unet(**_q2_cases()[index][1])


def _unfreeze(model):
    """Back to how build_backbone_unet made it: every layer trainable (answers change the model)."""
    model.trainable = True
    for layer in model._flatten_layers(include_self=False, recursive=True):
        layer.trainable = True


def _count(weights) -> int:
    return int(sum(np.prod(w.shape) for w in weights))


def _one_number(got, label):
    try:
        array = np.asarray(got)
    except Exception:
        array = None
    if isinstance(got, bool) or array is None or array.dtype.kind not in "iuf" or array.size != 1:
        raise Mistake(
            f"On {label} your function returned {type(got).__name__} {got!r:.60}; return one number, the count."
        )
    value = float(array.reshape(()))
    if not np.isfinite(value) or value != round(value):
        raise Mistake(f"On {label} your function returned {value}; a parameter count is a whole number.")
    return int(round(value))


def _q2_check_one(answer, index):
    label, _ = _q2_cases()[index]
    model = _q2_model(index)
    _unfreeze(model)
    encoder = model.get_layer("encoder")
    total = model.count_params()
    trainable_before = _count(model.trainable_weights)
    decoder_layers = [layer for layer in model.layers if layer.name != "encoder" and layer.weights]
    decoder_trainable = _count(w for layer in decoder_layers for w in layer.trainable_weights)
    decoder_all = _count(w for layer in decoder_layers for w in layer.weights)
    try:
        got = call(answer, model, describe=f"on {label}")
    except Mistake as mistake:
        if "No such layer" in str(mistake) or "no such layer" in str(mistake).lower():
            raise Mistake(
                f"{mistake} The encoder of a build_backbone_unet model is the layer named 'encoder' (a model nested "
                "in it): model.get_layer('encoder')."
            ) from None
        raise
    got = _one_number(got, label)
    frozen_now = not encoder.trainable_weights
    decoder_now = _count(w for layer in decoder_layers for w in layer.trainable_weights)
    if got == decoder_trainable and frozen_now and decoder_now == decoder_trainable:
        return decoder_trainable, total
    if not model.trainable_weights or got == 0:
        raise Mistake(
            f"On {label} nothing is left to train (you returned {got:,}): you froze the whole model "
            "(model.trainable = False, or every layer). Freeze the encoder only: "
            "model.get_layer('encoder').trainable = False."
        )
    if got == total:
        raise Mistake(
            f"On {label} you returned {got:,}, model.count_params(): every weight of the model, trainable or not, "
            "the frozen encoder's included. Count model.trainable_weights after freezing: "
            f"{decoder_trainable:,} expected."
        )
    if got == trainable_before:
        raise Mistake(
            f"On {label} you returned {got:,}, the trainable parameters BEFORE freezing: the encoder's "
            f"{_count(encoder.trainable_weights) if not frozen_now else trainable_before - decoder_trainable:,} are "
            "still in it. Set model.get_layer('encoder').trainable = False first, then count model.trainable_weights."
        )
    if got == len(model.trainable_weights):
        raise Mistake(
            f"On {label} you returned {got}, the number of trainable weight TENSORS (kernels and biases). Count "
            f"parameters: add up the sizes of the tensors, np.prod(w.shape) for w in model.trainable_weights "
            f"({decoder_trainable:,} expected)."
        )
    if got == decoder_all and decoder_all != decoder_trainable:
        raise Mistake(
            f"On {label} you returned {got:,}: every weight outside the encoder, including the decoder's batch-norm "
            f"moving means and variances ({decoder_all - decoder_trainable:,} numbers), which are statistics, not "
            "parameters that gradient descent trains. Count model.trainable_weights after freezing "
            f"({decoder_trainable:,} expected)."
        )
    if got == total - decoder_trainable or got == _count(model.non_trainable_weights):
        raise Mistake(
            f"On {label} you returned {got:,}, the parameters that do NOT train. The question is the other part: "
            f"what is left to train, {decoder_trainable:,} (model.trainable_weights)."
        )
    if got == decoder_trainable and not frozen_now:
        raise Mistake(
            f"On {label} the number is right ({got:,}), but the encoder is not frozen: it still has "
            f"{_count(encoder.trainable_weights):,} trainable parameters, and a training run would change them. "
            "Set model.get_layer('encoder').trainable = False."
        )
    if got == decoder_trainable and decoder_now != decoder_trainable:
        raise Mistake(
            f"On {label} you froze decoder layers too: {decoder_trainable - decoder_now:,} of the decoder's parameters "
            "no longer train. Freeze the layer named 'encoder' only."
        )
    if frozen_now and got == _count(model.trainable_weights) and decoder_now != decoder_trainable:
        raise Mistake(
            f"On {label} you froze decoder layers too: {got:,} parameters are left to train instead of "
            f"{decoder_trainable:,}. Freeze the layer named 'encoder' only."
        )
    raise Mistake(
        f"On {label} you returned {got:,}; after freezing the encoder, {decoder_trainable:,} parameters are left to "
        f"train (the model has {total:,} in all, the encoder {encoder.count_params():,})."
    )


@exercise(
    "q2",
    "freeze the encoder, count what trains",
    notebook=NOTEBOOK,
    reference=freeze_and_count,
    hint=(
        "The encoder of a build_backbone_unet model is one layer of it, a nested model: model.get_layer('encoder'). "
        "Setting its trainable attribute to False freezes every layer inside it.",
        "model.trainable_weights lists the tensors that gradient descent will change. A parameter count is the sum "
        "of their sizes (np.prod(w.shape)), not the number of tensors.",
        "model.count_params() counts every weight, frozen or not, batch-norm statistics included: count "
        "model.trainable_weights instead, after freezing.",
    ),
)
def q2(answer):
    shares = []
    for index in range(len(_q2_cases())):
        shares.append(_q2_check_one(answer, index))
    (decoder, total), (vgg_decoder, vgg_total) = shares
    return (
        f"correct! With the encoder frozen, {decoder:,} of the MobileNetV2 U-Net's {total:,} weights train "
        f"({decoder / total:.1%}), {vgg_decoder:,} of the VGG16 U-Net's {vgg_total:,} ({vgg_decoder / vgg_total:.2%}). "
        "Each step then computes no gradient for the encoder, which is why a frozen run takes more steps in the "
        "same time."
    )

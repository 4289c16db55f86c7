"""Exercises of notebook 10 (pretrained encoders): pick the skip layers of a backbone from its
layers; unfreeze an encoder for fine-tuning but keep its batch norm frozen; normalise a tap as the
backbone U-Net does; the Caffe-style input of VGG16; p1, a prediction: the starting loss of a
decoder fed HED's features as they are."""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from unet_course.exercises import Mistake, Prediction, call, exercise

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


def unfreeze_for_fine_tuning(model):
    """Unfreeze the frozen encoder of a ``build_backbone_unet`` model for fine-tuning, except its
    batch-norm layers; return the number of parameters that then train."""
    import keras

    encoder = model.get_layer("encoder")
    encoder.trainable = True  # the nested model first: a frozen model keeps every layer in it frozen
    for layer in encoder.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def normalize_tap(features):
    """What ``GroupNormalization(groups=1)`` computes at the start (scale 1, offset 0): each image
    of ``features`` (N, H, W, C) minus its mean, divided by its standard deviation, both over the
    pixels and the channels together."""
    features = np.asarray(features, dtype=np.float64)
    mean = features.mean(axis=(1, 2, 3), keepdims=True)
    variance = features.var(axis=(1, 2, 3), keepdims=True)
    return (features - mean) / np.sqrt(variance + 1e-3)


def caffe_input(images):
    """What a Caffe-style VGG16 (ImageNet weights) expects from ``images`` in [0, 1], (N, H, W, 1 or 3):
    0-255, BGR, the ImageNet mean of each channel subtracted."""
    images = np.asarray(images, dtype=np.float64)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)  # grey: the same value in R, G and B
    bgr = images[..., ::-1] * 255.0
    return bgr - np.array([103.939, 116.779, 123.68])  # the mean of B, G, R over ImageNet


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
# q2: fine-tuning, with the encoder's batch norm kept frozen
# --------------------------------------------------------------------------------------


def _q2_cases():
    """(label, build arguments) of build_backbone_unet, encoder frozen."""
    return [
        (
            "a MobileNetV2 U-Net with its encoder frozen (base_filters=4)",
            dict(
                input_shape=(None, None, 3), num_classes=2, encoder="mobilenetv2", base_filters=4, freeze_encoder=True
            ),
        ),
        (
            "a VGG16 U-Net for grey images with its encoder frozen (base_filters=2; VGG16 has no batch norm)",
            dict(input_shape=(None, None, 1), num_classes=2, encoder="vgg16", base_filters=2, freeze_encoder=True),
        ),
    ]


@functools.cache
def _q2_model(index: int):
    from unet_course.models import build_backbone_unet

    return build_backbone_unet(**_q2_cases()[index][1])


def _refreeze(model):
    """Back to how build_backbone_unet made it: the decoder trainable, the encoder frozen."""
    model.trainable = True
    for layer in model._flatten_layers(include_self=False, recursive=True):
        layer.trainable = True
    model.get_layer("encoder").trainable = False


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
    import keras

    label, _ = _q2_cases()[index]
    model = _q2_model(index)
    _refreeze(model)
    encoder = model.get_layer("encoder")
    batch_norms = [layer for layer in encoder.layers if isinstance(layer, keras.layers.BatchNormalization)]
    others = [layer for layer in encoder.layers if not isinstance(layer, keras.layers.BatchNormalization)]
    decoder_layers = [layer for layer in model.layers if layer.name != "encoder"]
    decoder = _count(w for layer in decoder_layers for w in layer.trainable_weights)
    convolutions = _count(w for layer in others for w in layer.weights)
    gamma_beta = _count(w for bn in batch_norms for w in (bn.gamma, bn.beta))
    expected = decoder + convolutions
    got = call(answer, model, describe=f"on {label}")
    got = _one_number(got, label)
    trainable_now = _count(model.trainable_weights)
    bn_training = [bn.name for bn in batch_norms if bn.trainable]
    decoder_now = _count(w for layer in decoder_layers for w in layer.trainable_weights)
    if got == expected and trainable_now == expected and not bn_training and decoder_now == decoder:
        return expected, model.count_params(), len(batch_norms)
    if bn_training or (batch_norms and got == expected + gamma_beta):
        raise Mistake(
            f"On {label} the encoder's batch-norm layers train ({len(batch_norms)} of them; you returned {got:,}). "
            "In Keras 3 a trainable BatchNormalization layer runs in training mode: it normalises with the "
            "statistics of each small batch of ISBI crops and overwrites the moving means and variances it learned "
            "on ImageNet, so the pretrained features shift under the decoder. Keep every BatchNormalization layer "
            "of the encoder frozen (layer.trainable = False), unfreeze the others."
        )
    if trainable_now == decoder:
        raise Mistake(
            f"On {label} only the decoder trains ({trainable_now:,} parameters; you returned {got:,}): the encoder's "
            "layers are still frozen. Set model.get_layer('encoder').trainable = True (it sets the flag of every "
            "layer inside it), then freeze its batch-norm layers one by one."
        )
    if decoder_now != decoder:
        raise Mistake(
            f"On {label} you froze decoder layers: {decoder - decoder_now:,} of the decoder's parameters no longer "
            "train. Fine-tuning trains the decoder and the encoder; only the encoder's batch norm stays frozen."
        )
    if trainable_now == expected:
        if got == model.count_params():
            raise Mistake(
                f"On {label} the model is right, but you returned {got:,}, all its weights (model.count_params(), "
                "or the sizes of model.weights): the frozen batch-norm layers' gamma and beta and their moving "
                f"statistics are in it. Count model.trainable_weights ({expected:,} expected)."
            )
        if got == len(model.trainable_weights):
            raise Mistake(
                f"On {label} the model is right, but you returned {got}, the number of trainable weight TENSORS. "
                f"Add up their sizes, np.prod(w.shape) ({expected:,} expected)."
            )
        raise Mistake(f"On {label} the model is right, but you returned {got:,}; {expected:,} parameters train.")
    raise Mistake(
        f"On {label} {trainable_now:,} parameters now train and you returned {got:,}; expected {expected:,}: the "
        f"decoder's {decoder:,} and the encoder's {convolutions:,} outside its batch norm."
    )


@exercise(
    "q2",
    "fine-tuning with the encoder's batch norm frozen",
    notebook=NOTEBOOK,
    reference=unfreeze_for_fine_tuning,
    hint=(
        "Two levels: the encoder is one layer of the U-Net, a nested model with a trainable flag, and each layer "
        "inside it has its own. Setting the nested model's flag sets all of theirs; a layer's own flag decides "
        "afterwards.",
        "Unfreeze the nested model, then walk its layers and freeze those that are batch normalisation "
        "(isinstance). Count the sizes of model.trainable_weights afterwards.",
    ),
)
def q2(answer):
    (mobile, mobile_total, bn_count), (vgg, vgg_total, _) = [
        _q2_check_one(answer, index) for index in range(len(_q2_cases()))
    ]
    return (
        f"correct! {mobile:,} of the MobileNetV2 U-Net's {mobile_total:,} weights now train, its {bn_count} "
        f"batch-norm layers keep their pretrained statistics (in inference mode); VGG16 has no batch norm, so all "
        f"{vgg:,} of its U-Net's trainable parameters train. Compile again afterwards, with a low learning rate."
    )


# --------------------------------------------------------------------------------------
# q3: normalise a tap
# --------------------------------------------------------------------------------------


def _q3_cases():
    """(label, features (N, H, W, C)): images of different scales, channels of different means."""
    rng = np.random.default_rng(10)
    big = rng.normal(30.0, 50.0, (1, 6, 6, 4)) + np.array([0.0, 100.0, -20.0, 5.0])  # channels apart
    small = rng.normal(2.0, 5.0, (1, 6, 6, 4)) * np.array([1.0, 3.0, 0.5, 2.0])
    return [
        ("a batch of 2 maps (6x6, 4 channels), one ten times the other", np.concatenate([big, small])),
        ("one map (5x7, 3 channels) of VGG-like scale", rng.gamma(2.0, 40.0, (1, 5, 7, 3))),
        (
            "a batch of 3 maps (4x4, 8 channels)",
            rng.normal(0, 1, (3, 4, 4, 8)) * np.array([[[[1.0]]], [[[20.0]]], [[[300.0]]]]),
        ),
    ]


def _standardized(x, axes, divide="std"):
    mean = x.mean(axis=axes, keepdims=True)
    variance = x.var(axis=axes, keepdims=True)
    if divide == "variance":
        return (x - mean) / (variance + 1e-3)
    if divide == "no_mean":
        return x / np.sqrt(variance + 1e-3)
    return (x - mean) / np.sqrt(variance + 1e-3)


_Q3_MISTAKES = [
    (
        dict(axes=(0, 1, 2, 3)),
        "On {label} you used one mean and one standard deviation for the whole batch. The layer normalises each "
        "image by its own statistics (axes 1, 2, 3): an image's features must not depend on the other images of "
        "its batch, and in inference there may be only one.",
    ),
    (
        dict(axes=(0, 1, 2)),
        "On {label} you normalised each channel over the batch and the pixels: that is batch normalisation, which "
        "needs moving averages for inference (and those are what go wrong after a short run). groups=1 normalises "
        "each image over its pixels AND channels together (axes 1, 2, 3).",
    ),
    (
        dict(axes=(1, 2)),
        "On {label} you normalised each channel of each image separately (instance normalisation, groups=C). "
        "That gives a channel that barely responds the same spread as a strong one. groups=1 uses one mean and "
        "one standard deviation per image, over the pixels and the channels together (axes 1, 2, 3).",
    ),
    (
        dict(axes=(3,)),
        "On {label} you normalised each pixel across its channels (a layer normalisation of the channel axis): "
        "every pixel then has the same overall strength, and where the edges are is lost. groups=1 normalises "
        "each image over its pixels and channels together (axes 1, 2, 3).",
    ),
    (
        dict(axes=(1, 2, 3), divide="variance"),
        "On {label} you divided by the variance. Divide by the standard deviation, its square root: "
        "(x - mean) / sqrt(variance + epsilon).",
    ),
    (
        dict(axes=(1, 2, 3), divide="no_mean"),
        "On {label} you divided by the standard deviation but did not subtract the mean first: (x - mean) / std.",
    ),
]


def _q3_close(got, expected):
    return got.shape == expected.shape and np.allclose(got, expected, rtol=1e-2, atol=1e-2)


@exercise(
    "q3",
    "normalise a tap",
    notebook=NOTEBOOK,
    reference=normalize_tap,
    hint=(
        "A statistic 'per image, over the pixels and channels' is computed along some axes of (N, H, W, C) and "
        "kept for the others. Which axes does each image own?",
        "np.mean and np.var take axis=(...) and keepdims=True, so that the result broadcasts back against the "
        "features. A small epsilon under the square root keeps a flat map from dividing by 0.",
    ),
)
def q3(answer):
    for label, features in _q3_cases():
        got = call(answer, features.copy(), describe=f"on {label}")
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            raise Mistake(f"On {label} your function returned {type(got).__name__}; return an array.") from None
        expected = normalize_tap(features)
        if _q3_close(got, expected):
            continue
        if got.shape != expected.shape:
            raise Mistake(
                f"On {label} your function returned shape {got.shape}; the normalised features keep the input's "
                f"shape {expected.shape} (keepdims=True, so that the statistics broadcast)."
            )
        for options, message in _Q3_MISTAKES:
            if _q3_close(got, _standardized(features, **options)):
                raise Mistake(message.format(label=label))
        raise Mistake(
            f"On {label} your result differs from the expected one (its first value is {got.ravel()[0]:.4f}, "
            f"expected {expected.ravel()[0]:.4f}): per image, subtract the mean and divide by the standard deviation, "
            "both over the pixels and the channels."
        )
    return (
        "correct! Whatever the scale of an encoder's features (HED's block1_conv2 about 50, a random VGG16's about "
        "5), the decoder now starts on numbers of scale 1, as its initialisation assumes; and with no moving "
        "statistics, training and inference compute the same."
    )


# --------------------------------------------------------------------------------------
# q4: the Caffe-style input of VGG16
# --------------------------------------------------------------------------------------

_MEAN_BGR = np.array([103.939, 116.779, 123.68])


def _q4_cases():
    rng = np.random.default_rng(4)
    rgb = rng.random((2, 4, 5, 3))
    rgb[..., 0] *= 0.2  # little red, much blue: a flip shows
    return [
        ("2 RGB images (4x5) with little red", rgb),
        ("1 grey image (3x3)", rng.random((1, 3, 3, 1))),
    ]


def _q4_variants(images):
    x = np.asarray(images, dtype=np.float64)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return {
        "no_255": x[..., ::-1] - _MEAN_BGR,
        "no_flip": x * 255 - _MEAN_BGR,
        "flip_after": (x * 255 - _MEAN_BGR)[..., ::-1],
        "mean_first": (x[..., ::-1] - _MEAN_BGR) * 255,
        "torch": (x - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225]),
        "minus_one": x[..., ::-1] * 2 - 1,
        "no_mean": x[..., ::-1] * 255,
    }


_Q4_MESSAGES = {
    "no_255": "you subtracted the means (about 100-124) from values in [0, 1]. Caffe's VGG16 was trained on 0-255 "
    "pixels: multiply by 255 first.",
    "no_flip": "the channels are still in RGB order, so the blue mean (103.9) came off the red channel. Caffe reads "
    "images as BGR: reverse the last axis (x[..., ::-1]) before subtracting (103.939, 116.779, 123.68).",
    "flip_after": "you subtracted (103.939, 116.779, 123.68) from R, G, B and then reversed the channels: the means "
    "are those of B, G, R. Reverse first, then subtract.",
    "mean_first": "you subtracted the means before scaling to 0-255. The means are on the 0-255 scale: scale first.",
    "torch": "that is the PyTorch (torchvision) convention, [0, 1] standardised with the ImageNet mean and standard "
    "deviation of R, G, B. Caffe-style VGG16 wants 0-255, BGR, the mean subtracted, no division.",
    "minus_one": "that is MobileNetV2's input, [-1, 1]. VGG16's Caffe weights want 0-255, BGR, the mean subtracted.",
    "no_mean": "0-255 and BGR are right, but the ImageNet mean (103.939, 116.779, 123.68) is not subtracted: the "
    "filters were trained on inputs centred near 0.",
}


@exercise(
    "q4",
    "the Caffe-style input of VGG16",
    notebook=NOTEBOOK,
    reference=caffe_input,
    hint=(
        "Three changes, in an order that matters: the scale of the pixels, the order of the channels, and a "
        "mean per channel. The table in section 1 names them.",
        "Grey images become 3 equal channels first. The three means are given for B, G and R, on the 0-255 scale.",
    ),
)
def q4(answer):
    for label, images in _q4_cases():
        got = call(answer, images.copy(), describe=f"on {label}")
        try:
            got = np.asarray(got, dtype=np.float64)
        except (TypeError, ValueError):
            raise Mistake(f"On {label} your function returned {type(got).__name__}; return an array.") from None
        expected = caffe_input(images)
        if got.shape == expected.shape and np.allclose(got, expected, atol=1e-3):
            continue
        if got.shape != expected.shape:
            raise Mistake(
                f"On {label} your function returned shape {got.shape}, expected {expected.shape}"
                + (
                    ": grey images become 3 equal channels (np.repeat(images, 3, axis=-1))."
                    if images.shape[-1] == 1
                    else "."
                )
            )
        for mistake, wrong in _q4_variants(images).items():
            if np.allclose(got, wrong, atol=1e-3):
                raise Mistake(f"On {label} {_Q4_MESSAGES[mistake]}")
        raise Mistake(
            f"On {label} your first value is {got.ravel()[0]:.3f}, expected {expected.ravel()[0]:.3f}: x * 255, "
            "channels reversed to BGR, then minus (103.939, 116.779, 123.68)."
        )
    return (
        "correct! That is keras.applications.vgg16.preprocess_input(x * 255), which the model's preprocess block "
        "computes, so that a saved model cannot be fed the wrong scale."
    )


# --------------------------------------------------------------------------------------
# p1: the starting loss of a decoder fed HED's features as they are
# --------------------------------------------------------------------------------------


def _p1_explain(guess, actual):
    try:
        guess = float(guess)
    except (TypeError, ValueError):
        return None
    if abs(guess - 0.69) < 0.15:
        return (
            "0.69 = ln 2 is the loss of an undecided model (probability 1/2 for each class). An untrained model is "
            "undecided only when its last layers get inputs of the scale their initialisation assumes, about 1; "
            "HED's taps are tens of times larger, so the softmax saturates at 0 or 1 and the wrong half of the "
            "pixels cost far more than ln 2 each."
        )
    if guess < actual:
        return (
            "The softmax of the untrained model is saturated: with inputs tens of times too large, its outputs sit "
            "near 0 or 1, and every pixel it gets wrong costs -log of a tiny probability, not ln 2."
        )
    if guess > 2 * actual:
        return (
            "Saturated, but not that far: the cross-entropy is clipped (probabilities of about 1e-7 at worst) and "
            "the pixels the saturated model gets right cost nearly 0, so the mean stays a few units."
        )
    return None


p1 = Prediction(
    "p1",
    "the cross-entropy of the untrained HED VGG16 U-Net, taps NOT normalised, on ISBI crops",
    notebook=NOTEBOOK,
    tolerance=0.35,
    explain=_p1_explain,
)

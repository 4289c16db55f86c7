"""The blocks U-Net is made of, as functions on Keras tensors.

Each block applies standard Keras layers (``Conv2D``, ``MaxPooling2D``, ``Conv2DTranspose``,
``UpSampling2D``, ``Concatenate``, ``Add``, ``Cropping2D``), so a model built from them
saves to ``.keras`` and loads without custom objects, runs on every Keras backend, and
shows every layer by a readable name in ``model.summary()`` (``enc2_conv1``, ``dec1_up``, ...).

The same functions work on a symbolic ``keras.Input`` (to build a model) and on a real
array (to try a block on a dummy tensor, as the notebooks do).

Under a mixed-precision policy (``keras.config.set_dtype_policy("mixed_bfloat16")``, or
``"mixed_float16"`` on a GPU) every block computes in 16 bits with float32 weights, and
:func:`classifier` stays in float32: the softmax and the loss need its range and precision.
"""

from __future__ import annotations

import keras
from keras import layers

from unet_course._validation import check_choice, check_positive_int

UPSAMPLING_MODES = ("transpose", "bilinear", "nearest")
SKIP_MODES = ("concat", "add", "none")
PADDING_MODES = ("same", "valid")


def _name(prefix: str | None, suffix: str) -> str | None:
    return f"{prefix}_{suffix}" if prefix else None


def conv_block(
    x,
    num_filters: int,
    *,
    padding: str = "same",
    batch_norm: bool = False,
    dropout: float = 0.0,
    name: str | None = None,
):
    """Two 3x3 convolutions, each followed by ReLU (and batch norm when asked).

    With ``padding="valid"`` each convolution trims one pixel per side: the output is
    4 pixels smaller than the input, as in the paper (572 -> 570 -> 568).
    ``dropout`` (0 to <1) is applied after the second convolution.
    """
    num_filters = check_positive_int("num_filters", num_filters)
    check_choice("padding", padding, PADDING_MODES)
    for i in (1, 2):
        x = layers.Conv2D(
            num_filters,
            3,
            padding=padding,
            use_bias=not batch_norm,
            kernel_initializer="he_normal",
            name=_name(name, f"conv{i}"),
        )(x)
        if batch_norm:
            x = layers.BatchNormalization(name=_name(name, f"bn{i}"))(x)
        x = layers.Activation("relu", name=_name(name, f"relu{i}"))(x)
    if dropout:
        x = layers.Dropout(dropout, name=_name(name, "dropout"))(x)
    return x


def encoder_block(
    x,
    num_filters: int,
    *,
    padding: str = "same",
    batch_norm: bool = False,
    dropout: float = 0.0,
    name: str | None = None,
):
    """A conv block then 2x2 max pooling. Returns ``(features, pooled)``.

    ``features`` (full resolution) goes to the decoder through the skip connection;
    ``pooled`` (half the height and width) goes down to the next level.
    """
    features = conv_block(x, num_filters, padding=padding, batch_norm=batch_norm, dropout=dropout, name=name)
    pooled = layers.MaxPooling2D(2, name=_name(name, "pool"))(features)
    return features, pooled


def upsample(x, num_filters: int, mode: str = "transpose", *, name: str | None = None):
    """Double the height and width of ``x`` and give it ``num_filters`` channels.

    - ``"transpose"``: a learned 2x2 transposed convolution with stride 2 (the paper's
      "up-convolution"). Kernel 2 = stride 2, so the kernel footprints tile the output
      without overlap: no checkerboard from uneven overlap.
    - ``"bilinear"`` / ``"nearest"``: fixed interpolation, then a learned 3x3 convolution
      ("resize-convolution", Odena et al. 2016) to set the channel count.
    """
    num_filters = check_positive_int("num_filters", num_filters)
    check_choice("upsampling", mode, UPSAMPLING_MODES)
    if mode == "transpose":
        return layers.Conv2DTranspose(num_filters, 2, strides=2, name=_name(name, "up"))(x)
    x = layers.UpSampling2D(2, interpolation=mode, name=_name(name, "up"))(x)
    return layers.Conv2D(num_filters, 3, padding="same", kernel_initializer="he_normal", name=_name(name, "up_conv"))(x)


def _center_crop_amounts(skip_shape, target_shape):
    crops = []
    for axis, (big, small) in enumerate(zip(skip_shape[1:3], target_shape[1:3])):
        if big is None or small is None:
            raise ValueError(
                "padding='valid' needs a fixed input size to crop the skip connections; "
                "give input_shape with a height and width."
            )
        extra = big - small
        if extra < 0:
            raise ValueError(
                f"The skip connection ({big} px) is smaller than the upsampled tensor ({small} px) on axis {axis + 1}."
            )
        crops.append((extra // 2, extra - extra // 2))
    return tuple(crops)


def merge_skip(x, skip, mode: str = "concat", *, name: str | None = None):
    """Merge the encoder's ``skip`` features into the decoder tensor ``x``.

    ``"concat"`` stacks channels ``[skip, x]`` (the paper's choice), ``"add"`` sums them
    (needs equal channel counts), ``"none"`` ignores ``skip``. A ``skip`` larger than ``x``
    (valid padding) is centre-cropped first, as in the paper's figure 1.
    """
    check_choice("skip", mode, SKIP_MODES)
    if mode == "none":
        return x
    if skip.shape[1:3] != x.shape[1:3]:
        skip = layers.Cropping2D(_center_crop_amounts(skip.shape, x.shape), name=_name(name, "crop"))(skip)
    if mode == "add":
        if skip.shape[-1] != x.shape[-1]:
            raise ValueError(
                f"skip='add' needs equal channel counts, got {skip.shape[-1]} (skip) and {x.shape[-1]} (decoder); "
                "use skip='concat'."
            )
        return layers.Add(name=_name(name, "add"))([skip, x])
    return layers.Concatenate(name=_name(name, "concat"))([skip, x])


def classifier(x, num_classes: int, activation="softmax", *, name: str | None = "classifier"):
    """The 1x1 convolution from features to per-pixel class scores (``activation`` applied).

    Under a mixed-precision policy (compute dtype ``float16`` or ``bfloat16``, variables in
    ``float32``) this layer computes in float32, as the Keras mixed-precision guide advises
    for a model's last layer: the probabilities, and the log of them in the loss, keep their
    precision (a bfloat16 probability has 3 significant digits, 0.999 and 1.0 are the same
    number), and the model's output is float32. Under any other policy it follows the policy.
    """
    num_classes = check_positive_int("num_classes", num_classes)
    policy = keras.config.dtype_policy()
    mixed = policy.compute_dtype != policy.variable_dtype
    return layers.Conv2D(num_classes, 1, activation=activation, name=name, dtype="float32" if mixed else None)(x)


def decoder_block(
    x,
    skip,
    num_filters: int,
    *,
    upsampling: str = "transpose",
    skip_mode: str = "concat",
    padding: str = "same",
    batch_norm: bool = False,
    dropout: float = 0.0,
    name: str | None = None,
):
    """Upsample ``x``, merge the ``skip`` features, then a conv block."""
    x = upsample(x, num_filters, upsampling, name=name)
    x = merge_skip(x, skip, skip_mode, name=name)
    return conv_block(x, num_filters, padding=padding, batch_norm=batch_norm, dropout=dropout, name=name)

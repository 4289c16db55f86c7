"""Augmentation that moves an image and its mask together, with one random draw.

Every geometric change (flip, 90-degree turn, scale, rotation, elastic deformation) is
drawn once and applied to the image *and* the mask (and a per-pixel weight map, if any).
Images are resampled bilinearly, masks and weights with nearest neighbour, so a mask never
gains a class value it did not have (the ignore value included). Photometric changes
(brightness, contrast, gamma, noise) touch the image only.

The TensorFlow tutorial's pattern of two ``RandomFlip`` layers, one for the image and one
for the mask, flips them independently unless both share a seed (keras issue 17457):
here there is only one draw, so they cannot drift apart.

This module runs inside a ``tf.data`` pipeline (TensorFlow ops), which serves every Keras
backend: the pipeline prepares NumPy-compatible batches for ``model.fit``.

>>> aug = Augment(flips=True, rot90=True, rotation=10, scale=(0.9, 1.1))
>>> aug.is_identity()
False
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Augment:
    """What to change, and by how much. Every default off except flips and 90-degree turns.

    Args:
        flips: random horizontal and vertical flips (each with probability 1/2).
        rot90: random turns by 0, 90, 180 or 270 degrees (square crops; 0 or 180 otherwise).
        scale: ``(low, high)`` zoom factors, e.g. ``(0.8, 1.25)``; ``None`` for none.
        rotation: maximum rotation in degrees (uniform in ``[-rotation, rotation]``).
        elastic: the U-Net paper's elastic deformation: random displacements on a coarse
            ``elastic_grid`` x ``elastic_grid`` grid, Gaussian with ``elastic_sigma`` pixels
            standard deviation, interpolated bicubically to every pixel.
        brightness: maximum shift added to the image (in [0, 1] units).
        contrast: maximum relative change of contrast around the image mean (0.2 = +-20%).
        gamma: maximum log-gamma (pixel ** exp(u), u uniform in ``[-gamma, gamma]``).
        noise: standard deviation of the zero-mean noise added to each pixel (uniform, which
            is cheaper to draw than Gaussian and as good a perturbation at this size).
        saturation: maximum relative change of colour saturation (0.3 = +-30%), the
            luminance kept; RGB images only (grey images and other channel counts are left as
            they are).
        hue: maximum turn of the hue, as a fraction of the colour wheel (0.1 = +-36 degrees),
            the luminance kept; RGB images only.
        fill_mode: how pixels brought in from outside the image by scale/rotation are
            filled (``"reflect"``, like the paper's mirroring, or ``"nearest"``).
    """

    flips: bool = True
    rot90: bool = True
    scale: tuple | None = None
    rotation: float = 0.0
    elastic: bool = False
    elastic_sigma: float = 10.0
    elastic_grid: int = 3
    brightness: float = 0.0
    contrast: float = 0.0
    gamma: float = 0.0
    noise: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0
    fill_mode: str = "reflect"

    def __post_init__(self):
        if self.scale is not None:
            if len(self.scale) != 2 or not 0 < self.scale[0] <= self.scale[1]:
                raise ValueError(
                    f"scale must be (low, high) with 0 < low <= high, got {self.scale!r}; e.g. (0.8, 1.25)."
                )
        for name in ("rotation", "elastic_sigma", "brightness", "contrast", "gamma", "noise", "saturation", "hue"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}.")
        if self.saturation >= 1 or self.hue > 0.5:
            raise ValueError(
                f"saturation must be below 1 and hue at most 0.5, got {self.saturation!r} and {self.hue!r}; "
                "e.g. saturation=0.3, hue=0.1."
            )
        if self.contrast >= 1:
            raise ValueError(f"contrast must be below 1 (a relative change), got {self.contrast!r}; e.g. 0.2.")
        if not isinstance(self.elastic_grid, int) or self.elastic_grid < 2:
            raise ValueError(f"elastic_grid must be an integer >= 2, got {self.elastic_grid!r} (the paper: 3).")
        if self.fill_mode not in ("reflect", "nearest"):
            raise ValueError(f"fill_mode must be 'reflect' or 'nearest', got {self.fill_mode!r}.")

    def is_identity(self) -> bool:
        """True when nothing would change."""
        return not (self.flips or self.rot90 or self.scale or self.rotation or self.elastic or self.photometric())

    def photometric(self) -> bool:
        return bool(self.brightness or self.contrast or self.gamma or self.noise or self.saturation or self.hue)

    def to_dict(self) -> dict:
        return asdict(self)


#: No change at all.
NONE = Augment(flips=False, rot90=False)


def _seeds(seed, count: int):
    """``count`` independent stateless seeds from one ``(2,)`` int seed tensor."""
    import tensorflow as tf

    return tf.unstack(tf.random.experimental.stateless_split(seed, num=count))


def _geometry(augment: Augment, n, height, width, square: bool, seeds):
    """One projective transform per example, ``(n, 8)``: flips, turns, rotation and zoom in one matrix.

    Each matrix maps an output pixel ``(x, y)`` to the input position it samples,
    ``c + A (p - c)`` about the centre ``c``, with ``A = R(angle) / zoom @ turn @ flip``.
    Flips and turns have exact integer entries (a flip or a quarter turn moves pixel centres
    onto pixel centres, so the image is not blurred by them); the angle and zoom matrix is
    the identity when there is no rotation or scale.
    """
    import tensorflow as tf

    s_flip_h, s_flip_v, s_rot, s_angle, s_zoom = seeds
    ones = tf.ones((n,), tf.float32)
    a = tf.stack([[ones, 0 * ones], [0 * ones, ones]])  # (2, 2, n): A[row, col, example]
    if augment.flips:
        sign_x = tf.where(tf.random.stateless_uniform((n,), s_flip_h) < 0.5, -1.0, 1.0)
        sign_y = tf.where(tf.random.stateless_uniform((n,), s_flip_v) < 0.5, -1.0, 1.0)
        a = tf.stack([[a[0, 0] * sign_x, a[0, 1] * sign_y], [a[1, 0] * sign_x, a[1, 1] * sign_y]])
    if augment.rot90:
        turns = tf.random.stateless_uniform((n,), s_rot, 0, 4, dtype=tf.int32)
        if not square:  # half turns only
            turns = 2 * (turns // 2)
        cos = tf.gather(tf.constant([1.0, 0.0, -1.0, 0.0]), turns)
        sin = tf.gather(tf.constant([0.0, 1.0, 0.0, -1.0]), turns)
        a = _matmul([[cos, sin], [-sin, cos]], a)
    if augment.rotation or augment.scale:
        limit = math.radians(augment.rotation)
        angle = tf.random.stateless_uniform((n,), s_angle, -limit, limit) if augment.rotation else 0 * ones
        if augment.scale:
            low, high = (math.log(v) for v in augment.scale)
            zoom = tf.exp(tf.random.stateless_uniform((n,), s_zoom, low, high)) if high > low else math.exp(low) * ones
        else:
            zoom = ones
        cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
        a = _matmul([[cos, sin], [-sin, cos]], a)
    cy, cx = (tf.cast(height, tf.float32) - 1) / 2, (tf.cast(width, tf.float32) - 1) / 2
    a0, a1, b0, b1 = a[0, 0], a[0, 1], a[1, 0], a[1, 1]
    zeros = 0 * ones
    return tf.stack([a0, a1, cx - a0 * cx - a1 * cy, b0, b1, cy - b0 * cx - b1 * cy, zeros, zeros], axis=1)


def _matmul(m, a):
    """``m @ a`` for stacks of 2 x 2 matrices stored as ``[row][col]`` of ``(n,)`` tensors."""
    import tensorflow as tf

    return tf.stack([[m[r][0] * a[0, c] + m[r][1] * a[1, c] for c in range(2)] for r in range(2)])


def _transform(stack, transforms, interpolation: str, fill_mode: str):
    """Resample a batch ``(N, H, W, C)`` with one projective transform per example."""
    import tensorflow as tf

    return tf.raw_ops.ImageProjectiveTransformV3(
        images=stack,
        transforms=transforms,
        output_shape=tf.shape(stack)[1:3],
        fill_value=0.0,
        interpolation=interpolation,
        fill_mode=fill_mode.upper(),
    )


def elastic_field(shape, seed, sigma: float = 10.0, grid: int = 3, batch=None):
    """Per-pixel displacements ``(H, W, 2)`` (dy, dx) in pixels, the paper's way.

    Displacements are drawn on a coarse ``grid`` x ``grid`` grid from a Gaussian with
    ``sigma`` pixels standard deviation and interpolated bicubically to every pixel.
    With ``batch=N``: ``N`` independent fields, ``(N, H, W, 2)``.
    """
    import tensorflow as tf

    count = 1 if batch is None else batch
    coarse = tf.random.stateless_normal(tf.stack([count, grid, grid, 2]), seed=seed, stddev=sigma)
    fields = tf.image.resize(coarse, shape, method="bicubic")
    return fields[0] if batch is None else fields


def warp(stack, field, interpolation: str):
    """Sample ``stack`` at ``(y + dy, x + dx)``; ``"bilinear"`` or ``"nearest"``.

    ``stack`` is ``(H, W, C)`` with ``field`` ``(H, W, 2)``, or a batch ``(N, H, W, C)``
    with ``(N, H, W, 2)``. Coordinates outside the image are clamped to the border.
    """
    import tensorflow as tf

    batched = stack.shape.rank == 4
    shape = tf.shape(stack)
    height, width = shape[-3], shape[-2]
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    y = tf.clip_by_value(ys + field[..., 0], 0.0, tf.cast(height - 1, tf.float32))
    x = tf.clip_by_value(xs + field[..., 1], 0.0, tf.cast(width - 1, tf.float32))

    if batched:  # one flat gather: gather_nd with batch_dims logs a oneDNN fallback on some CPUs
        n = shape[0]
        flat = tf.reshape(stack, tf.stack([-1, shape[-1]]))
        base = (tf.range(n) * height * width)[:, None, None]

        def at(yi, xi):
            return tf.gather(flat, base + yi * width + xi)

    else:

        def at(yi, xi):
            return tf.gather_nd(stack, tf.stack([yi, xi], axis=-1))

    if interpolation == "nearest":
        return at(tf.cast(tf.round(y), tf.int32), tf.cast(tf.round(x), tf.int32))
    y0, x0 = tf.floor(y), tf.floor(x)
    wy, wx = (y - y0)[..., None], (x - x0)[..., None]
    y0i, x0i = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    y1i, x1i = tf.minimum(y0i + 1, height - 1), tf.minimum(x0i + 1, width - 1)
    top = at(y0i, x0i) * (1 - wx) + at(y0i, x1i) * wx
    bottom = at(y1i, x0i) * (1 - wx) + at(y1i, x1i) * wx
    return top * (1 - wy) + bottom * wy


def augment_batch(images, masks, augment: Augment, seed, weights=None):
    """Apply ``augment`` to a batch: ``images`` (N, H, W, C), ``masks`` (N, H, W), ``weights``.

    Every example gets its own random draw (its own flips, turn, angle, zoom, deformation
    and photometric change), and within an example the image, its mask and its weights get
    the same one. The whole batch is resampled in one call per kind of data (bilinear for
    the images, nearest neighbour for masks and weights), which is several times faster
    than transforming example by example inside ``tf.data``. ``seed`` is one ``(2,)``
    integer tensor (stateless random ops): the same seed gives the same transforms.
    Returns ``(images, masks)`` or ``(images, masks, weights)``.
    """
    import tensorflow as tf

    images = tf.convert_to_tensor(images, tf.float32)
    masks = tf.convert_to_tensor(masks)
    mask_dtype = masks.dtype
    channels = images.shape[-1]
    labels = [tf.cast(masks, tf.float32)[..., None]]
    if weights is not None:
        labels.append(tf.cast(weights, tf.float32)[..., None])
    labels = tf.concat(labels, axis=-1)
    shape = tf.shape(images)
    n, height, width = shape[0], shape[1], shape[2]
    s_flip_h, s_flip_v, s_rot, s_angle, s_zoom, s_elastic, s_photo = _seeds(seed, 7)
    if augment.flips or augment.rot90 or augment.rotation or augment.scale:
        # a quarter turn would change the shape of a non-square image (or one of unknown size)
        square = images.shape[1] is not None and images.shape[1] == images.shape[2]
        transforms = _geometry(augment, n, height, width, square, (s_flip_h, s_flip_v, s_rot, s_angle, s_zoom))
        images = _transform(images, transforms, "BILINEAR", augment.fill_mode)
        labels = _transform(labels, transforms, "NEAREST", augment.fill_mode)
    if augment.elastic:
        field = elastic_field((height, width), s_elastic, augment.elastic_sigma, augment.elastic_grid, batch=n)
        images = warp(images, field, "bilinear")
        labels = warp(labels, field, "nearest")
    if augment.photometric():
        images = photometric(images, augment, s_photo)
    images = tf.ensure_shape(images, [None, None, None, channels])
    masks_out = tf.cast(tf.round(labels[..., 0]), mask_dtype)
    if weights is not None:
        return images, masks_out, labels[..., 1]
    return images, masks_out


def augment_pair(image, mask, augment: Augment, seed, weight=None):
    """Apply one random draw of ``augment`` to ``image`` (H, W, C), ``mask`` (H, W) and ``weight``.

    A batch of one for :func:`augment_batch`. ``seed`` is a ``(2,)`` integer tensor
    (stateless random ops): the same seed gives the same transform. Returns
    ``(image, mask)`` or ``(image, mask, weight)``.
    """
    import tensorflow as tf

    mask = tf.convert_to_tensor(mask, tf.as_dtype(mask.dtype) if hasattr(mask, "dtype") else tf.int32)
    out = augment_batch(
        tf.convert_to_tensor(image, tf.float32)[None],
        mask[None],
        augment,
        seed,
        weights=None if weight is None else tf.convert_to_tensor(weight, tf.float32)[None],
    )
    return tuple(t[0] for t in out)


def photometric(images, augment: Augment, seed):
    """Colour (saturation, hue), brightness, contrast, gamma and noise on the images only, clipped to [0, 1].

    ``images`` is one ``(H, W, C)`` image or a batch ``(N, H, W, C)``; in a batch each
    image gets its own draw.
    """
    import tensorflow as tf

    if images.shape.rank == 3:
        return photometric(images[None], augment, seed)[0]
    s_b, s_c, s_g, s_n, s_s, s_h = _seeds(seed, 6)
    per_image = tf.stack([tf.shape(images)[0], 1, 1, 1])
    if (augment.saturation or augment.hue) and images.shape[-1] == 3:
        images = _colour(images, augment, s_s, s_h)
    if augment.brightness:
        images = images + tf.random.stateless_uniform(per_image, s_b, -augment.brightness, augment.brightness)
    if augment.contrast:
        mean = tf.reduce_mean(images, axis=[1, 2], keepdims=True)
        factor = tf.random.stateless_uniform(per_image, s_c, 1 - augment.contrast, 1 + augment.contrast)
        images = (images - mean) * factor + mean
    images = tf.clip_by_value(images, 0.0, 1.0)
    if augment.gamma:
        images = images ** tf.exp(tf.random.stateless_uniform(per_image, s_g, -augment.gamma, augment.gamma))
    if augment.noise:  # uniform in [-a, a] has standard deviation a / sqrt(3); 2.7x cheaper than normal
        limit = math.sqrt(3.0) * augment.noise
        images = images + tf.random.stateless_uniform(tf.shape(images), s_n, -limit, limit)
    return tf.clip_by_value(images, 0.0, 1.0)


#: RGB to YIQ (NTSC): Y is the luminance, (I, Q) the colour; hue is the angle of (I, Q),
#: saturation its length.
_RGB_TO_YIQ = (
    (0.299, 0.587, 0.114),
    (0.59590059, -0.27455667, -0.32134392),
    (0.21153661, -0.52273617, 0.31119955),
)


def _colour(images, augment: Augment, s_saturation, s_hue):
    """Saturation and hue of RGB ``images`` (N, H, W, 3), one 3 x 3 colour matrix per image.

    In YIQ space a hue shift turns the (I, Q) plane and a saturation change scales it, while
    the luminance Y stays: ``rgb' = A^-1 diag(1, f R(2 pi h)) A rgb``. One small matrix product
    per image, several times cheaper than converting every pixel to HSV and back.
    """
    import numpy as np
    import tensorflow as tf

    n = tf.shape(images)[0]
    factor = (
        tf.random.stateless_uniform((n,), s_saturation, 1 - augment.saturation, 1 + augment.saturation)
        if augment.saturation
        else tf.ones((n,))
    )
    angle = (
        2 * math.pi * tf.random.stateless_uniform((n,), s_hue, -augment.hue, augment.hue)
        if augment.hue
        else tf.zeros((n,))
    )
    cos, sin = factor * tf.cos(angle), factor * tf.sin(angle)
    one, zero = tf.ones_like(cos), tf.zeros_like(cos)
    middle = tf.stack(
        [tf.stack([one, zero, zero], -1), tf.stack([zero, cos, -sin], -1), tf.stack([zero, sin, cos], -1)], 1
    )
    to_yiq = np.array(_RGB_TO_YIQ, np.float32)
    matrix = tf.constant(np.linalg.inv(to_yiq)) @ middle @ tf.constant(to_yiq)  # (N, 3, 3)
    return tf.einsum("nhwc,ndc->nhwd", images, matrix)

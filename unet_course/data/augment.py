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
        noise: standard deviation of Gaussian noise added to the image.
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
    fill_mode: str = "reflect"

    def __post_init__(self):
        if self.scale is not None:
            if len(self.scale) != 2 or not 0 < self.scale[0] <= self.scale[1]:
                raise ValueError(
                    f"scale must be (low, high) with 0 < low <= high, got {self.scale!r}; e.g. (0.8, 1.25)."
                )
        for name in ("rotation", "elastic_sigma", "brightness", "contrast", "gamma", "noise"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}.")
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
        return bool(self.brightness or self.contrast or self.gamma or self.noise)

    def to_dict(self) -> dict:
        return asdict(self)


#: No change at all.
NONE = Augment(flips=False, rot90=False)


def _seeds(seed, count: int):
    """``count`` independent stateless seeds from one ``(2,)`` int seed tensor."""
    import tensorflow as tf

    return tf.unstack(tf.random.experimental.stateless_split(seed, num=count))


def _affine(stack, angle, zoom, interpolation: str, fill_mode: str):
    """Rotate by ``angle`` (radians) and zoom by ``zoom`` about the centre, one (H, W, C) tensor."""
    import tensorflow as tf

    shape = tf.shape(stack)
    height, width = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    cy, cx = (height - 1) / 2, (width - 1) / 2
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    # output pixel (x, y) samples input ((a0 x + a1 y + a2), (b0 x + b1 y + b2))
    a0, a1, b0, b1 = cos, sin, -sin, cos
    a2 = cx - a0 * cx - a1 * cy
    b2 = cy - b0 * cx - b1 * cy
    transform = tf.stack([a0, a1, a2, b0, b1, b2, 0.0, 0.0])[None]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=stack[None],
        transforms=transform,
        output_shape=shape[:2],
        fill_value=0.0,
        interpolation=interpolation,
        fill_mode=fill_mode.upper(),
    )[0]


def elastic_field(shape, seed, sigma: float = 10.0, grid: int = 3):
    """Per-pixel displacements ``(H, W, 2)`` (dy, dx) in pixels, the paper's way.

    Displacements are drawn on a coarse ``grid`` x ``grid`` grid from a Gaussian with
    ``sigma`` pixels standard deviation and interpolated bicubically to every pixel.
    """
    import tensorflow as tf

    coarse = tf.random.stateless_normal((grid, grid, 2), seed=seed, stddev=sigma)
    return tf.image.resize(coarse[None], shape, method="bicubic")[0]


def warp(stack, field, interpolation: str):
    """Sample ``stack`` (H, W, C) at ``(y + dy, x + dx)``; ``"bilinear"`` or ``"nearest"``.

    Coordinates outside the image are clamped to the border.
    """
    import tensorflow as tf

    shape = tf.shape(stack)
    height, width = shape[0], shape[1]
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    y = tf.clip_by_value(ys + field[..., 0], 0.0, tf.cast(height - 1, tf.float32))
    x = tf.clip_by_value(xs + field[..., 1], 0.0, tf.cast(width - 1, tf.float32))
    if interpolation == "nearest":
        index = tf.stack([tf.cast(tf.round(y), tf.int32), tf.cast(tf.round(x), tf.int32)], axis=-1)
        return tf.gather_nd(stack, index)
    y0, x0 = tf.floor(y), tf.floor(x)
    wy, wx = (y - y0)[..., None], (x - x0)[..., None]
    y0i, x0i = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)
    y1i, x1i = tf.minimum(y0i + 1, height - 1), tf.minimum(x0i + 1, width - 1)

    def at(yi, xi):
        return tf.gather_nd(stack, tf.stack([yi, xi], axis=-1))

    top = at(y0i, x0i) * (1 - wx) + at(y0i, x1i) * wx
    bottom = at(y1i, x0i) * (1 - wx) + at(y1i, x1i) * wx
    return top * (1 - wy) + bottom * wy


def augment_pair(image, mask, augment: Augment, seed, weight=None):
    """Apply one random draw of ``augment`` to ``image`` (H, W, C), ``mask`` (H, W) and ``weight``.

    ``seed`` is a ``(2,)`` integer tensor (stateless random ops): the same seed gives the
    same transform. Returns ``(image, mask)`` or ``(image, mask, weight)``.
    """
    import tensorflow as tf

    image = tf.convert_to_tensor(image, tf.float32)
    mask_dtype = tf.as_dtype(mask.dtype) if hasattr(mask, "dtype") else tf.int32
    channels = image.shape[-1]
    labels = [tf.cast(mask, tf.float32)[..., None]]
    if weight is not None:
        labels.append(tf.cast(weight, tf.float32)[..., None])
    # images and labels travel as one tensor through the geometric steps: one draw, same pixels
    labels = tf.concat(labels, axis=-1)
    s_flip_h, s_flip_v, s_rot, s_angle, s_zoom, s_elastic, s_photo = _seeds(seed, 7)

    def both(fn):
        nonlocal image, labels
        image, labels = fn(image), fn(labels)

    if augment.flips:
        flip_h = tf.random.stateless_uniform((), s_flip_h) < 0.5
        flip_v = tf.random.stateless_uniform((), s_flip_v) < 0.5
        both(lambda t: tf.cond(flip_h, lambda: tf.reverse(t, [1]), lambda: t))
        both(lambda t: tf.cond(flip_v, lambda: tf.reverse(t, [0]), lambda: t))
    if augment.rot90:
        square = image.shape[0] is not None and image.shape[0] == image.shape[1]
        turns = tf.random.stateless_uniform((), s_rot, 0, 4, dtype=tf.int32)
        if not square:  # a 90-degree turn would change the shape of a non-square image
            turns = 2 * (turns // 2)
        both(lambda t: tf.image.rot90(t, turns))
    if augment.rotation or augment.scale:
        limit = math.radians(augment.rotation)
        angle = tf.random.stateless_uniform((), s_angle, -limit, limit) if augment.rotation else tf.constant(0.0)
        if augment.scale:
            low, high = (math.log(v) for v in augment.scale)
            zoom = (
                tf.exp(tf.random.stateless_uniform((), s_zoom, low, high)) if high > low else tf.constant(math.exp(low))
            )
        else:
            zoom = tf.constant(1.0)
        image = _affine(image, angle, zoom, "BILINEAR", augment.fill_mode)
        labels = _affine(labels, angle, zoom, "NEAREST", augment.fill_mode)
    if augment.elastic:
        field = elastic_field(tf.shape(image)[:2], s_elastic, augment.elastic_sigma, augment.elastic_grid)
        image = warp(image, field, "bilinear")
        labels = warp(labels, field, "nearest")
    if augment.photometric():
        image = photometric(image, augment, s_photo)
    image = tf.ensure_shape(image, [None, None, channels])
    mask_out = tf.cast(tf.round(labels[..., 0]), mask_dtype)
    if weight is not None:
        return image, mask_out, labels[..., 1]
    return image, mask_out


def photometric(image, augment: Augment, seed):
    """Brightness, contrast, gamma and noise on the image only; the result is clipped to [0, 1]."""
    import tensorflow as tf

    s_b, s_c, s_g, s_n = _seeds(seed, 4)
    if augment.brightness:
        image = image + tf.random.stateless_uniform((), s_b, -augment.brightness, augment.brightness)
    if augment.contrast:
        mean = tf.reduce_mean(image, axis=[0, 1], keepdims=True)
        factor = tf.random.stateless_uniform((), s_c, 1 - augment.contrast, 1 + augment.contrast)
        image = (image - mean) * factor + mean
    image = tf.clip_by_value(image, 0.0, 1.0)
    if augment.gamma:
        image = image ** tf.exp(tf.random.stateless_uniform((), s_g, -augment.gamma, augment.gamma))
    if augment.noise:
        image = image + tf.random.stateless_normal(tf.shape(image), s_n, stddev=augment.noise)
    return tf.clip_by_value(image, 0.0, 1.0)

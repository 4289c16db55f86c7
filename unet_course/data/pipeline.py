"""The input pipeline: ``tf.data`` from arrays (or folders), random crops, augmentation, batches.

>>> import numpy as np
>>> images = np.random.default_rng(0).random((6, 48, 40, 1), dtype=np.float32)
>>> masks = (images[..., 0] > 0.5).astype("uint8")
>>> ds = make_dataset(images, masks, batch_size=4, crop_size=32, seed=0)
>>> [tuple(t.shape) for t in next(iter(ds))]
[(4, 32, 32, 1), (4, 32, 32)]

What happens, in order: the arrays are put in a ``tf.data.Dataset`` once (and cached),
shuffled each epoch, cropped at random (each image gives a ``crop_size`` square; an image
smaller than the crop is used whole, and then every image must have that size),
batched, augmented a batch at a time (each example its own random draw, the same one for its
image, mask and weight: :func:`~unet_course.data.augment.augment_batch`) and prefetched so the
CPU prepares the next batch while the model trains.

For a valid-padding U-Net (the paper's: 572 in, 388 out), ``output_size`` centre-crops the
mask and the weights of every example *after* augmentation, so that the image keeps its
context (the margin the model's unpadded convolutions use up) and the mask has the size of
the model's output:

>>> ds = make_dataset(images, masks, batch_size=4, crop_size=32, output_size=12, seed=0)
>>> [tuple(t.shape) for t in next(iter(ds))]
[(4, 32, 32, 1), (4, 12, 12)]

``tf.data`` serves every Keras backend: ``model.fit`` accepts the dataset on TensorFlow,
JAX and PyTorch alike.

The overlap-tile geometry of the U-Net paper (the validation set of a valid-padding model,
and :func:`unet_course.inference.predict`) is in :mod:`unet_course.data.tiles`.
"""

from __future__ import annotations

import numpy as np

from unet_course.config import SEED
from unet_course.data.augment import Augment, augment_batch
from unet_course.data.masks import check_label_values


def _as_list(name: str, items, kind: str) -> list[np.ndarray]:
    if isinstance(items, np.ndarray):
        return list(items)
    if isinstance(items, (list, tuple)):
        return [np.asarray(item) for item in items]
    raise ValueError(f"{name} must be a NumPy array or a list of arrays, got {type(items).__name__}. {kind}")


def check_pairs(images, masks, *, num_classes: int | None = None, ignore_index: int | None = None, weights=None):
    """Validate images and masks for training; return them as lists of arrays.

    Images: ``(H, W, C)`` float arrays in [0, 1], every one with the same C. Masks:
    ``(H, W)`` integer class ids in ``0..num_classes-1`` (or ``ignore_index``), one per
    image, of the image's height and width. Each problem gets a ``ValueError`` that names
    the image and says what to do.
    """
    images = _as_list("images", images, "Pass (N, H, W, C) images in [0, 1].")
    masks = _as_list("masks", masks, "Pass (N, H, W) masks of class ids.")
    if not images:
        raise ValueError("images is empty: pass at least one image and its mask.")
    if len(images) != len(masks):
        raise ValueError(f"There are {len(images)} images but {len(masks)} masks; give exactly one mask per image.")
    channels = None
    for index, (image, mask) in enumerate(zip(images, masks)):
        if image.ndim != 3:
            raise ValueError(
                f"Image {index} has shape {image.shape}; each image must be (height, width, channels). "
                "Add a channel axis to grey images: image[..., None]."
            )
        if channels is None:
            channels = image.shape[-1]
        elif image.shape[-1] != channels:
            raise ValueError(
                f"Image {index} has {image.shape[-1]} channels but image 0 has {channels}; "
                "convert all to grey or all to RGB."
            )
        if mask.ndim == 3 and mask.shape[-1] == 1:
            masks[index] = mask = mask[..., 0]
        if mask.ndim != 2:
            raise ValueError(
                f"Mask {index} has shape {mask.shape}; a mask must be (height, width) class ids, not one-hot."
            )
        if mask.shape != image.shape[:2]:
            raise ValueError(
                f"Image {index} is {image.shape[:2]} but its mask is {mask.shape}; "
                "they must have the same height and width."
            )
        if not np.issubdtype(mask.dtype, np.integer):
            if not np.all(np.mod(mask, 1) == 0):
                raise ValueError(
                    f"Mask {index} holds non-integer values (e.g. {mask.ravel()[np.mod(mask.ravel(), 1) != 0][0]}); "
                    "masks hold class ids."
                )
        if image.dtype.kind == "f" and (np.nanmax(image) > 1.0 + 1e-6 or np.nanmin(image) < -1e-6):
            raise ValueError(
                f"Image {index} has values in [{image.min():.3g}, {image.max():.3g}]; "
                "scale images to [0, 1] (divide 8-bit images by 255)."
            )
    if num_classes is not None:
        check_label_values(masks, num_classes, ignore_index)
    if weights is not None:
        weights = _as_list("weights", weights, "Pass (N, H, W) per-pixel weights.")
        if len(weights) != len(masks) or any(w.shape != m.shape for w, m in zip(weights, masks)):
            raise ValueError("weights must be one (H, W) array per mask, of the mask's shape.")
    return images, masks, weights


def _crop_size(sizes, crop_size) -> tuple[int, int] | None:
    """The crop each element gets: ``crop_size`` square, or the common size of smaller images."""
    if crop_size is None:
        if len(set(sizes)) > 1:
            raise ValueError(
                f"The images have different sizes ({sorted(set(sizes))[:4]}...); give crop_size so that every "
                "training example has the same size, e.g. crop_size=128."
            )
        return None
    crop = int(crop_size)
    if crop < 1:
        raise ValueError(f"crop_size must be a positive number of pixels, got {crop_size!r}.")
    small = [s for s in sizes if s[0] < crop or s[1] < crop]
    if small:
        if len(set(sizes)) > 1:
            raise ValueError(
                f"Some images ({sorted(set(small))[:3]}) are smaller than crop_size={crop} and the sizes differ; "
                f"use crop_size <= {min(min(s) for s in sizes)}."
            )
        return None  # every image smaller than the crop: whole images
    return crop, crop


def _output_size(output_size, crop) -> tuple[int, int] | None:
    """``output_size`` as (height, width), checked against the crop (or the common image size)."""
    if output_size is None:
        return None
    pair = (output_size, output_size) if isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in pair):
        raise ValueError(
            f"output_size must be a positive int or (height, width), got {output_size!r}; "
            "e.g. 388 for the paper's 572 crops."
        )
    pair = (int(pair[0]), int(pair[1]))
    if crop is None:
        raise ValueError(
            "output_size needs examples of one size to centre-crop the masks in: "
            "give crop_size (the model's input size)."
        )
    for label, inner, outer in zip(("height", "width"), pair, crop):
        if inner > outer or (outer - inner) % 2:
            raise ValueError(
                f"output_size {label} {inner} must be at most the crop {label} {outer}, smaller by an even number of "
                "pixels (the same margin on both sides): use the input and output sizes of a valid-padding U-Net, "
                "e.g. crop_size=572, output_size=388."
            )
    return pair


def make_dataset(
    images, masks, *, num_classes: int | None = None, ignore_index: int | None = None, weights=None, **options
):
    """A ``tf.data.Dataset`` of ``(images, masks)`` batches (``(images, masks, weights)`` with weights).

    The data are checked (:func:`check_pairs`); every option but ``num_classes``, ``ignore_index``
    and ``weights`` goes on to :func:`dataset_of_checked_pairs` (its defaults in brackets below).

    Args:
        images: float32 ``(N, H, W, C)`` in [0, 1], or a list of ``(H, W, C)`` of any sizes.
        masks: integer class ids ``(N, H, W)``, or a list of ``(H, W)``.
        batch_size: examples per batch (8).
        crop_size: side of the random square crops; ``None`` (the default) keeps whole images
            (they must then share one size). Images smaller than the crop are used whole.
        augment: an :class:`~unet_course.data.augment.Augment`, or ``None`` for none (the default).
        shuffle: reshuffle the examples each epoch (``True``).
        repeat: repeat forever (then give ``steps_per_epoch`` to ``fit``) (``False``).
        seed: seeds shuffling, crops and augmentation: the same seed, the same batches (``SEED``).
        num_classes, ignore_index: checked against the mask values when given; the ignore
            value travels through the pipeline unchanged.
        weights: optional per-pixel weights (e.g. :func:`~unet_course.data.weight_map.unet_weight_map`),
            cropped and transformed with the mask; ``fit`` uses them as ``sample_weight``.
        cache: keep the decoded arrays in memory after the first epoch (``True``).
        drop_remainder: drop a last, smaller batch (``False``).
        output_size: for a model whose output is smaller than its input (``padding="valid"``):
            an int or ``(height, width)``; the mask (and weights) of each example are
            centre-cropped to it after cropping and augmentation, the image is not. The
            difference from the crop must be even (the same margin on both sides).
    """
    images, masks, weights = check_pairs(
        images, masks, num_classes=num_classes, ignore_index=ignore_index, weights=weights
    )
    return dataset_of_checked_pairs(images, masks, weights=weights, **options)


def dataset_of_checked_pairs(
    images: list,
    masks: list,
    *,
    weights: list | None = None,
    batch_size: int = 8,
    crop_size: int | None = None,
    augment: Augment | None = None,
    shuffle: bool = True,
    repeat: bool = False,
    seed: int = SEED,
    cache: bool = True,
    drop_remainder: bool = False,
    output_size=None,
):
    """:func:`make_dataset` of the lists :func:`check_pairs` returned (not checked again); the options and
    their defaults are :func:`make_dataset`'s."""
    import tensorflow as tf

    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    if augment is not None and not isinstance(augment, Augment):
        raise ValueError(f"augment must be an Augment(...) or None, got {type(augment).__name__}.")
    sizes = [m.shape for m in masks]
    crop = _crop_size(sizes, crop_size)
    label_size = _output_size(output_size, crop if crop is not None else (sizes[0] if len(set(sizes)) == 1 else None))
    channels = images[0].shape[-1]
    same_size = len(set(sizes)) == 1
    has_weights = weights is not None

    # image, mask (and weights) of an example travel as one float32 array, stacked on the
    # channel axis once here, so that one crop cuts all of them at the same place
    def to_element(i):
        parts = [images[i].astype(np.float32), masks[i].astype(np.float32)[..., None]]
        if has_weights:
            parts.append(weights[i].astype(np.float32)[..., None])
        return np.concatenate(parts, axis=-1)

    depth = channels + 1 + has_weights
    if same_size:
        ds = tf.data.Dataset.from_tensor_slices(np.stack([to_element(i) for i in range(len(images))]))
    else:
        ds = tf.data.Dataset.from_generator(
            lambda: (to_element(i) for i in range(len(images))),
            output_signature=tf.TensorSpec((None, None, depth), tf.float32),
        )
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if crop is not None:  # one random crop per example, with a new seed at every pass
        crops = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, crops)).map(
            lambda stack, draw: tf.image.stateless_random_crop(
                stack, (crop[0], crop[1], depth), seed=tf.cast(draw, tf.int64)
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    # augmentation works on whole batches (augment_batch: every example its own draw), one
    # seed per batch from a second stream, so the crops and the transforms are independent
    draws = tf.data.Dataset.random(seed=seed + 1, rerandomize_each_iteration=True).batch(2)
    ds = tf.data.Dataset.zip((ds, draws))

    def prepare(stack, draw):
        image = stack[..., :channels]
        mask = tf.cast(tf.round(stack[..., channels]), tf.int32)
        weight = stack[..., channels + 1] if has_weights else None
        if augment is not None and not augment.is_identity():
            out = augment_batch(image, mask, augment, tf.cast(draw, tf.int64), weights=weight)
            image, mask = out[0], out[1]
            weight = out[2] if has_weights else None
        if label_size is not None:  # valid padding: the mask of the model's output, centred in the image
            top = (tf.shape(mask)[1] - label_size[0]) // 2
            left = (tf.shape(mask)[2] - label_size[1]) // 2
            window = [None, *label_size]
            mask = tf.ensure_shape(mask[:, top : top + label_size[0], left : left + label_size[1]], window)
            if has_weights:
                weight = tf.ensure_shape(weight[:, top : top + label_size[0], left : left + label_size[1]], window)
        image = tf.ensure_shape(image, [None, crop[0] if crop else None, crop[1] if crop else None, channels])
        return (image, mask, weight) if has_weights else (image, mask)

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def steps_per_epoch(sizes, crop_size: int | None, batch_size: int) -> int:
    """Steps for one epoch that covers the training pixels once on average.

    With random crops, "one pass over the data" has no natural end: an epoch here is as
    many crops as it takes to cover every image's area once (at least one step).

    >>> steps_per_epoch([(512, 512)] * 25, 128, 8)
    50
    """
    if crop_size is None:
        crops = len(sizes)
    else:
        crops = sum(max(1, round(h * w / crop_size**2)) for h, w in sizes)
    return max(1, -(-crops // batch_size))

"""Oversampling the training images that hold rare classes.

On street scenes a few classes (CamVid's pole, sign, pedestrian, bicyclist) cover about 1% of
the pixels or less, and most frames hold little of them. Besides weighting the loss, a
classic remedy is to *show* them more often: repeat, in the training list, the images that
contain a rare class, so that random crops meet it more often (the "repeat factor sampling"
of LVIS, Gupta et al. 2019, works per image the same way; mmsegmentation's
``RandomCrop(cat_max_ratio=...)`` re-draws crops dominated by one class).

:func:`oversampling_indices` says which images to repeat and how often; :func:`oversample`
applies it to the images and masks, which then go to ``train_segmenter`` as they are.

>>> masks = [np.zeros((4, 4), np.uint8), np.full((4, 4), 2, np.uint8)]
>>> oversampling_indices(masks, classes=[2], factor=3).tolist()
[0, 1, 1, 1]
"""

from __future__ import annotations

import numpy as np

from unet_course._validation import check_positive_int


def _mask_list(masks) -> list[np.ndarray]:
    if isinstance(masks, np.ndarray) and masks.ndim == 2:
        raise ValueError(
            f"masks must be several masks (a list, or an array (N, H, W)), got one mask of shape {masks.shape}."
        )
    masks = [np.asarray(mask) for mask in masks]
    if not masks:
        raise ValueError("masks is empty: give the training masks.")
    for i, mask in enumerate(masks):
        if mask.ndim != 2:
            raise ValueError(f"Mask {i} has shape {mask.shape}; each mask must be (H, W) of class ids.")
    return masks


def rare_class_shares(masks, classes, ignore_index: int | None = None) -> np.ndarray:
    """Each image's share of labelled pixels that belong to any of ``classes`` (``ignore_index`` left out).

    >>> rare_class_shares([np.array([[0, 2], [2, 11]])], classes=[2], ignore_index=11).round(3).tolist()
    [0.667]
    """
    masks = _mask_list(masks)
    classes = np.asarray(list(classes))
    if classes.size == 0:
        raise ValueError("classes is empty: name the class ids to oversample, e.g. classes=[2, 6, 9, 10].")
    shares = []
    for mask in masks:
        labelled = mask != ignore_index if ignore_index is not None else np.ones(mask.shape, bool)
        count = int(labelled.sum())
        shares.append(np.isin(mask, classes).sum() / count if count else 0.0)
    return np.asarray(shares, dtype=np.float64)


def oversampling_indices(
    masks, classes, *, factor: int = 2, min_share: float = 0.0, ignore_index: int | None = None
) -> np.ndarray:
    """Indices of the training images with the rare-class images repeated ``factor`` times.

    Every image appears once, in order; an image whose share of ``classes`` (among its
    labelled pixels, see :func:`rare_class_shares`) is above ``min_share`` appears ``factor``
    times in all (its copies follow it). ``factor=1`` returns every index once.
    """
    factor = check_positive_int("factor", factor)
    if not (isinstance(min_share, (int, float)) and 0 <= min_share < 1):
        raise ValueError(f"min_share must be a fraction in [0, 1), got {min_share!r}.")
    shares = rare_class_shares(masks, classes, ignore_index)
    repeats = np.where(shares > min_share, factor, 1)
    return np.repeat(np.arange(len(shares)), repeats)


def oversample(images, masks, classes, *, factor: int = 2, min_share: float = 0.0, ignore_index: int | None = None):
    """``(images, masks)`` with the images that hold ``classes`` repeated (:func:`oversampling_indices`).

    Arrays stay arrays (``images[indices]``); lists stay lists.
    """
    indices = oversampling_indices(masks, classes, factor=factor, min_share=min_share, ignore_index=ignore_index)
    if len(images) != len(masks):
        raise ValueError(f"Got {len(images)} images but {len(masks)} masks; give one mask per image.")
    if isinstance(images, np.ndarray) and isinstance(masks, np.ndarray):
        return images[indices], masks[indices]
    return [images[i] for i in indices], [masks[i] for i in indices]

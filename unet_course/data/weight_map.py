"""The U-Net paper's weight map (Ronneberger et al. 2015, equation 2).

    w(x) = w_c(x) + w0 * exp(-(d1(x) + d2(x))**2 / (2 * sigma**2))

``w_c`` balances the class frequencies; ``d1`` and ``d2`` are the distances from pixel
``x`` to the nearest and the second-nearest object (a connected component of the
foreground, e.g. a cell). The second term is large on the thin background gaps between
two touching objects, so the network is pushed to keep them apart. The paper uses
``w0 = 10`` and ``sigma`` of about 5 pixels.

A hand-worked example: one row, two "cells" (1) separated by a gap of three pixels (0).
Every gap pixel is at distances adding up to 4 from the two cells, so it gets
``w_c + 10 * exp(-16 / 50)`` = ``w_c + 7.26``; with balanced class weights, the
background (3 pixels) gets ``w_c = 4/3`` and the cells (4 pixels) ``w_c = 1``:

>>> import numpy as np
>>> mask = np.array([[1, 1, 0, 0, 0, 1, 1]])
>>> unet_weight_map(mask).round(2)
array([[1.  , 1.  , 8.59, 8.59, 8.59, 1.  , 1.  ]], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from unet_course.data.masks import class_counts


def class_balance_weights(mask, num_classes: int | None = None, ignore_index: int | None = None) -> np.ndarray:
    """Per-class weights ``max_count / count_c`` (the most frequent class gets 1; absent classes 0)."""
    mask = np.asarray(mask)
    if num_classes is None:
        valid = mask[mask != ignore_index] if ignore_index is not None else mask.ravel()
        num_classes = int(valid.max() + 1 if valid.size else 1)
    counts = class_counts(mask, int(num_classes), ignore_index).astype(np.float64)
    weights = np.zeros(num_classes)
    present = counts > 0
    weights[present] = counts.max() / counts[present]
    return weights


def border_term(objects, w0: float = 10.0, sigma: float = 5.0, tolerance: float = 1e-6) -> np.ndarray:
    """``w0 * exp(-(d1 + d2)**2 / (2 sigma**2))`` for every pixel, from a boolean object mask.

    Objects are the 4-connected components of ``objects``; with fewer than two objects
    the term is 0 everywhere (there is no second-nearest object).

    Each object's distances are computed in a window around it only: beyond
    ``reach = sigma * sqrt(2 ln(1 / tolerance))`` pixels from an object, any pair of
    distances that includes it sums to more than ``reach`` and the term is below
    ``tolerance * w0``, so it is set to 0 there. An ISBI slice (about 200 cells) takes a
    fraction of a second instead of a second and a half.
    """
    from scipy import ndimage

    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be between 0 and 1 (a fraction of w0), got {tolerance!r}.")
    objects = np.asarray(objects, dtype=bool)
    labels, count = ndimage.label(objects)
    if count < 2:
        return np.zeros(objects.shape, dtype=np.float32)
    reach = sigma * np.sqrt(2.0 * np.log(1.0 / tolerance))
    margin = int(np.ceil(reach)) + 1
    nearest = np.full(objects.shape, np.inf)
    second = np.full(objects.shape, np.inf)
    height, width = objects.shape
    for index, box in enumerate(ndimage.find_objects(labels), start=1):
        rows = slice(max(box[0].start - margin, 0), min(box[0].stop + margin, height))
        cols = slice(max(box[1].start - margin, 0), min(box[1].stop + margin, width))
        distance = ndimage.distance_transform_edt(labels[rows, cols] != index)
        distance[distance > reach] = np.inf  # too far to matter (see above)
        near, sec = nearest[rows, cols], second[rows, cols]
        closer = distance < near
        second[rows, cols] = np.where(closer, near, np.minimum(sec, distance))
        nearest[rows, cols] = np.where(closer, distance, near)
    total = nearest + second
    return np.where(total <= reach, w0 * np.exp(-(np.minimum(total, reach) ** 2) / (2.0 * sigma**2)), 0.0).astype(
        np.float32
    )


def unet_weight_map(
    mask,
    *,
    w0: float = 10.0,
    sigma: float = 5.0,
    foreground: int = 1,
    class_weights="balanced",
    num_classes: int | None = None,
    ignore_index: int | None = None,
) -> np.ndarray:
    """The paper's per-pixel loss weights for one mask ``(H, W)`` of class ids.

    Args:
        mask: class ids; the objects are the connected components of ``mask == foreground``
            (ISBI 2012 in this course: class 1, cell; the gaps are membrane, class 0).
        w0, sigma: the border term's height and width in pixels (the paper: 10 and ~5).
        class_weights: ``"balanced"`` (:func:`class_balance_weights` of this mask), a
            sequence of one weight per class, or ``None`` (1 everywhere).
        ignore_index: pixels with this value get weight 0.

    The border term is added on background pixels only (the gaps between objects), as
    in the paper's figure 3d; inside an object ``d1`` is 0 and the term would only blur
    the object's own edge.
    """
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be (height, width) class ids, got shape {mask.shape}; pass one mask at a time.")
    if w0 < 0 or sigma <= 0:
        raise ValueError(f"w0 must be >= 0 and sigma > 0, got w0={w0!r}, sigma={sigma!r} (the paper: 10 and 5).")
    ids = (
        np.where(mask == ignore_index, 0, mask).astype(np.int64) if ignore_index is not None else mask.astype(np.int64)
    )
    if class_weights is None:
        weights = np.ones(mask.shape, dtype=np.float32)
    else:
        per_class = (
            class_balance_weights(mask, num_classes, ignore_index)
            if isinstance(class_weights, str) and class_weights == "balanced"
            else np.asarray(class_weights, dtype=np.float64)
        )
        if isinstance(class_weights, str) and class_weights != "balanced":
            raise ValueError(f"class_weights must be 'balanced', a list of weights or None, got {class_weights!r}.")
        if ids.max() >= len(per_class):
            raise ValueError(
                f"The mask holds class {int(ids.max())} but class_weights has {len(per_class)} entries; "
                "give one per class."
            )
        weights = per_class[ids].astype(np.float32)
    objects = mask == foreground
    weights = weights + np.where(objects, 0.0, border_term(objects, w0, sigma))
    if ignore_index is not None:
        weights = np.where(mask == ignore_index, 0.0, weights)
    return weights.astype(np.float32)

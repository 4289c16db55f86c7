"""Evaluation near object boundaries: the boundary band and boundary IoU.

Plain IoU counts every pixel of an object, and most pixels of a large object are far from
its edge, so a blurry outline costs little. **Boundary IoU** counts only the pixels in a
thin *band* around the true object boundaries, where a blurry outline is all there is.

Definitions used here (NumPy only):

- The **boundary band** of width ``w`` of a class-id mask holds every pixel whose
  ``(2w + 1) x (2w + 1)`` neighbourhood (clipped at the image border) contains more than
  one class. With ``w = 1`` that is the pixels on both sides of every edge between two
  classes; each extra unit of width adds one pixel on each side.
- **Boundary IoU** is the IoU of the prediction restricted to the band of the *true*
  mask: ``IoU(y_true[band], y_pred[band])``, binary or the mean over the foreground
  classes ``1 .. num_classes - 1``. Cheng et al. (2021, "Boundary IoU") use the bands of
  both masks; the band of the true mask alone is simpler and enough to compare models on
  the same images, but a false blob far from every true edge costs nothing here (plain IoU
  still counts it), so report it next to plain IoU.

Both accept one mask ``(H, W)`` or a batch ``(N, H, W)``; a batch is pooled (intersections
and unions summed over all its images), like :func:`unet_course.metrics.per_class_iou`.
"""

from __future__ import annotations

import numpy as np

from unet_course._validation import as_mask_array, check_binary, check_class_ids, check_positive_int, check_same_shape
from unet_course.metrics import EMPTY_SCORE, iou, per_class_iou


def _check_mask_batch(name: str, mask) -> np.ndarray:
    mask = as_mask_array(name, mask)
    if mask.ndim not in (2, 3):
        hint = " If the last axis holds class probabilities, take argmax over it first." if mask.ndim == 4 else ""
        raise ValueError(
            f"{name} must be one mask (height, width) or a batch (batch, height, width), got shape {mask.shape}.{hint}"
        )
    return mask


def _window_extreme(mask: np.ndarray, width: int, reduce) -> np.ndarray:
    """Max (or min) over a (2w+1)x(2w+1) window, by shifting: edge pixels repeated at the border."""
    out = mask
    for axis in (-2, -1):  # the square window is separable: rows, then columns
        size = out.shape[axis]
        pad = [(0, 0)] * out.ndim
        pad[axis] = (width, width)
        padded = np.pad(out, pad, mode="edge")
        shifted = [np.take(padded, np.arange(shift, shift + size), axis=axis) for shift in range(2 * width + 1)]
        out = reduce(shifted, axis=0)
    return out


def boundary_band(mask, width: int = 2) -> np.ndarray:
    """Boolean array, True for pixels within ``width`` pixels of a boundary between classes.

    A pixel is in the band when its ``(2*width+1) x (2*width+1)`` neighbourhood, clipped at
    the image border, holds more than one class id. The image border itself is not a
    boundary. ``mask`` is ``(H, W)`` or a batch ``(N, H, W)`` of class ids (or 0/1).

    >>> mask = np.zeros((6, 6), int); mask[2:4, 2:4] = 1
    >>> boundary_band(mask, 1).sum()  # the 2x2 square and the ring of 12 pixels around it
    np.int64(16)
    """
    mask = _check_mask_batch("mask", mask)
    width = check_positive_int("width", width)
    mask = mask.astype(np.int64)
    return _window_extreme(mask, width, np.max) != _window_extreme(mask, width, np.min)


def boundary_iou(y_true, y_pred, width: int = 2, num_classes: int | None = None) -> float:
    """IoU restricted to the boundary band (of ``width`` pixels) of the true mask.

    Args:
        y_true, y_pred: masks of the same shape, ``(H, W)`` or a batch ``(N, H, W)``
            (a batch is pooled over its images).
        width: the band's half-width in pixels (1 = the pixels touching an edge).
        num_classes: ``None`` for binary 0/1 masks (the IoU of the foreground); otherwise
            the masks hold class ids ``0 .. num_classes - 1`` and the result is the mean
            boundary IoU over the foreground classes ``1 .. num_classes - 1``.

    When the true mask has no boundary at all (one class everywhere), the band is empty:
    there is nothing to measure and the result is ``EMPTY_SCORE`` (1.0).
    """
    y_true = _check_mask_batch("y_true", y_true)
    y_pred = _check_mask_batch("y_pred", y_pred)
    check_same_shape(y_true, y_pred)
    if num_classes is None:
        check_binary("y_true", y_true)
        check_binary("y_pred", y_pred)
    else:
        num_classes = check_positive_int("num_classes", num_classes, minimum=2)
        check_class_ids("y_true", y_true, num_classes)
        check_class_ids("y_pred", y_pred, num_classes)
    band = boundary_band(y_true, width)
    if not band.any():
        return EMPTY_SCORE
    if num_classes is None:
        return iou(y_true[band], y_pred[band])
    return float(np.mean(per_class_iou(y_true[band], y_pred[band], num_classes)[1:]))


def foreground_iou(y_true, y_pred, num_classes: int) -> float:
    """Mean IoU over the foreground classes ``1 .. num_classes - 1``, pooled over all pixels."""
    num_classes = check_positive_int("num_classes", num_classes, minimum=2)
    return float(np.mean(per_class_iou(y_true, y_pred, num_classes)[1:]))


def evaluate_variants(models: dict, images, masks, *, width: int = 2, batch_size: int = 32) -> list[dict]:
    """Compare segmentation models on the same images: one row per model.

    ``models`` maps a name to a Keras model with a softmax output over ``num_classes``
    classes. Each row holds the name, the parameter count, the foreground IoU and the
    boundary IoU (band ``width``), and the predicted class ids (``"predictions"``).
    """
    if not isinstance(models, dict) or not models:
        raise ValueError(f"models must be a non-empty dict of name -> keras.Model, got {type(models).__name__}.")
    masks = _check_mask_batch("masks", masks)
    if masks.ndim != 3 or len(images) != len(masks):
        raise ValueError(
            f"Give a batch of images and one mask per image; got {len(images)} images and masks of shape {masks.shape}."
        )
    rows = []
    for name, model in models.items():
        probabilities = np.asarray(model.predict(images, batch_size=batch_size, verbose=0))
        num_classes = probabilities.shape[-1]
        if num_classes < 2:
            raise ValueError(
                f"Model {name!r} has {num_classes} output channel; "
                "evaluate_variants expects a softmax over 2 or more classes."
            )
        predictions = probabilities.argmax(-1)
        rows.append(
            {
                "name": name,
                "parameters": int(model.count_params()),
                "iou": foreground_iou(masks, predictions, num_classes),
                "boundary_iou": boundary_iou(masks, predictions, width, num_classes),
                "predictions": predictions,
            }
        )
    return rows

"""Mask helpers: class ids <-> one-hot, the check of a mask's values, bounding boxes and instances.

A *class-id mask* has one whole number per pixel, shape ``(H, W)`` (or ``(N, H, W)`` for a
batch). Its *one-hot* form adds a last axis with one channel per class, ``(H, W, C)``:
channel ``k`` is 1 where the pixel belongs to class ``k`` and 0 elsewhere.

Instances are found with connected components (4-connectivity) of each class: two
touching shapes of the same class therefore count as one instance. Real instance
segmentation data sets store instance ids for exactly this reason.
"""

from __future__ import annotations

import numpy as np

from unet_course._validation import as_mask_array, check_class_ids, check_positive_int

__all__ = [
    "to_one_hot",
    "to_class_ids",
    "class_counts",
    "check_label_values",
    "bounding_box",
    "label_components",
    "instances",
]


def to_one_hot(mask, num_classes: int) -> np.ndarray:
    """One-hot encode a class-id mask: ``(..., H, W)`` -> ``(..., H, W, num_classes)`` float32.

    >>> to_one_hot([[0, 2]], 3)
    array([[[1., 0., 0.],
            [0., 0., 1.]]], dtype=float32)
    """
    num_classes = check_positive_int("num_classes", num_classes)
    mask = check_class_ids("mask", as_mask_array("mask", mask), num_classes)
    return np.eye(num_classes, dtype=np.float32)[mask]


def to_class_ids(one_hot, *, threshold: float | None = None) -> np.ndarray:
    """Class ids from one-hot masks or predicted probabilities: the course's one way to do it.

    ``(..., C)`` -> ``(...)``: argmax over the last axis when ``C > 1``. A single channel
    ``(..., 1)`` is a sigmoid (binary) output: pass ``threshold`` (e.g. 0.5) and get
    ``probabilities[..., 0] > threshold`` as ids 0/1. Returns uint8 when there are at most
    256 classes (like the course's masks), else int32.

    >>> to_class_ids([[0.1, 0.7, 0.2], [0.8, 0.1, 0.1]])
    array([1, 0], dtype=uint8)
    >>> to_class_ids([[0.2], [0.9]], threshold=0.5)
    array([0, 1], dtype=uint8)
    """
    array = np.asarray(one_hot)
    if array.ndim < 1 or array.size == 0:
        raise ValueError(f"one_hot must have a last axis of classes, got shape {array.shape}.")
    if array.shape[-1] == 1:
        if threshold is None:
            raise ValueError(
                "one_hot has a single channel (shape ending in 1): that is a sigmoid (binary) output. "
                "Threshold it instead: to_class_ids(probabilities, threshold=0.5)."
            )
        return (array[..., 0] > float(threshold)).astype(np.uint8)
    ids = np.argmax(array, axis=-1)
    return ids.astype(np.uint8 if array.shape[-1] <= 256 else np.int32)


def class_counts(masks, num_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """Pixels of each class ``0..num_classes-1`` in one mask or a list of masks of any sizes.

    ``ignore_index`` pixels are not counted; values ``>= num_classes`` are not either.

    >>> class_counts([[[0, 1, 1]], [[1, 255]]], 3, ignore_index=255)
    array([1, 3, 0])
    """
    masks = [masks] if isinstance(masks, np.ndarray) else masks
    counts = np.zeros(num_classes, dtype=np.int64)
    for mask in masks:
        values = np.asarray(mask).ravel()
        if ignore_index is not None:
            values = values[values != ignore_index]
        counts += np.bincount(values.astype(np.int64), minlength=num_classes)[:num_classes]
    return counts


def check_label_values(
    masks, num_classes: int, ignore_index: int | None = None, *, names=None, hint: str = ""
) -> list[set]:
    """Every mask holds class ids ``0 .. num_classes - 1`` (or ``ignore_index``): the package's one check.

    Otherwise a ``ValueError`` lists the values outside the classes and the masks that hold
    them (``names``, e.g. file names; by default ``mask 0``, ``mask 1``, ...), then ``hint``.
    Returns the set of values of each mask.

    >>> check_label_values([np.array([[0, 3]])], 3)
    Traceback (most recent call last):
    ...
    ValueError: mask values outside the classes 0..2: 3 in mask 0. Check num_classes, give ignore_index ...
    """
    names = [f"mask {i}" for i in range(len(masks))] if names is None else list(names)
    allowed = set(range(num_classes)) | ({int(ignore_index)} if ignore_index is not None else set())
    values = [set(np.unique(m).tolist()) for m in masks]
    bad = sorted(set().union(*values) - allowed)
    if bad:
        where = "; ".join(f"{v} in {_listed([n for n, vs in zip(names, values) if v in vs])}" for v in bad[:5])
        classes = f"0..{num_classes - 1}" + (
            f" and the ignore value {ignore_index}" if ignore_index is not None else ""
        )
        hint = hint or "Check num_classes, give ignore_index for a void label, or remap the mask values."
        raise ValueError(f"mask values outside the classes {classes}: {where}{' ...' if len(bad) > 5 else ''}. {hint}")
    return values


def _listed(items, limit: int = 3) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(str(i) for i in items[:limit]) + more


def bounding_box(mask, class_id: int):
    """The box around every pixel of ``class_id``: ``(top, left, bottom, right)``, or None.

    ``bottom`` and ``right`` are exclusive, as in Python slices, so
    ``mask[top:bottom, left:right]`` holds every pixel of the class. ``None`` when the class
    does not occur in the mask.
    """
    mask = as_mask_array("mask", mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be one (H, W) mask, got shape {mask.shape}; pass masks[i] for a batch.")
    rows, cols = np.nonzero(mask == class_id)
    if rows.size == 0:
        return None
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def label_components(binary) -> tuple[np.ndarray, int]:
    """Connected components (4-connectivity) of a boolean ``(H, W)`` array.

    Returns ``(labels, count)``: labels 1..count for the components, 0 elsewhere, numbered
    in the order of their first pixel (row by row). Every pixel starts with its own label and
    repeatedly takes the smallest label among itself and its 4 neighbours inside the
    component, until nothing changes: a flood fill done in NumPy.
    """
    binary = np.asarray(binary)
    if binary.ndim != 2:
        raise ValueError(f"binary must be a 2-D (H, W) array, got shape {binary.shape}.")
    binary = binary.astype(bool)
    height, width = binary.shape
    big = height * width
    labels = np.where(binary, np.arange(big).reshape(height, width), big)
    while True:
        padded = np.pad(labels, 1, constant_values=big)
        neighbours = np.minimum.reduce(
            [padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:], labels]
        )
        new = np.where(binary, neighbours, big)
        if np.array_equal(new, labels):
            break
        labels = new
    roots, consecutive = np.unique(labels, return_inverse=True)
    consecutive = consecutive.reshape(height, width)
    count = int(np.sum(roots < big))
    return np.where(binary, consecutive + 1, 0).astype(np.int32), count


def instances(mask, background: int = 0):
    """Instances of a class-id mask: connected components of each class except background.

    Returns ``(instance_ids, classes)``: ``instance_ids`` is an int32 ``(H, W)`` array with
    0 for background and 1..N for the instances, and ``classes[i - 1]`` is the class id of
    instance ``i``. Instances are numbered class by class, then row by row.
    """
    mask = as_mask_array("mask", mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be one (H, W) mask, got shape {mask.shape}; pass masks[i] for a batch.")
    instance_ids = np.zeros(mask.shape, dtype=np.int32)
    classes: list[int] = []
    for class_id in np.unique(mask):
        if class_id == background:
            continue
        labels, count = label_components(mask == class_id)
        instance_ids[labels > 0] = labels[labels > 0] + len(classes)
        classes.extend([int(class_id)] * count)
    return instance_ids, classes

"""Argument checks shared by the package: each failure is a ``ValueError`` that names the
value it got and says what to do instead."""

from __future__ import annotations

import difflib

import numpy as np


def check_choice(name: str, value, choices) -> str:
    """``value`` must be one of ``choices``; suggest the closest one otherwise."""
    if value in choices:
        return value
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    maybe = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"{name}={value!r} is not an option; use one of {', '.join(map(repr, choices))}.{maybe}")


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be a whole number, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def check_fraction(name: str, value) -> float:
    """``value`` must be a number in (0, 1] (not a bool): a share of something that cannot be empty."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not 0 < value <= 1:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}: e.g. 0.2 for a fifth, 1.0 for all.")
    return float(value)


def check_positive_number(name: str, value, *, unit: str = "", example: str = "") -> float:
    """``value`` must be a number above 0 (not a bool); ``unit`` names what it counts (e.g. ``"seconds"``),
    ``example`` shows a right value (e.g. ``"time_budget=60 for a minute"``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not value > 0:
        of = f" of {unit}" if unit else ""
        hint = f": e.g. {example}." if example else "."
        raise ValueError(f"{name} must be a positive number{of}, got {value!r}{hint}")
    return float(value)


def check_num_classes(num_classes) -> int:
    """``num_classes`` must be a whole number of at least 2 (a binary task has 2 classes)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(
            f"num_classes must be an integer >= 2, got {num_classes!r}: a binary task has 2 classes "
            "(background and foreground), predicted by a softmax over 2 channels."
        )
    return int(num_classes)


def as_mask_array(name: str, mask) -> np.ndarray:
    """A mask as a NumPy integer (or bool) array, refusing floats that are not whole numbers."""
    try:
        array = np.asarray(mask)
    except Exception as error:  # pragma: no cover - exotic inputs
        raise ValueError(f"{name} could not be read as an array: {error}") from None
    if array.dtype == object:
        raise ValueError(f"{name} must be a numeric array, got an array of Python objects (ragged lists?).")
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); pass at least one pixel.")
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValueError(
                f"{name} holds fractional values (e.g. "
                f"{array.ravel()[~(array.ravel() == np.round(array.ravel()))][:3]}); "
                "masks hold class ids or 0/1. Threshold probabilities first (probabilities > 0.5) "
                "or take the argmax over the class axis."
            )
        array = array.astype(np.int64)
    return array


def check_same_shape(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if y_true.shape != y_pred.shape:
        hint = ""
        if y_pred.ndim == y_true.ndim + 1:
            hint = " y_pred has one more axis: if it holds class probabilities, take argmax over the last axis first."
        elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
            hint = " y_true has a trailing axis of size 1: squeeze it (mask[..., 0])."
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; they must match.{hint}")


def check_binary(name: str, mask: np.ndarray) -> np.ndarray:
    values = np.unique(mask)
    if not np.all(np.isin(values, [0, 1])):
        raise ValueError(
            f"{name} must be binary (0/1 or True/False), but it holds the values {values[:6].tolist()}. "
            "For a mask with several classes use per_class_iou/mean_iou, or compare one class: (mask == k)."
        )
    return mask.astype(bool)


def check_class_ids(name: str, mask: np.ndarray, num_classes: int) -> np.ndarray:
    low, high = int(mask.min()), int(mask.max())
    if low < 0 or high >= num_classes:
        bad = low if low < 0 else high
        raise ValueError(
            f"{name} holds the class id {bad}, outside 0..{num_classes - 1} for num_classes={num_classes}. "
            "Check num_classes, or remap the label values (e.g. 255 -> 1)."
        )
    return mask

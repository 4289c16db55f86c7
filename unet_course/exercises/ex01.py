"""Exercises of notebook 01 (semantic segmentation): one-hot masks, class ids, bounding boxes."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, call, exercise

NOTEBOOK = "01_semantic_segmentation"


def to_one_hot(mask, num_classes):
    """One-hot encode a class-id mask of any shape: adds a last axis of ``num_classes`` channels, float32."""
    mask = np.asarray(mask)
    return np.eye(num_classes, dtype="float32")[mask]


def to_class_ids(one_hot):
    """Class ids from one-hot masks or probabilities: the index of the largest value on the last axis."""
    return np.argmax(np.asarray(one_hot), axis=-1)


def bounding_box(mask, class_id):
    """``(top, left, bottom, right)`` around all pixels of ``class_id`` (bottom/right exclusive), or None."""
    rows, cols = np.nonzero(np.asarray(mask) == class_id)
    if rows.size == 0:
        return None
    return int(rows.min()), int(cols.min()), int(rows.max()) + 1, int(cols.max()) + 1


def _as_array(got, label: str) -> np.ndarray:
    try:
        array = np.asarray(got)
    except Exception:  # pragma: no cover - exotic return values
        raise Mistake(f"On {label} your function returned {type(got).__name__}, which is not an array.") from None
    if array.dtype == object:
        raise Mistake(f"On {label} your function returned {type(got).__name__} that is not a numeric array.")
    return array


# ---------------------------------------------------------------- q1: one-hot


def _one_hot_examples():
    mask = np.array([[0, 0, 1, 1, 2], [0, 2, 2, 1, 0], [1, 1, 0, 0, 0]], dtype=np.uint8)  # 3x5, classes 3 to 5 absent
    batch = np.zeros((2, 4, 6), dtype=np.uint8)
    batch[0, 1:3, 1:4] = 1
    batch[1, 2:, 3:] = 2
    return [
        ("a 3x5 mask with classes 0..2 and num_classes=6 (classes 3 to 5 are absent)", mask, 6),
        ("a 2x2 mask of class 1 only, num_classes=2", np.ones((2, 2), dtype=np.int64), 2),
        ("a batch of 2 masks of shape 4x6 (shape (2, 4, 6)), num_classes=3", batch, 3),
    ]


@exercise(
    "q1",
    "class ids to one-hot",
    notebook=NOTEBOOK,
    reference=to_one_hot,
    hint=(
        "Start from the shape you need: the mask's shape plus one last axis of num_classes channels. Channel k "
        "holds 1.0 where the mask is k and 0.0 elsewhere.",
        "The one-hot vectors of all classes are the rows of an identity matrix (np.eye). Indexing that matrix "
        "with the whole mask picks one row per pixel and puts the class axis last. Mind the dtype the task asks for.",
    ),
)
def q1(answer):
    for label, mask, num_classes in _one_hot_examples():
        expected = to_one_hot(mask, num_classes)
        got = _as_array(call(answer, mask.copy(), num_classes, describe=f"on {label}"), label)
        shape, want = got.shape, expected.shape
        if shape != want:
            if shape == (num_classes,) + mask.shape or shape == mask.shape[:-2] + (num_classes,) + mask.shape[-2:]:
                raise Mistake(
                    f"On {label} you returned shape {shape}: channels first. Keras uses channels last: "
                    f"the class axis goes at the end, shape {want}."
                )
            if mask.ndim == 2 and shape == mask.shape[::-1] + (num_classes,):
                raise Mistake(
                    f"On {label} you returned shape {shape}: rows and columns are swapped. Keep the mask's "
                    f"shape {mask.shape} and add the class axis at the end: {want}."
                )
            if shape == (mask.size, num_classes):
                raise Mistake(
                    f"On {label} you returned shape {shape}: the pixels are flattened. Keep the mask's "
                    f"shape and add a class axis at the end: {want}."
                )
            if shape == mask.shape:
                raise Mistake(
                    f"On {label} you returned shape {shape}, the shape of the mask itself. A one-hot mask "
                    f"has one more axis, with one channel per class: {want}."
                )
            if shape[:-1] == mask.shape:
                channels = shape[-1]
                if channels == int(mask.max()) + 1 and channels != num_classes:
                    raise Mistake(
                        f"On {label} you returned {channels} channels: you counted the classes present "
                        f"(mask.max() + 1). Use num_classes={num_classes}: a class can be absent from one "
                        "mask but still needs its channel, or masks would not stack into a batch."
                    )
                if channels == num_classes - 1:
                    raise Mistake(
                        f"On {label} you returned {channels} channels, one too few: class ids run from 0 "
                        f"to num_classes - 1, so there are num_classes={num_classes} channels (background too)."
                    )
                if channels == num_classes + 1:
                    raise Mistake(
                        f"On {label} you returned {channels} channels, one too many: use exactly "
                        f"num_classes={num_classes}."
                    )
            raise Mistake(
                f"On {label} you returned shape {shape}; expected {want} (the mask's shape + one axis of "
                f"num_classes channels)."
            )
        if got.dtype != np.float32:
            kind = {"b": "booleans (True/False)", "i": "integers", "u": "integers"}.get(got.dtype.kind, "")
            raise Mistake(
                f"On {label} you returned dtype {got.dtype}{f', {kind}' if kind else ''}. The task asks for float32, "
                "the dtype Keras computes in: the one-hot mask is the target for the network's float32 "
                "probabilities (give np.eye a dtype, or convert with .astype('float32'))."
            )
        if np.array_equal(got, expected):
            continue
        per_pixel = got.sum(axis=-1)
        if not np.allclose(per_pixel, 1):
            raise Mistake(
                f"On {label} some pixels have {per_pixel.min():g} to {per_pixel.max():g} ones over the class "
                "axis; every pixel must have exactly one 1, in the channel of its class."
            )
        pixel = tuple(int(i) for i in np.argwhere(got != expected)[0][:-1])
        raise Mistake(
            f"On {label} the 1s sit in the wrong channels: a pixel of class k has its 1 in channel k "
            f"(class 0 -> [1, 0, ...]). Pixel {pixel} is of class {int(mask[pixel])} but you gave "
            f"{got[pixel].tolist()}."
        )
    return (
        "correct! np.eye(num_classes, dtype='float32')[mask] is one way; keras.ops.one_hot(mask, num_classes) "
        "gives the same (keras.utils.to_categorical too, but in float64)."
    )


# ---------------------------------------------------------------- q2: class ids


def _class_id_examples():
    mask = np.array([[0, 0, 1, 1, 2], [0, 3, 3, 1, 0], [2, 2, 0, 0, 3]])
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 4, 6, 3)) * 3
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return [
        ("a one-hot mask of shape (3, 5, 4)", to_one_hot(mask, 4)),
        ("predicted probabilities of shape (2, 4, 6, 3) (softmax output)", probabilities),
    ]


@exercise(
    "q2",
    "one-hot to class ids",
    notebook=NOTEBOOK,
    reference=to_class_ids,
    hint=(
        "For one pixel the answer is the position (the index) of its largest value among the C channels, "
        "not the value itself.",
        "NumPy finds the index of the largest value along one axis; which axis holds the classes in Keras's "
        "channels-last layout?",
    ),
)
def q2(answer):
    for label, one_hot in _class_id_examples():
        expected = to_class_ids(one_hot)
        got = _as_array(call(answer, one_hot.copy(), describe=f"on {label}"), label)
        if got.ndim == 0 and expected.ndim > 0:
            raise Mistake(
                f"On {label} you returned one number ({got}). np.argmax without axis= looks at the "
                "flattened array; give axis=-1 to get one class id per pixel."
            )
        if got.shape == one_hot.shape[1:]:
            raise Mistake(
                f"On {label} you returned shape {got.shape}: you reduced the first axis (channels first). "
                f"The class axis is the last one: expected shape {expected.shape}."
            )
        if got.shape == expected.shape + (1,):
            raise Mistake(
                f"On {label} you returned shape {got.shape}, with a trailing axis of 1 (keepdims?). "
                f"Drop it: a class-id mask has shape {expected.shape}."
            )
        if got.shape == one_hot.shape:
            raise Mistake(
                f"On {label} you returned the input's shape {got.shape}. Reduce the class axis: one "
                f"class id per pixel, shape {expected.shape}."
            )
        if got.shape != expected.shape:
            raise Mistake(
                f"On {label} you returned shape {got.shape}; expected {expected.shape} (the input without "
                "its last axis)."
            )
        if np.allclose(got, np.max(one_hot, axis=-1)) and not np.array_equal(got, expected):
            raise Mistake(
                f"On {label} you returned the largest value of each pixel (max), e.g. {got.ravel()[0]:g}. "
                "Return the channel where it sits (its index, argmax): that is the class id."
            )
        if np.array_equal(got, np.argmin(one_hot, axis=-1)) and not np.array_equal(got, expected):
            raise Mistake(
                f"On {label} you picked the smallest value (argmin); the class is the channel with the "
                "largest value (argmax)."
            )
        if not np.array_equal(got, expected):
            weighted = (one_hot * np.arange(one_hot.shape[-1])).sum(-1)
            if any(np.allclose(got, w) for w in (weighted, np.round(weighted), np.floor(weighted))):
                raise Mistake(
                    f"On {label} you summed channel index x value. That works on an exact one-hot "
                    "mask, not on predicted probabilities: take the channel with the largest value "
                    "(argmax) instead."
                )
            raise Mistake(
                f"On {label} some class ids are wrong: the class of a pixel is the channel with the largest value."
            )
        if not np.issubdtype(got.dtype, np.integer):
            raise Mistake(
                f"On {label} the ids are right but of dtype {got.dtype}. Class ids are whole numbers: "
                "return an integer array (np.argmax already does)."
            )
    return "correct! This is how a prediction (probabilities) becomes a mask you can draw."


# ---------------------------------------------------------------- q3: bounding box


def _box_examples():
    mask = np.zeros((6, 10), dtype=np.uint8)  # not square: rows vs columns mix-ups show
    mask[1:4, 4:9] = 2
    mask[4:6, 0:2] = 1
    mask[5, 9] = 2  # a second piece of class 2, at the bottom-right corner
    edge = np.zeros((5, 7), dtype=np.uint8)
    edge[2:, 3:] = 3
    corner = np.zeros((5, 7), dtype=np.uint8)
    corner[0:2, 0:3] = 1  # row 0 and column 0: a box may start at 0
    return [
        ("a 6x10 mask, class 2 in two pieces", mask, 2),
        ("a 6x10 mask, class 1 in the bottom-left corner", mask, 1),
        ("a 5x7 mask, class 3 touching the bottom and right edges", edge, 3),
        ("a 5x7 mask, class 1 in the top-left corner (from row 0, column 0)", corner, 1),
        ("a 6x10 mask where class 3 does not occur", mask, 3),
    ]


@exercise(
    "q3",
    "bounding box of a class",
    notebook=NOTEBOOK,
    reference=bounding_box,
    hint=(
        "First find where the class is: the row and column index of every pixel of class_id (np.nonzero of a "
        "comparison gives them). If there is none, there is no box.",
        "The box runs from the smallest to the largest row and column of those pixels. The ends are exclusive, "
        "like a slice: one past the last row and the last column.",
    ),
)
def q3(answer):
    for label, mask, class_id in _box_examples():
        expected = bounding_box(mask, class_id)
        describe = f"on {label}"
        if expected is None:
            try:
                got = call(answer, mask.copy(), class_id, describe=describe, allow_none=True)
            except Mistake as mistake:
                raise Mistake(f"{mistake} When the class does not occur, return None instead of failing.") from None
            if got is not None:
                raise Mistake(
                    f"On {label} you returned {got!r}; when the class does not occur there is no box: return None."
                )
            continue
        got = call(answer, mask.copy(), class_id, describe=describe, allow_none=True)
        if got is None:
            raise Mistake(
                f"On {label} you returned None, but class {class_id} occurs in this mask "
                f"({int(np.sum(mask == class_id))} pixels): return its box (top, left, bottom, right)."
            )
        try:
            box = tuple(int(v) for v in np.asarray(got).ravel())
        except (TypeError, ValueError):
            raise Mistake(
                f"On {label} you returned {type(got).__name__}; return four whole numbers (top, left, bottom, right)."
            ) from None
        if len(box) != 4:
            raise Mistake(f"On {label} you returned {len(box)} numbers; a box is four: (top, left, bottom, right).")
        if box == expected:
            continue
        top, left, bottom, right = expected
        if box == (top, left, bottom - 1, right - 1):
            raise Mistake(
                f"On {label} you returned {box}: bottom and right are the last row and column of the "
                f"class (inclusive). The course uses slice-style ends (exclusive): add 1, {expected}, so "
                "mask[top:bottom, left:right] covers the whole object."
            )
        if box == (left, top, right, bottom):
            raise Mistake(
                f"On {label} you returned {box}: x before y, (left, top, right, bottom). This course "
                f"uses NumPy's order, rows first: (top, left, bottom, right) = {expected}."
            )
        if box == (top, bottom, left, right):
            raise Mistake(
                f"On {label} you returned {box}: (top, bottom, left, right). The course orders a box as "
                f"(top, left, bottom, right) = {expected}: the start corner first, then the end corner."
            )
        if box == (top, left, bottom - top, right - left):
            raise Mistake(
                f"On {label} you returned {box}: height and width instead of bottom and right. "
                f"Return the end coordinates: {expected}."
            )
        foreground = bounding_box(mask != 0, True)
        if box == foreground and foreground != expected:
            raise Mistake(
                f"On {label} you returned {box}, the box around all foreground pixels. Keep only the "
                f"pixels of class_id={class_id}: {expected}."
            )
        raise Mistake(f"On {label} you returned {box}; expected {expected} (top, left, bottom, right).")
    return "correct! Boxes like these are what an object detector predicts (the second panel of the first figure)."

"""Exercises of notebook 01 (semantic segmentation): one-hot masks, class ids with void pixels, bounding boxes,
colour-coded masks; the prediction p1 (the memory of a one-hot mask)."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, Prediction, call, exercise

NOTEBOOK = "01_semantic_segmentation"
VOID = 255  # the id of unlabelled pixels in many datasets (PASCAL VOC's border, for one)


def to_one_hot(mask, num_classes):
    """One-hot encode a class-id mask of any shape: adds a last axis of ``num_classes`` channels, float32."""
    mask = np.asarray(mask)
    return np.eye(num_classes, dtype="float32")[mask]


def to_class_ids(one_hot, void=255):
    """Class ids of one-hot masks ``(..., C)``: the channel that holds the 1; a pixel with no 1 (all channels 0)
    is a void pixel and gets ``void``."""
    one_hot = np.asarray(one_hot)
    return np.where(one_hot.max(axis=-1) > 0, np.argmax(one_hot, axis=-1), void)


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
        "Each class has one fixed one-hot vector. Build the num_classes vectors once and let NumPy's indexing pick "
        "one per pixel, or compare the mask with every class id at once by broadcasting. Mind the dtype the task "
        "asks for.",
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


# ---------------------------------------------------------------- q2: class ids, with void pixels


def _one_hot_with_void(ids, num_classes):
    """One-hot of ``ids`` where the id 255 (void) becomes a vector of zeros, as ``keras.ops.one_hot`` makes it."""
    ids = np.asarray(ids)
    table = np.concatenate([np.eye(num_classes, dtype="float32"), np.zeros((1, num_classes), dtype="float32")])
    return table[np.where(ids == VOID, num_classes, ids)]


def _class_id_examples():
    """(label, one_hot, void): exact one-hot masks, most with void pixels; not square, so axis mix-ups show."""
    mask = np.array([[0, 0, 1, 1, 2], [0, 3, VOID, 1, 0], [2, VOID, 0, VOID, 3]])  # 3 void pixels
    batch = np.zeros((2, 4, 6), dtype=np.int64)
    batch[0, 1:3, 1:4] = 1
    batch[1, 2:, 3:] = 2
    batch[0, 0, :] = VOID  # a void row in the first image
    batch[1, 1, 2] = VOID
    plain = np.array([[0, 0, 1, 1, 2], [0, 3, 3, 1, 0], [2, 2, 0, 0, 3]])
    other = np.array([[0, 1, 1, 0, 0, 3], [0, VOID, VOID, 0, 2, 3], [0, 1, 1, 0, 2, 2], [VOID, 0, 0, 0, 0, 0]])
    return [
        ("a one-hot mask of shape (3, 5, 4) with 3 void pixels (all channels 0)", _one_hot_with_void(mask, 4), VOID),
        (
            "a batch of 2 one-hot masks, shape (2, 4, 6, 3), with 7 void pixels",
            _one_hot_with_void(batch, 3),
            VOID,
        ),
        ("a one-hot mask of shape (3, 5, 4) without void pixels", _one_hot_with_void(plain, 4), VOID),
        (
            "a one-hot mask of shape (4, 6, 4) with 3 void pixels and void=4 (another common convention: "
            "the id after the last class)",
            _one_hot_with_void(other, 4),
            4,
        ),
    ]


def _check_shape(got, one_hot, expected, label):
    if got.ndim == 0 and expected.ndim > 0:
        raise Mistake(
            f"On {label} you returned one number ({got}). np.argmax without axis= looks at the flattened array: "
            "reduce only the class axis, to get one class id per pixel."
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
            f"On {label} you returned the input's shape {got.shape}. Reduce the class axis: one class id per "
            f"pixel, shape {expected.shape}."
        )
    if got.shape != expected.shape:
        raise Mistake(
            f"On {label} you returned shape {got.shape}; expected {expected.shape} (the input without its last axis)."
        )


@exercise(
    "q2",
    "one-hot to class ids, with void pixels",
    notebook=NOTEBOOK,
    reference=to_class_ids,
    hint=(
        "The argmax of the lesson is right for every pixel that has a 1 in some channel. What does argmax return "
        "for a pixel whose channels are all 0, and how can you tell such a pixel apart from a background pixel?",
        "Compute the usual ids, then a boolean mask of the pixels that have no channel set (a reduction over the "
        "class axis), and choose between the two, pixel by pixel.",
    ),
)
def q2(answer):
    for label, one_hot, void in _class_id_examples():
        expected = to_class_ids(one_hot, void)
        got = _as_array(call(answer, one_hot.copy(), void, describe=f"on {label}"), label)
        _check_shape(got, one_hot, expected, label)
        is_void = one_hot.max(axis=-1) == 0
        plain = np.argmax(one_hot, axis=-1)
        if (
            got.dtype.kind in "iu"
            and void > np.iinfo(got.dtype).max
            and np.array_equal(got[~is_void], expected[~is_void])
        ):
            raise Mistake(
                f"On {label} your ids have dtype {got.dtype}, which cannot hold {void}: the void pixels came out as "
                f"{sorted(set(got[is_void].tolist()))}. Use a wider integer type (e.g. int64, or uint8 for ids up to "
                "255)."
            )
        if np.array_equal(got, expected):
            if not np.issubdtype(got.dtype, np.integer):
                raise Mistake(
                    f"On {label} the ids are right but of dtype {got.dtype}. Class ids are whole numbers: return an "
                    "integer array."
                )
            continue
        if np.array_equal(got, plain):
            raise Mistake(
                f"On {label} the {int(is_void.sum())} pixels with no channel set (all 0) came out as 0, background: "
                "argmax of a vector of zeros is 0, the index of the first of the equal values. Those pixels are "
                f"void, not background: give them void={void}."
            )
        if void != VOID and np.array_equal(got, np.where(is_void, VOID, plain)):
            raise Mistake(
                f"On {label} you gave the void pixels {VOID}, but this call asks for void={void}: use the argument, "
                "not a fixed number."
            )
        if np.array_equal(got, np.where(is_void | (plain == 0), void, plain)):
            raise Mistake(
                f"On {label} you also turned the background pixels (a 1 in channel 0) into void. Only a pixel with "
                "no 1 in any channel is void: test the channels, not the argmax."
            )
        if np.array_equal(got[~is_void], expected[~is_void]):
            raise Mistake(
                f"On {label} every labelled pixel is right, but the void pixels got "
                f"{sorted(set(got[is_void].tolist()))} instead of void={void}."
            )
        if np.array_equal(got[~is_void], np.argmin(one_hot, axis=-1)[~is_void]):
            raise Mistake(
                f"On {label} you picked the smallest value (argmin); the class is the channel with the largest value."
            )
        raise Mistake(
            f"On {label} some class ids are wrong: a pixel's class is the channel that holds its 1; a pixel without "
            f"a 1 is void={void}."
        )
    return (
        "correct! Without the test, argmax would quietly turn every void pixel into background, and a model "
        "trained or scored on that mask would learn or be judged on pixels nobody labelled."
    )


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
        "First find where the class is: the row and the column of every pixel of class_id. If there is none, "
        "there is no box.",
        "NumPy gives the indices of the True entries of a boolean array. The box runs from the smallest to the "
        "largest of those rows and columns; its ends are exclusive, like a slice: one past the last.",
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


# ---------------------------------------------------------------- q4: colour-coded masks


def colours_to_ids(rgb, palette, void=255):
    """Class ids of a colour-coded mask ``(..., 3)``: colour ``palette[k]`` -> ``k``, other colours -> ``void``."""
    rgb, palette = np.asarray(rgb), np.asarray(palette)
    matches = np.all(rgb[..., None, :] == palette, axis=-1)  # (..., C): which palette colour each pixel has
    return np.where(matches.any(axis=-1), np.argmax(matches, axis=-1), void)


#: A palette whose colours share channel values (red 255 in three of them; two with the same channel sum), so that
#: comparing single channels, or sums of channels, mixes classes up.
PALETTE = np.array([[0, 0, 0], [255, 0, 0], [255, 255, 0], [0, 0, 255], [255, 0, 255]], dtype=np.uint8)


def _colour_examples():
    ids = np.array([[0, 0, 1, 1, 2, 2], [0, 3, 3, 1, 4, 0], [2, 2, 0, 4, 4, VOID], [0, 0, 0, 0, 3, 3]])
    unknown = np.array([128, 128, 128], dtype=np.uint8)  # a grey that is in no palette entry
    batch = np.array([[[1, 2, 0], [0, 3, 3]], [[4, 4, 2], [VOID, 1, 0]]])
    return [
        ("a 4x6 colour mask with the 5 palette colours and one grey pixel in no palette entry", ids, unknown, VOID),
        ("a batch of two 2x3 colour masks, shape (2, 2, 3, 3), with one grey pixel", batch, unknown, VOID),
        (
            "a 4x6 colour mask with one pixel of the colour (0, 255, 0), which is in no palette entry, and void=5",
            ids,
            np.array([0, 255, 0], dtype=np.uint8),
            5,
        ),
    ]


def _paint(ids, void_colour):
    table = np.concatenate([PALETTE, void_colour[None]])
    return table[np.where(ids == VOID, len(PALETTE), ids)]


def _by_key(rgb, key):
    """The ids a comparison of ``key(colour)`` alone gives: the first palette entry with the same key, else void."""
    keys = np.array([key(c) for c in PALETTE.astype(np.int64)])
    pixel_keys = np.apply_along_axis(key, -1, rgb.astype(np.int64))
    return np.argmax(pixel_keys[..., None] == keys, axis=-1)


@exercise(
    "q4",
    "colour-coded mask to class ids",
    notebook=NOTEBOOK,
    reference=colours_to_ids,
    hint=(
        "A pixel is of class k when its colour is palette[k]: all three channels equal, not just one of them. And "
        "a colour that is in no palette entry has no class.",
        "Compare every pixel with every palette colour at once by broadcasting (give the image one more axis for "
        "the palette entries), reduce over the colour channels, then find the entry that matched and deal with the "
        "pixels where none did.",
    ),
)
def q4(answer):
    for label, ids, unknown, void in _colour_examples():
        rgb = _paint(ids, unknown)
        expected = colours_to_ids(rgb, PALETTE, void)
        got = _as_array(call(answer, rgb.copy(), PALETTE.copy(), void, describe=f"on {label}"), label)
        if got.shape == rgb.shape:
            raise Mistake(
                f"On {label} you returned shape {got.shape}, the shape of the colour image. A class-id mask has one "
                f"number per pixel: reduce the colour axis, shape {expected.shape}."
            )
        if got.shape == rgb.shape[:-1] + (len(PALETTE),):
            raise Mistake(
                f"On {label} you returned shape {got.shape}: one True/False per pixel and palette colour. That says "
                f"which colour matched; return the index of the matching colour, shape {expected.shape}."
            )
        if got.shape != expected.shape:
            raise Mistake(f"On {label} you returned shape {got.shape}; expected {expected.shape}, one id per pixel.")
        if not np.issubdtype(got.dtype, np.integer):
            if np.array_equal(got, expected):
                raise Mistake(
                    f"On {label} the ids are right but of dtype {got.dtype}: return whole numbers (an integer array)."
                )
        if np.array_equal(got, expected):
            continue
        is_void = expected == void
        if np.array_equal(got[~is_void], expected[~is_void]):
            if np.all(got[is_void] == 0):
                raise Mistake(
                    f"On {label} the pixel whose colour is in no palette entry came out as 0, background. If you took "
                    "the argmax of the matches: argmax of all False is 0. Give such pixels void "
                    f"(here {void}): nobody labelled them as background."
                )
            if void != VOID and np.all(got[is_void] == VOID):
                raise Mistake(
                    f"On {label} you gave the unknown colour {VOID}, but this call asks for void={void}: use the "
                    "argument."
                )
            raise Mistake(
                f"On {label} every palette colour is right, but the pixel of a colour in no palette entry got "
                f"{sorted(set(got[is_void].tolist()))} instead of void={void}."
            )
        for key, what, shared in (
            (lambda c: c[0], "the red channel only", "red, yellow and magenta all have red 255"),
            (
                lambda c: int(np.sum(c)),
                "the sum of the three channels",
                "red (255, 0, 0) and blue (0, 0, 255) both sum to 255",
            ),
            (lambda c: c[1], "the green channel only", "black, red, blue and magenta all have green 0"),
            (lambda c: c[2], "the blue channel only", "black, red and yellow all have blue 0"),
        ):
            first = _by_key(rgb, key)
            if not np.array_equal(first, expected) and np.array_equal(got[~is_void], first[~is_void]):
                raise Mistake(
                    f"On {label} some pixels got the class of another colour: you compared {what}, and several "
                    f"palette colours share it ({shared}). A pixel matches palette[k] only when all three channels "
                    "are equal."
                )
        any_match = np.any(rgb[..., None, :] == PALETTE, axis=-1)
        if np.array_equal(got[~is_void], np.argmax(any_match, axis=-1)[~is_void]):
            raise Mistake(
                f"On {label} some pixels got the class of another colour: a pixel matched a palette colour as soon "
                "as one channel was equal (np.any, or `or`). It must match in all three channels (np.all over the "
                "colour axis)."
            )
        raise Mistake(
            f"On {label} some class ids are wrong: a pixel of colour palette[k] is of class k, a colour in no palette "
            f"entry is void={void}."
        )
    return (
        "correct! CamVid, for one, stores its labels as colour images like these, with one colour per class: "
        "convert them to class ids once, when you load the data."
    )


# ---------------------------------------------------------------- p1: predict before you run


def _explain_memory(guess, actual):
    try:
        guess = float(guess)
    except (TypeError, ValueError):
        return "Answer with a number: how many times more bytes."
    if guess == 4:
        return (
            "You counted the 4 channels, but not the bytes: a float32 takes 4 bytes, the uint8 class id 1 byte, so "
            "each pixel goes from 1 byte to 4 x 4 = 16."
        )
    if guess == 1:
        return "Same information, not the same memory: the one-hot mask stores 4 numbers per pixel, of 4 bytes each."
    if guess == 32:
        return "A float32 has 32 bits, that is 4 bytes; the class id is 1 byte (8 bits), not 1 bit: 4 channels x 4."
    if guess in (8, 2):
        return "Count both factors: 4 channels per pixel, and 4 bytes (float32) per channel against 1 byte (uint8)."
    return "Count both factors: the number of channels, and the bytes of a float32 against those of a uint8."


p1 = Prediction(
    "p1",
    "how many times more bytes the one-hot mask (4 classes, float32) takes than the class-id mask (uint8)",
    notebook=NOTEBOOK,
    tolerance=0.0,
    explain=_explain_memory,
)

"""Exercises of notebook 09 (the paper's ISBI 2012 experiment): the mirrored input window of an
output tile (the overlap-tile strategy, figure 2), the weight of one pixel by equation 2, the
challenge's Rand F-score from its definition, and how many different training crops the
augmentation makes; p1, a prediction: which toy proposal has the lower Rand error."""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, Prediction, call, exercise

NOTEBOOK = "09_isbi_paper_experiment"


# --------------------------------------------------------------------------------------
# reference answers
# --------------------------------------------------------------------------------------


def mirror_tile(image, top, left, size, margin):
    """The ``(size + 2*margin, size + 2*margin)`` input window of the output tile
    ``image[top:top+size, left:left+size]``: ``margin`` more pixels on every side, mirrored
    at the image border where the window leaves the image (trailing axes such as channels kept)."""
    image = np.asarray(image)
    pad = [(margin, margin), (margin, margin)] + [(0, 0)] * (image.ndim - 2)  # rows, columns; not the channels
    padded = np.pad(image, pad, mode="reflect")  # the border pixel is not repeated
    # the image's pixel (i, j) is now at (i + margin, j + margin): the window starts at padded[top, left]
    return padded[top : top + size + 2 * margin, left : left + size + 2 * margin]


def pixel_weight(mask, y, x, w0=10.0, sigma=5.0):
    """The U-Net paper's weight (equation 2) of pixel ``(y, x)`` of an ISBI mask (0 membrane, 1 cell):
    ``w_c + w0 * exp(-(d1 + d2)**2 / (2 * sigma**2))``, the second term on membrane pixels only."""
    from scipy import ndimage

    mask = np.asarray(mask)
    counts = np.bincount(mask.astype(np.int64).ravel(), minlength=2)
    w_c = counts.max() / counts[mask[y, x]]  # balanced: the most frequent class gets 1
    if mask[y, x] == 1:  # inside a cell: no border term
        return float(w_c)
    cells, n_cells = ndimage.label(mask == 1)  # 4-connected components, numbered 1 .. n_cells
    if n_cells < 2:  # no second cell: no border term
        return float(w_c)
    rows, cols = np.indices(mask.shape)
    distance = np.hypot(rows - y, cols - x)  # from (y, x) to every pixel
    d1, d2 = sorted(distance[cells == k].min() for k in range(1, n_cells + 1))[:2]  # the two nearest cells
    return float(w_c + w0 * np.exp(-((d1 + d2) ** 2) / (2 * sigma**2)))


# --------------------------------------------------------------------------------------
# q1: the mirrored input of a tile
# --------------------------------------------------------------------------------------


def _q1_cases():
    """(label, image, top, left, size, margin): pixels of random values, none of them 0."""
    rng = np.random.default_rng(9)

    def image(*shape):
        return (rng.random(shape) * 0.9 + 0.1).astype(np.float32)

    return [
        (
            "a 32x32 image, tile top=12, left=8, size=8, margin=4 (in the middle: no mirroring)",
            image(32, 32),
            12,
            8,
            8,
            4,
        ),
        ("a 24x24 image, tile top=0, left=0, size=8, margin=5 (the top-left corner)", image(24, 24), 0, 0, 8, 5),
        (
            "a 24x24 image, tile top=16, left=16, size=8, margin=5 (the bottom-right corner)",
            image(24, 24),
            16,
            16,
            8,
            5,
        ),
        (
            "a 20x20x3 image, tile top=0, left=12, size=8, margin=3 (top-right, 3 channels)",
            image(20, 20, 3),
            0,
            12,
            8,
            3,
        ),
        ("an 18x30 image, tile top=10, left=0, size=8, margin=6 (bottom-left, not square)", image(18, 30), 10, 0, 8, 6),
    ]


def _padded_window(image, top, left, size, margin, mode):
    pad = [(margin, margin), (margin, margin)] + [(0, 0)] * (image.ndim - 2)
    return np.pad(image, pad, mode=mode)[top : top + size + 2 * margin, left : left + size + 2 * margin]


_Q1_MODES = {
    "symmetric": (
        "On {label} your window matches np.pad(..., mode='symmetric'), which repeats the border pixel: "
        "everything you mirrored is off by one pixel (the row just outside the image is, in your window, the "
        "edge row again: {got_first}...; expected the row next to the edge: {expected_first}...). Use "
        "mode='reflect' (TensorFlow's REFLECT), which mirrors about the border pixel without repeating it."
    ),
    "constant": (
        "On {label} the part of your window outside the image is 0 (constant padding, np.pad's default "
        "mode). The paper fills it by mirroring the image at its border: np.pad(..., mode='reflect')."
    ),
    "edge": (
        "On {label} your window repeats the border pixels outwards (mode='edge'): stripes of one value, "
        "no texture. Mirror the image instead: np.pad(..., mode='reflect')."
    ),
    "wrap": (
        "On {label} your window continues with the opposite side of the image (mode='wrap'). The paper "
        "mirrors the image at its border: np.pad(..., mode='reflect')."
    ),
}


def _outside_row(window, image, top, margin):
    """The first values of the window's row just outside the image (above it, else below it)."""
    row = margin - top - 1 if top < margin else image.shape[0] - top + margin
    return np.round(np.asarray(window, dtype=float)[row].ravel()[:3], 3).tolist()


def _shift(got, image, top, left, size, margin):
    """``(dy, dx)`` when ``got`` is the mirrored window moved by dy rows and dx columns, else None."""
    n = size + 2 * margin
    reach = n + 2 * margin
    big = np.pad(
        image,
        [(margin + reach, margin + reach), (margin + reach, margin + reach)] + [(0, 0)] * (image.ndim - 2),
        mode="reflect",
    )
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            if (dy, dx) == (0, 0):
                continue
            r, c = top + reach + dy, left + reach + dx
            if np.array_equal(got, big[r : r + n, c : c + n]):
                return dy, dx
    return None


def _as_array(got, label):
    try:
        value = np.asarray(got)
    except Exception:
        value = None
    if value is None or value.dtype == object or value.dtype.kind not in "biuf":
        raise Mistake(
            f"On {label} your function returned {type(got).__name__} {got!r:.60}; return the window: an array."
        )
    return value


def _q1_diagnose(got, image, top, left, size, margin, label):
    """Raise the :class:`Mistake` that explains ``got`` (not the right window)."""
    expected = mirror_tile(image, top, left, size, margin)
    n = size + 2 * margin
    shape, want = tuple(got.shape), tuple(expected.shape)
    if shape != want:
        if image.ndim == 3 and len(shape) == 3 and shape[:2] == want[:2] and shape[2] == image.shape[2] + 2 * margin:
            raise Mistake(
                f"On {label} your window has shape {shape}, expected {want}: you padded the channel axis too "
                f"({image.shape[2]} channels became {shape[2]}). Pad the rows and the columns only: "
                "np.pad(image, [(margin, margin), (margin, margin)] + [(0, 0)] * (image.ndim - 2), mode='reflect')."
            )
        if image.ndim == 3 and shape == (image.shape[2], n, n):
            raise Mistake(
                f"On {label} your window has shape {shape}: the channels came first. Keep the image's axis order: "
                f"(rows, columns, channels) = {want}."
            )
        if len(shape) >= 2 and shape[:2] == (size, size):
            raise Mistake(
                f"On {label} your window is {size}x{size}, the output tile itself. The network needs "
                f"{margin} more pixels of context on every side: {n}x{n} = size + 2*margin."
            )
        if len(shape) >= 2 and shape[:2] == (size + margin, size + margin):
            raise Mistake(
                f"On {label} your window is {size + margin}x{size + margin}: margin added on one side only. "
                f"The window extends {margin} pixels beyond the tile on EVERY side: size + 2*margin = {n}."
            )
        if len(shape) >= 2 and shape[0] <= n and shape[1] <= n:
            raise Mistake(
                f"On {label} your window has shape {shape}, expected {want}: at the image border it is cut "
                f"short. The window reaches {margin} pixels beyond the tile, outside the image, where slicing "
                "the image gives fewer pixels (and a negative start counts from the other end). Pad the image "
                "first (by margin, mode='reflect'), then slice the padded image."
            )
        raise Mistake(f"On {label} your window has shape {shape}, expected {want} ((size + 2*margin) on each side).")
    for mode, message in _Q1_MODES.items():
        wrong = _padded_window(image, top, left, size, margin, mode)
        if np.array_equal(got, wrong):
            raise Mistake(
                message.format(
                    label=label,
                    got_first=_outside_row(got, image, top, margin),
                    expected_first=_outside_row(expected, image, top, margin),
                )
            )
    if np.array_equal(got, expected.swapaxes(0, 1)):
        raise Mistake(
            f"On {label} your window is transposed: its rows are the expected window's columns. The first "
            "axis is the rows (top, the height), the second the columns (left, the width): "
            "padded[top : top + size + 2*margin, left : left + size + 2*margin]."
        )
    if top != left and np.array_equal(got, mirror_tile(image, left, top, size, margin)):
        raise Mistake(
            f"On {label} your window is the one of the tile at top={left}, left={top}: top and left swapped. "
            "Rows come first: padded[top : top + size + 2*margin, left : left + size + 2*margin]."
        )
    moved = _shift(got, image, top, left, size, margin)
    if moved is not None:
        dy, dx = moved
        why = ""
        if (dy, dx) == (-margin, -margin):
            why = (
                " You subtracted margin in the padded image, but padding already moved every pixel by margin: "
                "the image's row top - margin is row top of the padded image."
            )
        elif (dy, dx) == (margin, margin):
            why = (
                " Your window starts at the tile's corner: it must start margin pixels before it (in the padded "
                "image, where every index moved by margin, that is index top)."
            )
        raise Mistake(
            f"On {label} your window is not centred on the tile: it is moved by {dy} rows and {dx} columns. "
            f"The tile must sit in its middle, {margin} pixels from each side.{why} "
            "Slice padded[top : top + size + 2*margin, left : left + size + 2*margin]."
        )
    inner = slice(margin, margin + size)
    if np.allclose(got[inner, inner], expected[inner, inner]):
        raise Mistake(
            f"On {label} the tile in the middle of your window is right, but the mirrored context around it "
            "is not the image mirrored at its border. Use np.pad(..., mode='reflect')."
        )
    raise Mistake(
        f"On {label} your window differs from the expected one (its top-left value is {got.ravel()[0]:.3f}, "
        f"expected {expected.ravel()[0]:.3f}): pad by margin with mode='reflect', then slice "
        "padded[top : top + size + 2*margin, left : left + size + 2*margin]."
    )


@exercise(
    "q1",
    "the mirrored input of a tile",
    notebook=NOTEBOOK,
    reference=mirror_tile,
    hint=(
        "First pad, then slice. np.pad(image, pad, mode='reflect') with pad = one (before, after) pair per axis: "
        "(margin, margin) for the rows and the columns, (0, 0) for any channel axis.",
        "After padding, the image's pixel (i, j) sits at (i + margin, j + margin). The window starts margin "
        "pixels before the tile, at the image's (top - margin, left - margin): in the padded image that is "
        "(top, left). Slice padded[top : top + size + 2*margin, left : left + size + 2*margin].",
    ),
)
def q1(answer):
    for label, image, top, left, size, margin in _q1_cases():
        got = _as_array(call(answer, image.copy(), top, left, size, margin, describe=f"on {label}"), label)
        if tuple(got.shape) == (size + 2 * margin,) * 2 + image.shape[2:] and np.allclose(
            got, mirror_tile(image, top, left, size, margin), rtol=0, atol=1e-6
        ):
            continue
        _q1_diagnose(got, image, top, left, size, margin, label)
    return (
        "correct! Each output tile gets its full context: where the window leaves the image, the network sees "
        "the image mirrored, plausible tissue with membranes and cells of the usual size, instead of black "
        "zeros it never sees inside an image. So border tiles are predicted as well as the middle ones, and "
        "the output tiles stitch together without seams (the paper's figure 2)."
    )


# --------------------------------------------------------------------------------------
# q2: the weight of a pixel between two cells (equation 2)
# --------------------------------------------------------------------------------------


def _q2_cases():
    """(label, mask, y, x, w0, sigma)."""
    # Worked by hand: the row [1, 1, 0, 0, 0, 1, 1], pixel (0, 2) (membrane, in the gap).
    #   counts: 3 membrane, 4 cell -> w_c(membrane) = 4 / 3 (the cells, more frequent, get 1)
    #   d1 = 1 (to pixel 1 of the left cell), d2 = 3 (to pixel 5 of the right cell), d1 + d2 = 4
    #   w = 4/3 + 10 * exp(-4**2 / (2 * 5**2)) = 1.3333 + 10 * exp(-0.32) = 1.3333 + 7.2615 = 8.5948
    row = np.array([[1, 1, 0, 0, 0, 1, 1]], np.uint8)
    # two cells 2 columns apart: 15 + 10 cell pixels, 56 membrane pixels (the membrane is the majority)
    squares = np.zeros((9, 9), np.uint8)
    squares[2:7, 1:4] = 1
    squares[2:7, 6:8] = 1
    # three cells; from (6, 5): A (2x2, left) at 2, B (a long bar, below) at 3, C (one pixel, right) at 4.
    # The second-nearest pixel, (5, 3), is in A again; by centre C (4) is nearer than B (4.24); in the
    # labelling (row by row) A is cell 1, C cell 2 and B cell 3.
    three = np.zeros((12, 12), np.uint8)
    three[5:7, 2:4] = 1
    three[9, 5:12] = 1
    three[6, 9] = 1
    # far from both cells: d1 + d2 is about 85, the border term about 1e-60
    far = np.zeros((40, 40), np.uint8)
    far[1:4, 1:4] = 1
    far[1:4, 6:9] = 1
    one = np.zeros((6, 6), np.uint8)
    one[2:4, 2:4] = 1
    return [
        ("the row [1, 1, 0, 0, 0, 1, 1] at the gap pixel (0, 2)", row, 0, 2, 10.0, 5.0),
        ("a 9x9 mask with two cells 2 columns apart at the gap pixel (4, 4)", squares, 4, 4, 10.0, 5.0),
        ("the same 9x9 mask at pixel (4, 3) (inside the left cell, next to the gap)", squares, 4, 3, 10.0, 5.0),
        ("a 12x12 mask with three cells at pixel (6, 5) (cells at 2, 3 and 4 pixels)", three, 6, 5, 10.0, 5.0),
        ("a 40x40 mask at pixel (38, 38), far from its two cells", far, 38, 38, 10.0, 5.0),
        ("the 9x9 mask with two cells at pixel (4, 4), with w0=5, sigma=2", squares, 4, 4, 5.0, 2.0),
        ("a 6x6 mask with a single cell at pixel (1, 2), next to it", one, 1, 2, 10.0, 5.0),
    ]


def _q2_expected(mask, y, x, w0, sigma):
    from unet_course.data.weight_map import unet_weight_map

    return float(unet_weight_map(mask, w0=w0, sigma=sigma)[y, x])


def _geometry(mask, y, x):
    """What the weight of pixel (y, x) is made of, and what the typical mistakes use instead."""
    from scipy import ndimage

    mask = np.asarray(mask)
    cells, n_cells = ndimage.label(mask == 1)
    rows, cols = np.indices(mask.shape)
    distance = np.hypot(rows - y, cols - x)
    by_label = [float(distance[cells == k].min()) for k in range(1, n_cells + 1)]
    centres = [float(np.hypot(*(np.argwhere(cells == k).mean(0) - (y, x)))) for k in range(1, n_cells + 1)]
    pad = [np.inf, np.inf]
    return {
        "counts": np.bincount(mask.astype(np.int64).ravel(), minlength=2)[:2].astype(float),
        "cls": int(mask[y, x]),
        "n_cells": n_cells,
        "cells": (sorted(by_label) + pad)[:2],  # d1, d2: the two nearest cells
        "labels": (by_label + pad)[:2],  # cells 1 and 2 of the labelling
        "centres": (sorted(centres) + pad)[:2],  # the two nearest cell centres
        "pixels": (sorted(distance[cells > 0].tolist()) + pad)[:2],  # the two nearest cell pixels
    }


def _class_weight(g, kind):
    counts, cls = g["counts"], g["cls"]
    with np.errstate(divide="ignore"):
        return {
            "balanced": counts.max() / counts[cls],
            "one": 1.0,
            "zero": 0.0,
            "inverted": counts.max() / counts[1 - cls],
            "frequency": counts[cls] / counts.sum(),
            "total": counts.sum() / counts[cls],
        }[kind]


def _border(g, w0, sigma, pair="cells", exponent="paper", inside=False):
    if g["cls"] == 1 and not inside:
        return 0.0
    a, b = g["cells"] if pair == "twice" else g[pair]
    if not np.isfinite(a + b):
        return 0.0  # fewer than two cells: no border term
    if pair == "twice":
        b = a
    power = {
        "paper": (a + b) ** 2 / (2 * sigma**2),
        "sigma": (a + b) ** 2 / (2 * sigma),
        "no_two": (a + b) ** 2 / sigma**2,
        "squares": (a**2 + b**2) / (2 * sigma**2),
    }[exponent]
    return float(w0 * np.exp(-power))


def _weight(g, w0, sigma, wc="balanced", border=True, **options):
    return float(_class_weight(g, wc) + (_border(g, w0, sigma, **options) if border else 0.0))


# each mistake: (how it computes, message); the message shows the numbers of the first wrong example
_Q2_MISTAKES = [
    (
        dict(wc="zero"),
        "On {label} you returned {got:.4f}: the border term alone. Expected {expected:.4f} = w_c {wc:.4f} + "
        "border term {border:.4f}. Add the class weight of the pixel's class: max_count / count_c "
        "(here {n0:g} membrane and {n1:g} cell pixels).",
    ),
    (
        dict(border=False),
        "On {label} you returned {got:.4f}: the class weight alone. Expected {expected:.4f} = w_c {wc:.4f} + "
        "border term w0 * exp(-(d1 + d2)**2 / (2 * sigma**2)) = {border:.4f} (d1 = {d1:.4f}, d2 = {d2:.4f}).",
    ),
    (
        dict(wc="one"),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: you used w_c = 1 for every pixel. The class "
        "weight balances the classes: max_count / count_c = {wc:.4f} for this pixel's class {cls} "
        "({n0:g} membrane and {n1:g} cell pixels; the most frequent class gets 1).",
    ),
    (
        dict(wc="inverted"),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: you gave the pixel the class weight of the "
        "OTHER class ({wrong_wc:.4f} instead of {wc:.4f}). Use the count of the pixel's own class, mask[y, x]: "
        "w_c = max_count / count_c, so that the rarer class weighs more.",
    ),
    (
        dict(wc="frequency"),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: your w_c = count_c / total = {freq:.4f} is the "
        "class frequency, which makes the common class weigh MORE. Balanced weights are max_count / count_c "
        "= {wc:.4f} here.",
    ),
    (
        dict(wc="total"),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: your w_c = total / count_c = {total_wc:.4f} has "
        "the right ratios but another scale. The course (and unet_weight_map) gives the most frequent class 1: "
        "max_count / count_c = {wc:.4f}.",
    ),
    (
        dict(inside=True),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: the pixel is inside a cell (class 1) and you "
        "added a border term ({wrong_border:.4f}). The border term is for the membrane pixels between cells "
        "only; inside a cell w = w_c = {wc:.4f}.",
    ),
    (
        dict(pair="twice"),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: you used d1 + d1 = {twice:.4f}, the nearest "
        "cell twice. d2 is the distance to the SECOND-nearest cell ({d2:.4f} here, d1 = {d1:.4f}). Label the "
        "cells (ndimage.label(mask == 1)), take each cell's nearest pixel, sort those distances.",
    ),
    (
        dict(pair="pixels"),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: your d2 = {pixel_d2:.4f} is the distance to the "
        "second-nearest cell PIXEL, which is in the same cell as the nearest one. d2 is the distance to the "
        "nearest pixel of the second-nearest cell: {d2:.4f} (d1 = {d1:.4f}). Label the cells "
        "(ndimage.label(mask == 1)) and take one distance per cell.",
    ),
    (
        dict(pair="labels"),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: you used the distances to cells 1 and 2 of "
        "the labelling ({label_d1:.4f}, {label_d2:.4f}). d1 and d2 belong to the two cells NEAREST to the pixel: "
        "({d1:.4f}, {d2:.4f}). Compute the distance to every cell, then sort.",
    ),
    (
        dict(pair="centres"),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: you used the distances to the cells' centres "
        "({centre_d1:.4f}, {centre_d2:.4f}). Equation 2 uses the distance to the nearest pixel of each cell "
        "(its border): ({d1:.4f}, {d2:.4f}).",
    ),
    (
        dict(exponent="sigma"),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: you divided (d1 + d2)**2 by 2 * sigma = "
        "{two_sigma:g}. The denominator is 2 * sigma**2 = {two_sigma2:g}: exp(-(d1 + d2)**2 / (2 * sigma**2)).",
    ),
    (
        dict(exponent="no_two"),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: you divided (d1 + d2)**2 by sigma**2 = "
        "{sigma2:g}; the 2 is missing. The denominator is 2 * sigma**2 = {two_sigma2:g}.",
    ),
    (
        dict(exponent="squares"),
        "On {label} you returned {got:.4f}, expected {expected:.4f}: you used d1**2 + d2**2 = {squares:.4f} in the "
        "exponent. The paper squares the sum: (d1 + d2)**2 = {sum2:.4f} (d1 = {d1:.4f}, d2 = {d2:.4f}).",
    ),
]


def _q2_fields(case, got, g):
    label, _, _, _, w0, sigma = case
    d1, d2 = g["cells"]
    return {
        "label": label,
        "got": got,
        "expected": _q2_expected(*case[1:]),
        "wc": _class_weight(g, "balanced"),
        "wrong_wc": _class_weight(g, "inverted"),
        "freq": _class_weight(g, "frequency"),
        "total_wc": _class_weight(g, "total"),
        "border": _border(g, w0, sigma),
        "wrong_border": _border(g, w0, sigma, inside=True),
        "n0": g["counts"][0],
        "n1": g["counts"][1],
        "cls": g["cls"],
        "d1": d1,
        "d2": d2,
        "twice": 2 * g["pixels"][0],
        "pixel_d2": g["pixels"][1],
        "label_d1": g["labels"][0],
        "label_d2": g["labels"][1],
        "centre_d1": g["centres"][0],
        "centre_d2": g["centres"][1],
        "two_sigma": 2 * sigma,
        "two_sigma2": 2 * sigma**2,
        "sigma2": sigma**2,
        "squares": d1**2 + d2**2,
        "sum2": (d1 + d2) ** 2,
    }


def _close(a, b):
    return bool(np.isclose(a, b, rtol=1e-4, atol=1e-4))


def _one_number(got, label):
    try:
        value = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Mistake(
            f"On {label} your function returned {type(got).__name__} {got!r:.60}; return one number."
        ) from None
    if value.size != 1:
        raise Mistake(
            f"On {label} your function returned an array of shape {value.shape}; return the weight of the pixel "
            "(y, x) only: one number, e.g. float(weights[y, x])."
        )
    return float(value.reshape(()))


def _q2_diagnose(results):
    """Raise the :class:`Mistake` that explains the learner's numbers ``[(case, got), ...]``."""
    wrong = [(case, got) for case, got in results if not _close(got, _q2_expected(*case[1:]))]
    case, got = wrong[0]
    label, mask, y, x, w0, sigma = case
    g = _geometry(mask, y, x)
    fields = _q2_fields(case, got, g)
    if not np.isfinite(got):
        why = (
            " This mask has a single cell: there is no second-nearest cell, and the border term is 0 (d2 is "
            "infinitely far)."
            if g["n_cells"] < 2
            else " A division by zero, or the distance to a cell that does not exist?"
        )
        raise Mistake(f"On {label} you returned {got}; expected {fields['expected']:.4f}.{why}")
    if g["n_cells"] < 2 and g["cls"] == 0 and _close(got, _weight(g, w0, sigma, pair="pixels")):
        raise Mistake(
            f"On {label} you returned {got:.4f}, expected {fields['expected']:.4f}: this mask has a single cell, so "
            "there is no second-nearest cell and no border term: w = w_c. Your d2 is the distance to a second "
            "pixel of the same cell."
        )
    geometries = [(c, gt, _geometry(c[1], c[2], c[3])) for c, gt in results]
    # a mistake that explains every answer, else one that alone explains the first wrong answer
    for options, message in _Q2_MISTAKES:
        if all(_close(gt, _weight(geo, c[4], c[5], **options)) for c, gt, geo in geometries):
            raise Mistake(message.format(**fields))
    if all(_close(gt, _weight(geo, 10.0, 5.0)) for c, gt, geo in geometries):
        raise Mistake(
            f"On {label} you returned {got:.4f}, expected {fields['expected']:.4f}: that is the weight with the "
            f"paper's w0=10, sigma=5, but the call asked for w0={w0:g}, sigma={sigma:g}. Use the arguments."
        )
    matching = [message for options, message in _Q2_MISTAKES if _close(got, _weight(g, w0, sigma, **options))]
    if len(matching) == 1:
        raise Mistake(matching[0].format(**fields))
    raise Mistake(
        f"On {label} you returned {got:.4f}, expected {fields['expected']:.4f} = w_c {fields['wc']:.4f} + border "
        f"term {fields['border']:.4f}"
        + (f" (d1 = {fields['d1']:.4f}, d2 = {fields['d2']:.4f})." if g["cls"] == 0 else ".")
    )


@exercise(
    "q2",
    "the weight of a pixel between two cells",
    notebook=NOTEBOOK,
    reference=pixel_weight,
    hint=(
        "Two parts: w_c, the balanced weight of the pixel's class (max_count / count of class mask[y, x]), plus, "
        "on a membrane pixel only, w0 * exp(-(d1 + d2)**2 / (2 * sigma**2)).",
        "d1 and d2 are distances to two different CELLS: label the cells with ndimage.label(mask == 1), compute "
        "for each cell the distance from (y, x) to its nearest pixel (np.hypot of the row and column "
        "differences, then .min()), sort those, take the two smallest. With fewer than two cells there is no "
        "border term.",
    ),
)
def q2(answer):
    results = []
    for case in _q2_cases():
        label, mask, y, x, w0, sigma = case
        try:
            got = call(answer, mask.copy(), y, x, w0=w0, sigma=sigma, describe=f"on {label}")
            got = _one_number(got, label)
        except Mistake:
            if any(not _close(g, _q2_expected(*c[1:])) for c, g in results):
                break  # explain the wrong numbers first
            raise
        results.append((case, got))
    else:
        if all(_close(got, _q2_expected(*case[1:])) for case, got in results):
            first = results[0][1]
            return (
                f"correct! On the row [1, 1, 0, 0, 0, 1, 1] the gap pixel weighs {first:.2f} and a cell pixel 1: the "
                "loss insists on the thin membranes between touching cells, which is what keeps them apart in the "
                "prediction (the paper's figure 3d)."
            )
    _q2_diagnose(results)


# --------------------------------------------------------------------------------------
# q3: the Rand F-score of a proposal, from its definition
# --------------------------------------------------------------------------------------


def rand_fscore(labels, proposal):
    """V_Rand, the challenge's foreground-restricted Rand F-score, of a binary ``proposal``
    (1 = cell) against ``labels`` (1 = cell, 0 = membrane), one 2D image."""
    from scipy import ndimage

    labels, proposal = np.asarray(labels) == 1, np.asarray(proposal) == 1
    true_segments, _ = ndimage.label(labels)  # 4-connected cells
    found_segments, count = ndimage.label(proposal)
    t, s = true_segments[labels], found_segments[labels].copy()  # only the pixels that are cells in the truth
    membrane = s == 0  # called membrane by the proposal: each one a segment of its own
    s[membrane] = count + 1 + np.arange(membrane.sum())

    def sum_of_squares(*keys):
        _, sizes = np.unique(np.stack(keys), axis=1, return_counts=True)
        return float(np.sum(sizes.astype(np.float64) ** 2))

    together = sum_of_squares(t, s)  # pairs in the same segment in both
    v_split = together / sum_of_squares(t)
    v_merge = together / sum_of_squares(s)
    return 2 / (1 / v_split + 1 / v_merge)


def _vrand(labels, proposal, membrane="single", restrict=True, connectivity=4, mean="harmonic", pairs="ordered"):
    """V_Rand computed the right way or one of the typical wrong ways (for the diagnosis)."""
    from scipy import ndimage

    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    labels, proposal = np.asarray(labels) == 1, np.asarray(proposal) == 1
    true_segments, _ = ndimage.label(labels, structure)
    found_segments, count = ndimage.label(proposal, structure)
    keep = labels if restrict else np.ones_like(labels)
    t, s = true_segments[keep], found_segments[keep].copy()
    if membrane == "single":
        zero = s == 0
        s[zero] = count + 1 + np.arange(zero.sum())
    elif membrane == "drop":
        t, s = t[s > 0], s[s > 0]
    if t.size == 0:
        return float("nan")
    n = t.size if pairs == "unordered" else 0

    def squares(*keys):
        _, sizes = np.unique(np.stack(keys), axis=1, return_counts=True)
        return float(np.sum(sizes.astype(np.float64) ** 2)) - n

    together, split, merge = squares(t, s), squares(t), squares(s)
    if min(split, merge) <= 0:
        return float("nan")
    v_split, v_merge = together / split, together / merge
    if mean == "arithmetic":
        return (v_split + v_merge) / 2
    if together == 0:
        return 0.0
    return 2 / (1 / v_split + 1 / v_merge)


def _near(a, b):
    return bool(np.isclose(a, b, rtol=0, atol=1e-6))


def _q3_cases():
    """(label, labels, proposal)."""
    truth = np.ones((32, 32), np.uint8)
    truth[:, 15:17] = 0
    gap = truth.copy()
    gap[14:16, 15:17] = 1
    thick = truth.copy()
    thick[:, 14:18] = 0
    # two cells that touch only at a corner: one cell for 8-connectivity, two for 4
    diagonal = np.zeros((8, 8), np.uint8)
    diagonal[1:4, 1:4] = 1
    diagonal[4:7, 4:7] = 1
    # a proposal that finds an extra cell inside the true membrane, and splits a cell
    rows = np.zeros((10, 12), np.uint8)
    rows[1:4, 1:11] = 1
    rows[6:9, 1:11] = 1
    extra = rows.copy()
    extra[4:6, 3:6] = 1  # joins the two cells through the membrane
    extra[1:4, 6] = 0  # and cuts the upper cell in two
    # a proposal whose only link between two cells is one pixel touching both at corners
    columns = np.zeros((6, 9), np.uint8)
    columns[1:5, 1:4] = 1
    columns[1:5, 5:8] = 1
    corner = columns.copy()
    corner[0, 4] = 1  # diagonal neighbour of (1, 3) and (1, 5)
    return [
        ("the notebook's proposal A (a 2-pixel break merges the two cells)", truth, gap),
        ("the notebook's proposal B (the membrane drawn 4 pixels wide)", truth, thick),
        ("a perfect proposal", truth, truth.copy()),
        ("two cells touching at a corner, proposed as they are", diagonal, diagonal.copy()),
        ("a proposal that joins two cells across the membrane and cuts one", rows, extra),
        ("a proposal with one pixel touching two cells at their corners", columns, corner),
    ]


_Q3_MISTAKES = [
    (
        dict(membrane="zero"),
        "On {label} your F-score is {got:.4f}, expected {expected:.4f}: you put every cell pixel that the proposal "
        "calls membrane into ONE segment (the label 0 of ndimage.label). They are not one cell: each is a segment "
        "of its own (a singleton), so that a thick membrane splits pixels off their cell instead of merging them.",
    ),
    (
        dict(membrane="drop"),
        "On {label} your F-score is {got:.4f}, expected {expected:.4f}: you left out the cell pixels that the "
        "proposal calls membrane. They count, each as a segment of its own (a singleton): a proposal that draws "
        "the membranes too thick must lose something.",
    ),
    (
        dict(restrict=False),
        "On {label} your F-score is {got:.4f}, expected {expected:.4f}: you counted the pairs of ALL pixels, "
        "membrane included. The challenge's Rand index is foreground-restricted: only the pixels that are cells in "
        "the truth (labels == 1) count.",
    ),
    (
        dict(connectivity=8),
        "On {label} your F-score is {got:.4f}, expected {expected:.4f}: your segments are 8-connected (pixels that "
        "touch at a corner join). The challenge's are 4-connected, ndimage.label's default structure: two cells "
        "that meet at a corner stay two cells.",
    ),
    (
        dict(mean="arithmetic"),
        "On {label} your F-score is {got:.4f}, expected {expected:.4f}: (V_split + V_merge) / 2 is the arithmetic "
        "mean. An F-score is the harmonic mean, 2 / (1 / V_split + 1 / V_merge), which is low when either is low.",
    ),
    (
        dict(pairs="unordered"),
        "On {label} your F-score is {got:.4f}, expected {expected:.4f}: you counted the pairs of two DIFFERENT "
        "pixels (each sum of squares minus the pixel count), as Fiji did from 2012 to 2014. The course follows "
        "the challenge's code since 2015: ordered pairs, a pixel with itself included, so each sum is just "
        "sum(size**2).",
    ),
]


@exercise(
    "q3",
    "the Rand F-score of a proposal",
    notebook=NOTEBOOK,
    reference=rand_fscore,
    hint=(
        "Count pairs of pixels, but only pixels that are cells in the truth. A pair is 'together' in a "
        "segmentation when both pixels are in the same segment; V_split asks how many pairs together in the truth "
        "stay together in the proposal, V_merge the other way round. Their harmonic mean is the F-score.",
        "Label both with ndimage.label (4-connected), keep the pixels where labels == 1, and give every kept pixel "
        "that the proposal calls membrane a new label of its own. The number of ordered pairs in one segment is "
        "its size squared: sizes from np.unique(..., return_counts=True), of the true labels, of the proposed "
        "labels, and of the (true, proposed) label pairs.",
    ),
)
def q3(answer):
    results = []
    for label, labels, proposal in _q3_cases():
        got = call(answer, labels.copy(), proposal.copy(), describe=f"on {label}")
        got = _one_number(got, label)
        expected = rand_fscore(labels, proposal)
        if _near(got, expected):
            results.append(got)
            continue
        fields = dict(label=label, got=got, expected=expected)
        if _near(got, 1 - expected):
            raise Mistake(
                f"On {label} you returned {got:.4f}, the Rand ERROR (1 - F). The question asks for the F-score "
                f"V_Rand itself, {expected:.4f}."
            )
        for options, message in _Q3_MISTAKES:
            if _near(got, _vrand(labels, proposal, **options)):
                raise Mistake(message.format(**fields))
        raise Mistake(
            f"On {label} your F-score is {got:.4f}, expected {expected:.4f}. Compute V_split and V_merge separately "
            "and compare them with the package's rand_error(labels, proposal), which returns both ('v_split', "
            "'v_merge')."
        )
    return (
        f"correct! Proposal A scores {results[0]:.4f}, B {results[1]:.4f}: a break of 4 pixels merges two cells of "
        "480 pixels, so half of the pairs that A puts in one segment belong to different cells; B's 64 singletons "
        "split off only a small share of the pairs. "
        "The challenge ranked by this number because merges are what a connectomics lab pays for."
    )


# --------------------------------------------------------------------------------------
# q4: how many different crops
# --------------------------------------------------------------------------------------


def count_crops(slices, size, crop, flips, rot90):
    """Distinct ``crop`` x ``crop`` training crops of ``slices`` square images of side ``size``: every
    position, each in every orientation the flips (left-right and up-down) and quarter turns give."""
    positions = (size - crop + 1) ** 2  # a crop can start at 0 .. size - crop, in each direction
    orientations = {(False, False): 1, (True, False): 4, (False, True): 4, (True, True): 8}[bool(flips), bool(rot90)]
    return slices * positions * orientations


def _q4_cases():
    """(label, slices, size, crop, flips, rot90)."""
    return [
        ("25 slices of 512, 128x128 crops, flips, no turns (the course's recipe)", 25, 512, 128, True, False),
        ("1 image of 10, 3x3 crops, no flips, no turns", 1, 10, 3, False, False),
        ("2 images of 64, 32x32 crops, quarter turns only", 2, 64, 32, False, True),
        ("5 images of 100, 100x100 crops, flips and quarter turns", 5, 100, 100, True, True),
        ("30 slices of 512, 128x128 crops, flips and quarter turns", 30, 512, 128, True, True),
    ]


def _crop_variants(slices, size, crop, flips, rot90):
    """{mistake: count} of the typical wrong counts."""
    positions = (size - crop + 1) ** 2
    right = count_crops(slices, size, crop, flips, rot90) // positions // slices
    both = 16 if flips and rot90 else None
    variants = {
        "off_by_one": slices * (size - crop) ** 2 * right,
        "every_pixel": slices * size**2 * right,
        "no_slices": positions * right,
    }
    if both:
        variants["sixteen"] = slices * positions * 16
        variants["six"] = slices * positions * 6  # 2 flips + 4 turns, added
    if flips:
        variants["two_flips"] = slices * positions * (right // 2)  # one flip only (2 orientations where 4)
        variants["three"] = slices * positions * (3 if not rot90 else 6)  # the flips counted separately, not together
    return variants


_Q4_MESSAGES = {
    "off_by_one": (
        "On {label} you returned {got:,}, expected {expected:,}: off by one. A {crop}-pixel crop of a {size}-pixel "
        "side can start at 0, 1, ..., {size} - {crop}: that is {size} - {crop} + 1 = {start} positions per "
        "direction, not {size} - {crop}."
    ),
    "every_pixel": (
        "On {label} you returned {got:,}, expected {expected:,}: you let a crop start at every pixel. It must fit "
        "inside the image: {size} - {crop} + 1 = {start} starting positions per direction."
    ),
    "no_slices": (
        "On {label} you returned {got:,}, expected {expected:,}: that is the count for one image. Multiply by the "
        "number of images ({slices})."
    ),
    "sixteen": (
        "On {label} you returned {got:,}, expected {expected:,}: 4 flip combinations x 4 turns = 16 counts some "
        "orientations twice. Flipping both ways IS a half turn, and a flip followed by a quarter turn is a flip "
        "about a diagonal: a square has 8 symmetries (4 turns, each with or without one mirror)."
    ),
    "six": (
        "On {label} you returned {got:,}, expected {expected:,}: you added the flips and the turns. They combine: "
        "each of the 4 turns with or without a mirror, 8 orientations."
    ),
    "two_flips": (
        "On {label} you returned {got:,}, expected {expected:,}: the recipe flips left-right AND up-down, each "
        "independently with probability 1/2: 4 combinations (none, one, the other, both), not 2."
    ),
    "three": (
        "On {label} you returned {got:,}, expected {expected:,}: you counted none, left-right and up-down, but "
        "not both flips together (a half turn): 4 combinations."
    ),
}


@exercise(
    "q4",
    "how many different training crops",
    notebook=NOTEBOOK,
    reference=count_crops,
    hint=(
        "Two counts multiplied (and the number of images): where a crop can start, and how many different ways "
        "the flips and turns can show it.",
        "Count starting positions with a tiny case by hand (a 3-pixel crop of a 4-pixel side). For the "
        "orientations, list what two independent flips give; then ask which of those a quarter turn would repeat.",
    ),
)
def q4(answer):
    for label, slices, size, crop, flips, rot90 in _q4_cases():
        got = call(answer, slices, size, crop, flips, rot90, describe=f"on {label}")
        got = _one_number(got, label)
        expected = count_crops(slices, size, crop, flips, rot90)
        if got == expected:
            continue
        fields = dict(label=label, got=int(got), expected=expected, crop=crop, size=size, slices=slices,
                      start=size - crop + 1)  # fmt: skip
        for mistake, count in _crop_variants(slices, size, crop, flips, rot90).items():
            if got == count:
                raise Mistake(_Q4_MESSAGES[mistake].format(**fields))
        raise Mistake(
            f"On {label} you returned {got:,.0f}, expected {expected:,}: {slices} images x {size - crop + 1}**2 "
            "positions x the number of orientations."
        )
    return (
        f"correct! The course's recipe sees {count_crops(25, 512, 128, True, False):,} different crops (before "
        "its continuous rotations and zooms), and quarter turns would double that: a square has 8 symmetries, "
        "not 16, because flipping both ways is already a half turn."
    )


# --------------------------------------------------------------------------------------
# p1: which proposal has the lower Rand error
# --------------------------------------------------------------------------------------


def _p1_explain(guess, actual):
    if guess == "A" and actual == "B":
        return (
            "You went by the wrong pixels: A has 4, B 64. The Rand error counts pairs of cell pixels put in the "
            "wrong relation: A's 4 pixels join two cells of 480 pixels, so half of the pairs that A puts in one "
            "segment belong to different cells; B's extra membrane only splits 32 pixels off each cell."
        )
    if guess == "equal":
        return (
            "Both are wrong somewhere, but not equally: the Rand error weighs what each mistake does to pairs of "
            "cell pixels. A's break makes one segment of two cells (a merge: half of its pairs are wrong); B's "
            "thick membrane makes 64 singletons, each split off its cell (a small share of the pairs)."
        )
    return None


p1 = Prediction(
    "p1",
    "which proposal gets the lower Rand error: 'A', 'B' or 'equal'",
    notebook=NOTEBOOK,
    choices=("A", "B", "equal"),
    explain=_p1_explain,
)

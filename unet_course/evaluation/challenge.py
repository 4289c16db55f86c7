"""The ISBI 2012 EM segmentation challenge's metrics: pixel error and Rand error.

The U-Net paper (Ronneberger et al. 2015, Table 1) reports three numbers for its ISBI 2012
submission, computed by the challenge's server on the 30 test slices: **warping error
0.000353, Rand error 0.0382, pixel error 0.0611** (:data:`UNET_PAPER_ISBI2012`). The
challenge is described in Arganda-Carreras et al. 2015 (doi:10.3389/fnana.2015.00142);
its evaluation page points to the code, Fiji's ``trainableSegmentation.metrics``
(``PixelError.java``, ``RandError.java`` in github.com/fiji/Trainable_Segmentation), and to
the ImageJ script "Segmentation evaluation metrics" that calls it (pixel error and
foreground-restricted Rand error over the thresholds ``(0.0, 1.0, 0.1)``, warping error over
``(0.0, 0.9, 0.1)``). This module computes the first two from their definitions there, with
NumPy and ``scipy.ndimage``, and gives Fiji's numbers to 1e-12 (``tests/test_evaluation_challenge.py``).

Conventions (those of :func:`unet_course.data.isbi2012.load_isbi2012`): ``labels`` hold
1 = cell (inside a neurite) and 0 = membrane; the proposal is the **cell probability** of
each pixel (``probabilities[..., 1]`` of a two-class softmax) or a binary 0/1 map. A model
that outputs the membrane probability must pass ``1 - p``. At each threshold ``t`` a pixel
of the proposal is a cell when its value is ``> t``, compared as Fiji compares: the map as
32-bit floats (the challenge's TIFF submissions) against ``t`` as a 64-bit float.

- **Pixel error** (:func:`pixel_error`) = 1 - the maximal F-score, over the thresholds, of
  the cell pixels: a pixel is *positive* when it is a cell (label 1, proposal ``> t``), as in
  ``PixelError.precisionRecallStats``. F = 2 TP / (2 TP + FP + FN) over all pixels (Fiji's
  precision is 1 when FP = 0 and its recall 1 when FN = 0, which gives the same F, and
  F = 1 when there is nothing to find and nothing found).
- **Rand error** (:func:`rand_error`) = 1 - the maximal F-score V_Rand, over the thresholds,
  of the *foreground-restricted* Rand index: the challenge's original Rand error, the one in
  the U-Net paper's Table 1. Segments are the 4-connected components (Fiji's
  ``connectedComponents(..., 4)``) of the cell pixels of the labels and of the thresholded
  proposal. Only pixels that are cells in the labels count. A pixel that the proposal calls
  membrane there is a **segment of its own** (a singleton: it is in the same segment only as
  itself), as the ``p_i0`` terms of ``getForegroundRestrictedRandIndexStatsN2`` do. With
  ``p_ij`` the fraction of those pixels in true segment ``i`` and proposed segment ``j``,
  ``t_i`` and ``s_j`` the fractions in each (singletons included), Arganda-Carreras eq. 3
  with alpha = 1/2 reads::

      V_split = sum p_ij^2 / sum t_i^2      (1 when no true segment is split)
      V_merge = sum p_ij^2 / sum s_j^2      (1 when no two true segments are merged)
      V_Rand  = 2 / (1 / V_split + 1 / V_merge)

  In pair counts: ``sum p_ij^2`` is the share of the (ordered, a pixel with itself included)
  pairs of true-cell pixels that are together in both segmentations, ``V_split`` the share
  of the pairs together in the truth that are together in the proposal, ``V_merge`` the
  share of the pairs together in the proposal that are together in the truth. Fiji's
  ``precision`` is ``V_merge``, its ``recall`` ``V_split``. Fiji has counted pairs so since
  January 2015 (the script above is dated January 22, 2015); from 2012 to 2014 it counted
  the unordered pairs of two different pixels, which is each count here less the number of
  true-cell pixels (the self-pairs), and gives slightly different numbers. Which of the two
  scored the U-Net entry is stated neither in the paper nor on the challenge pages; this module follows the code
  since 2015 and the challenge paper.

**Several images.** An ``(N, H, W)`` stack is scored as the challenge scores its 30-slice
test stack: every slice is segmented in 2D (no component runs from one slice into the
next), and the counts of all slices are added before the F-score is taken (pixels for the
pixel error, pairs of pixels *within a slice* for the Rand error: a micro-average, as
``getPrecisionRecallStats`` and ``getForegroundRestrictedRandIndexStats`` sum TP, FP and FN
over the slices). It is not the mean of the slices' scores, and it is not a 3D volume.

**After border thinning** (``rand_error(..., thinning=True)``). After the paper, the
challenge re-ranked its leader board by V_Rand *after thinning* (Arganda-Carreras et al.
2015; ImageJ script "Segmentation evaluation after border thinning", January 2016): the
proposal's membrane is thinned to 1-pixel dams by a classic watershed (Soille and Vincent's
flooding, 4-connected, of the inverted binary proposal; ``WatershedTransform2D``), the dam
pixels are singletons and the labels are not thinned. That script averages the slices'
V_Rand (a macro-average, ``getMaximalVRandAfterThinning(0.0, 1.0, 0.1, true)``), and so
does this option. The flooding visits pixels in Fiji's order (columns, then rows; neighbours
left, up, right, down), which decides where a dam goes in a membrane of even width. The
flooding is a plain Python loop over the membrane pixels: about 0.05 s per 512 x 512 slice
and threshold, some 20 s for a 30-slice stack at the 11 thresholds. The U-Net paper's
Table 1 predates it: compare Table 1 with ``thinning=False``.

**The warping error is left out.** It warps the labels towards the proposal by flipping
*simple points* (pixels whose flip keeps the topology, tested on 3x3 neighbourhoods under a
pair of 4/8 adjacencies) in a geodesic, distance-ordered sequence, then classifies the
remaining mismatches into splits, mergers, new and deleted objects and holes, and counts
the clusters of the splits and mergers larger than a size threshold (``WarpingError.java``,
``getMinimumSplitsAndMergersErrorValue(0.0, 0.9, 0.1, false, 20)``). The count depends on
the order of the flips and on those choices, so a reimplementation that is not a line-by-line
port would give other numbers while looking authoritative. Fiji computes it.

**What is not the challenge's.** A slice without any cell pixel has no pairs: here it adds
nothing to the Rand counts and is left out of the thinned average, and a stack with no cell
pixel at all raises ``ValueError``. Fiji divides by zero on such a slice: its counts turn
NaN and its V_Rand is 0 for the whole stack (0 for that slice in the thinned average). The
ISBI slices all hold cells. Labels must be 0/1 (Fiji also thresholds the labels at ``t``,
which for 0/1 labels and ``t < 1`` is the same). The counts are exact integers.

Example: a proposal that misses the membrane between two cells merges them.

>>> labels = np.array([[1, 1, 0, 1, 1, 1, 1]])
>>> merged = np.ones((1, 7))
>>> result = rand_error(labels, merged)
>>> round(result["v_split"], 4), round(result["v_merge"], 4), round(result["error"], 4)
(1.0, 0.5556, 0.2857)
>>> round(pixel_error(labels, merged)["error"], 4)  # one false cell pixel: F = 12 / 13
0.0769
"""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy import ndimage

from unet_course._validation import as_mask_array

#: The challenge's thresholds: Fiji's ``for (th = 0.0; th <= 1.0; th += 0.1)``, 11 values.
#: Adding 0.1 ten times gives 0.9999999999999999, so the last threshold keeps the pixels
#: whose value is exactly 1.0 (a binary proposal is the same at every threshold). The others
#: are written 0.3, 0.8, 0.9 where Java has 0.30000000000000004, 0.7999999999999999,
#: 0.8999999999999999: no 32-bit float lies between the two, so the cells are the same.
CHALLENGE_THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, float(np.nextafter(1.0, 0.0)))

#: The U-Net paper's ISBI 2012 results (Ronneberger et al. 2015, Table 1).
UNET_PAPER_ISBI2012 = {"warping_error": 0.000353, "rand_error": 0.0382, "pixel_error": 0.0611}

_CROSS = ndimage.generate_binary_structure(2, 1)  # 4-connectivity, as Fiji's connectedComponents(..., 4)
_CROSS_PER_SLICE = np.stack([np.zeros_like(_CROSS), _CROSS, np.zeros_like(_CROSS)])  # no link between slices


def _check_labels(labels) -> np.ndarray:
    labels = as_mask_array("labels", labels)
    if labels.ndim not in (2, 3):
        hint = " If the last axis has size 1, squeeze it (labels[..., 0])." if labels.shape[-1] == 1 else ""
        raise ValueError(
            f"labels must be one image (height, width) or a stack (slices, height, width), got shape "
            f"{labels.shape}.{hint}"
        )
    values = np.unique(labels)
    if not np.all(np.isin(values, [0, 1])):
        hint = ""
        if values.max() == 255:
            hint = " They look like PNG values 0/255: use labels // 255, or load_isbi2012, which maps them."
        raise ValueError(
            f"labels must hold 1 = cell and 0 = membrane only, but they hold the values {values[:6].tolist()}.{hint}"
        )
    return labels.astype(bool)


def _check_proposal(cell_probability, labels: np.ndarray) -> np.ndarray:
    try:
        values = np.asarray(cell_probability)
    except Exception as error:  # pragma: no cover - exotic inputs
        raise ValueError(f"cell_probability could not be read as an array: {error}") from None
    if values.dtype == object or not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise ValueError(f"cell_probability must be a numeric array, got dtype {values.dtype}.")
    if values.shape != labels.shape:
        hint = ""
        if values.ndim == labels.ndim + 1 and values.shape[-1] == 2:
            hint = " It has a last axis of 2 classes: pass the cell class, probabilities[..., 1]."
        elif values.ndim == labels.ndim + 1 and values.shape[-1] == 1:
            hint = " It has a trailing axis of size 1: squeeze it (probabilities[..., 0])."
        raise ValueError(
            f"labels have shape {labels.shape} but cell_probability has shape {values.shape}; they must match.{hint}"
        )
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("cell_probability holds NaN or infinite values; pass probabilities in [0, 1].")
    low, high = float(values.min()), float(values.max())
    if low < 0 or high > 1:
        hint = " It looks like 0..255 image values: divide by 255." if high > 1 and high <= 255 and low >= 0 else ""
        hint = hint or " For logits, apply a softmax (or a sigmoid) first."
        raise ValueError(f"cell_probability must lie in [0, 1], but it ranges over [{low:g}, {high:g}].{hint}")
    # Fiji reads the proposal as 32-bit floats and compares it with a double threshold.
    return values.astype(np.float32).astype(np.float64)


def _check_thresholds(thresholds) -> tuple[float, ...]:
    if thresholds is None:
        return CHALLENGE_THRESHOLDS
    try:
        values = np.asarray(thresholds, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ValueError(
            f"thresholds must be numbers in [0, 1], got {thresholds!r}; or None for the challenge's 11."
        ) from None
    if values.size == 0:
        raise ValueError(
            "thresholds is empty; pass at least one threshold in [0, 1] (e.g. thresholds=(0.5,)), "
            "or None for the challenge's 11."
        )
    bad = values[~np.isfinite(values) | (values < 0) | (values > 1)]
    if bad.size:
        raise ValueError(
            f"thresholds must lie in [0, 1], got {bad[:3].tolist()}; a pixel is a cell where its probability "
            "exceeds the threshold."
        )
    return tuple(float(t) for t in np.unique(values))  # sorted, so ties go to the lowest threshold as in Fiji


def _best(f_scores: dict) -> float:
    """The threshold of the maximal F-score; the lowest one among equals (Fiji keeps the first, ascending)."""
    best = max(f_scores.values())
    return min(t for t, f in f_scores.items() if f == best)


def pixel_error(labels, cell_probability, thresholds=None) -> dict:
    """The challenge's pixel error: 1 - the maximal F-score of the cell pixels over ``thresholds``.

    Args:
        labels: 1 = cell, 0 = membrane; one image ``(H, W)`` or a stack ``(N, H, W)``
            (the pixels of every slice are counted together).
        cell_probability: the probability that each pixel is a cell, in [0, 1], or a 0/1 map,
            the same shape as ``labels``.
        thresholds: where to cut the proposal (a pixel is a cell where its value ``> t``);
            default :data:`CHALLENGE_THRESHOLDS`.

    Returns a dict: ``error`` (1 - ``f_score``), ``f_score``, ``precision`` and ``recall`` at
    the best threshold, ``threshold`` (the best; the lowest among equal F-scores) and
    ``f_scores`` (``{threshold: F-score}`` for every threshold, increasing).

    >>> pixel_error([[1, 1, 0, 0]], [[0.9, 0.4, 0.3, 0.0]], thresholds=(0.2, 0.5))["f_scores"]
    {0.2: 0.8, 0.5: 0.6666666666666666}
    """
    truth = _check_labels(labels)
    values = _check_proposal(cell_probability, truth)
    thresholds = _check_thresholds(thresholds)
    stats = {}
    positives = int(truth.sum())
    for t in thresholds:
        cells = values > t
        tp = int(np.count_nonzero(cells & truth))
        fp = int(np.count_nonzero(cells)) - tp
        fn = positives - tp
        precision = 1.0 if fp == 0 else tp / (tp + fp)
        recall = 1.0 if fn == 0 else tp / (tp + fn)
        f_score = 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
        stats[t] = (f_score, precision, recall)
    f_scores = {t: s[0] for t, s in stats.items()}
    best = _best(f_scores)
    f_score, precision, recall = stats[best]
    return {
        "error": 1.0 - f_score,
        "f_score": f_score,
        "precision": precision,
        "recall": recall,
        "threshold": best,
        "f_scores": f_scores,
    }


def _segments(cells: np.ndarray) -> np.ndarray:
    """4-connected components of each slice of a boolean ``(N, H, W)`` stack, numbered 1.. across the stack."""
    return ndimage.label(cells, structure=_CROSS_PER_SLICE)[0]


def _rand_counts(true_segments: np.ndarray, proposed_segments: np.ndarray) -> tuple[int, int, int]:
    """Pair counts over the pixels with a true segment (> 0): together in both, in the truth, in the proposal.

    Proposed segment 0 (membrane in the proposal) is a singleton per pixel. The pairs are ordered
    and a pixel pairs with itself, so ``sum n_ij^2`` etc., the numerators of Arganda-Carreras eq. 3.
    """
    inside = true_segments > 0
    true_ids = true_segments[inside].astype(np.int64)
    proposed_ids = proposed_segments[inside].astype(np.int64)
    singletons = int(np.count_nonzero(proposed_ids == 0))
    together_in_truth = int((np.bincount(true_ids).astype(np.int64) ** 2).sum())
    joined = proposed_ids > 0
    proposed_sizes = np.bincount(proposed_ids[joined]).astype(np.int64)
    together_in_proposal = int((proposed_sizes**2).sum()) + singletons
    keys = true_ids[joined] * (int(proposed_ids.max(initial=0)) + 1) + proposed_ids[joined]
    overlaps = np.unique(keys, return_counts=True)[1].astype(np.int64)
    together_in_both = int((overlaps**2).sum()) + singletons
    return together_in_both, together_in_truth, together_in_proposal


def _scores(both: int, truth: int, proposal: int) -> tuple[float, float, float]:
    """(V_Rand, V_split, V_merge) from the pair counts; V_Rand is their harmonic mean."""
    return 2 * both / (truth + proposal), both / truth, both / proposal


_MASK, _WSHED, _INQUEUE = -2, 0, -3


def _thinned_segments(cells: np.ndarray) -> np.ndarray:
    """Segments of one binary proposal slice after thinning its membrane to 1-pixel dams (label 0).

    The classic watershed (Soille and Vincent's flooding simulation, 4-connected) of the
    inverted proposal, which has two levels: the cells (0) become one basin per component;
    then the membrane (255) floods from the basins breadth first, a pixel reached from two
    basins becomes a dam, and membrane out of reach of every basin becomes basins of its own.
    Pixels are visited in Fiji's order (column by column, each from the top; neighbours left,
    up, right, down), as in ``WatershedTransform2D``: the order decides where the dams go.
    """
    height, width = cells.shape
    if cells.all() or not cells.any():  # one level: one basin over the whole (connected) image
        return np.ones(cells.shape, np.int64)
    scan = np.ascontiguousarray(cells.T)  # scan[x, y]: flat index x * height + y is Fiji's visiting order
    basins, count = ndimage.label(scan, structure=_CROSS)
    membrane = ~scan
    padded = np.pad(scan, 1)
    touches_basin = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    start = np.flatnonzero(membrane & touches_basin)
    labels = basins.ravel().tolist()
    for p in np.flatnonzero(membrane).tolist():
        labels[p] = _MASK
    for p in start.tolist():
        labels[p] = _INQUEUE
    fifo = deque(start.tolist())
    last_x = (width - 1) * height
    flag = False
    while fifo:
        p = fifo.popleft()
        y = p % height
        neighbours = []
        if p >= height:
            neighbours.append(p - height)
        if y > 0:
            neighbours.append(p - 1)
        if p < last_x:
            neighbours.append(p + height)
        if y < height - 1:
            neighbours.append(p + 1)
        for q in neighbours:
            lq = labels[q]
            if lq > 0:
                lp = labels[p]
                if lp == _INQUEUE or (lp == _WSHED and flag):
                    labels[p] = lq
                elif lp > 0 and lp != lq:
                    labels[p] = _WSHED
                    flag = False
            elif lq == _WSHED:
                if labels[p] == _INQUEUE:
                    labels[p] = _WSHED
                    flag = True
            elif lq == _MASK:
                labels[q] = _INQUEUE
                fifo.append(q)
    out = np.array(labels, np.int64).reshape(width, height)
    unreached = out == _MASK  # membrane that no basin reaches: new minima at the membrane level
    if unreached.any():
        extra, _ = ndimage.label(unreached, structure=_CROSS)
        out[unreached] = extra[unreached] + count
    return out.T


def rand_error(labels, cell_probability, thresholds=None, *, thinning: bool = False) -> dict:
    """The challenge's Rand error: 1 - the maximal foreground-restricted V_Rand over ``thresholds``.

    Args:
        labels: 1 = cell, 0 = membrane; one image ``(H, W)`` or a stack ``(N, H, W)``.
        cell_probability: the probability that each pixel is a cell, in [0, 1], or a 0/1 map,
            the same shape as ``labels``.
        thresholds: where to cut the proposal (a pixel is a cell where its value ``> t``);
            default :data:`CHALLENGE_THRESHOLDS`.
        thinning: ``False`` (default) for the original Rand error of 2012-2015, the one in the
            U-Net paper's Table 1; ``True`` for V_Rand after border thinning, the later ranking
            (slow: see the module docstring).

    Segments are the 4-connected components of the cells in each slice; only the true cell
    pixels count, and the proposal's membrane pixels among them are singletons (see the module
    docstring for the formulas). A stack adds the pair counts of its slices (with
    ``thinning=True``: averages the slices' V_Rand, as the official script; ``v_split`` and
    ``v_merge`` are then the slices' means too, and slices without cell pixels are skipped).

    Returns a dict: ``error`` (1 - ``v_rand``), ``v_rand``, ``v_split`` and ``v_merge`` at the
    best threshold, ``threshold`` (the best; the lowest among equal scores) and ``f_scores``
    (``{threshold: V_Rand}`` for every threshold, increasing).

    >>> labels = [[1, 1, 1, 0, 1, 1, 1]]
    >>> split = [[1, 1, 1, 0, 1, 0.2, 1]]  # the right cell cut in two at 0.5, whole at 0.1
    >>> result = rand_error(labels, split, thresholds=(0.1, 0.5))
    >>> result["threshold"], result["error"], round(result["f_scores"][0.5], 4)
    (0.1, 0.0, 0.8)
    """
    truth = _check_labels(labels)
    values = _check_proposal(cell_probability, truth)
    thresholds = _check_thresholds(thresholds)
    if not truth.any():
        raise ValueError(
            "labels hold no cell pixel (all 0 = membrane), so the Rand error, which compares the cells' "
            "segments, is undefined. Check the label convention: 1 = cell, 0 = membrane."
        )
    stack = truth.ndim == 3
    truth, values = (truth, values) if stack else (truth[None], values[None])
    true_segments = _segments(truth)
    per_threshold = {}
    for t in thresholds:
        cells = values > t
        if not thinning:
            per_threshold[t] = _scores(*_rand_counts(true_segments, _segments(cells)))
            continue
        slices = [
            _scores(*_rand_counts(true_segments[k], _thinned_segments(cells[k])))
            for k in range(len(cells))
            if truth[k].any()
        ]
        per_threshold[t] = tuple(float(np.mean(column)) for column in zip(*slices))
    f_scores = {t: s[0] for t, s in per_threshold.items()}
    best = _best(f_scores)
    v_rand, v_split, v_merge = per_threshold[best]
    return {
        "error": 1.0 - v_rand,
        "v_rand": v_rand,
        "v_split": v_split,
        "v_merge": v_merge,
        "threshold": best,
        "f_scores": f_scores,
    }

"""Evaluation reports: what a trained model gets right and wrong, image by image.

:func:`evaluate_predictions` compares true masks with predicted masks and returns a *report*,
a plain dict that :func:`write_json` saves as it is and :func:`write_csv` saves as a table of
images. :func:`evaluate_model` predicts first (with :func:`unet_course.inference.predict`, so
any image size works). :func:`threshold_sweep` scores a binary task at several thresholds and
:func:`worst_images` picks the images to look at first.

Every number is computed from confusion matrices of :mod:`unet_course.metrics`, so it equals
the package metrics (and scikit-learn's ``jaccard_score``, ``f1_score`` and
``confusion_matrix`` with ``zero_division=1.0``, as ``tests/test_evaluation_reports.py`` checks).

Conventions:

- Pixels whose true label is ``ignore_index`` count for nothing (see :mod:`unet_course.metrics`).
- The pooled scores (``pixel_accuracy``, ``per_class_iou``, ``dice``, ``confusion_matrix``) sum
  the pixels of every image before dividing, so a large image weighs more than a small one.
- A class that is in neither the truth nor the prediction (after ignoring) cannot be scored: its
  IoU and Dice are ``None`` (JSON ``null``, an empty CSV cell) rather than the package's
  ``EMPTY_SCORE``, and ``mean_iou`` / ``mean_dice`` average over the **classes present in the
  truth or the prediction** (listed in ``classes_present``). The same rule holds per image.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from unet_course._validation import as_mask_array, check_positive_int
from unet_course.metrics import (
    EMPTY_SCORE,
    _check_ignore_index,
    confusion_matrix,
    dice_from_confusion,
    iou_from_confusion,
)


def _stackable(items):
    try:
        array = np.asarray(items)
    except ValueError:  # ragged: masks of different sizes
        return None
    return array if array.dtype != object and array.ndim in (2, 3) else None


def _mask_list(name, masks) -> list[np.ndarray]:
    if isinstance(masks, (list, tuple)) and _stackable(masks) is not None:
        masks = _stackable(masks)
    if isinstance(masks, (list, tuple)):
        if not masks:
            raise ValueError(f"{name} is empty; give at least one mask.")
        out = [as_mask_array(f"{name}[{i}]", m) for i, m in enumerate(masks)]
    else:
        array = as_mask_array(name, masks)
        if array.ndim == 2:
            out = [array]
        elif array.ndim == 3:
            out = list(array)
        else:
            hint = " If the last axis holds class probabilities, take argmax over it first." if array.ndim == 4 else ""
            raise ValueError(
                f"{name} must be one mask (H, W), a batch (N, H, W) or a list of masks, got shape {array.shape}.{hint}"
            )
    for i, m in enumerate(out):
        if m.ndim != 2:
            raise ValueError(f"{name}[{i}] has shape {m.shape}; each mask must be (height, width) of class ids.")
    return out


def _class_names(class_names, num_classes):
    if class_names is None:
        return [str(c) for c in range(num_classes)]
    names = [str(n) for n in class_names]
    if len(names) != num_classes or len(set(names)) != num_classes:
        raise ValueError(
            f"class_names must hold {num_classes} different names (one per class), got {list(class_names)!r}."
        )
    return names


def _scores(matrix, names):
    """IoU and Dice per class name from a confusion matrix; None for a class absent from both."""
    present = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
    iou = iou_from_confusion(matrix)
    dice = dice_from_confusion(matrix)
    iou_by_name = {n: (float(v) if p else None) for n, v, p in zip(names, iou, present)}
    dice_by_name = {n: (float(v) if p else None) for n, v, p in zip(names, dice, present)}
    mean_iou = float(np.mean(iou[present])) if present.any() else EMPTY_SCORE
    mean_dice = float(np.mean(dice[present])) if present.any() else EMPTY_SCORE
    return iou_by_name, dice_by_name, mean_iou, mean_dice, [int(c) for c in np.flatnonzero(present)]


def evaluate_predictions(
    masks, predictions, num_classes: int, ignore_index: int | None = None, class_names=None, names=None
) -> dict:
    """Report of predicted class-id masks against the true masks.

    Args:
        masks, predictions: one mask ``(H, W)``, a batch ``(N, H, W)`` or lists of masks
            (sizes may differ between images, not between a mask and its prediction).
        num_classes: classes ``0 .. num_classes - 1``.
        ignore_index: true label of pixels left out (void), or ``None``.
        class_names: one name per class (default ``"0"``, ``"1"``, ...), used as keys.
        names: one name per image (e.g. the file stems; default the index ``0, 1, ...``).

    Returns a dict with ``num_images``, ``num_pixels`` (pixels scored), ``class_names``,
    ``ignore_index``, ``pixel_accuracy``, ``mean_iou`` and ``mean_dice`` (over
    ``classes_present``: the classes in the truth or the prediction), ``per_class_iou`` and
    ``dice`` (class name -> score, ``None`` when absent), ``confusion_matrix`` (rows true,
    columns predicted) and ``per_image``: one row per image with ``image``, ``pixels``,
    ``pixel_accuracy`` (``None`` when every pixel is ignored), ``mean_iou``, ``mean_dice``,
    ``iou`` and ``dice`` (class name -> score).

    >>> report = evaluate_predictions([[0, 1, 1, 255]], [[0, 1, 0, 1]], 2, ignore_index=255)
    >>> report["pixel_accuracy"], report["per_class_iou"]
    (0.6666666666666666, {'0': 0.5, '1': 0.5})
    """
    num_classes = check_positive_int("num_classes", num_classes)
    ignore_index = _check_ignore_index(ignore_index)
    class_names = _class_names(class_names, num_classes)
    masks, predictions = _mask_list("masks", masks), _mask_list("predictions", predictions)
    if len(masks) != len(predictions):
        raise ValueError(f"Got {len(masks)} masks but {len(predictions)} predictions; give one prediction per mask.")
    names = list(range(len(masks))) if names is None else list(names)
    if len(names) != len(masks):
        raise ValueError(f"Got {len(names)} image names for {len(masks)} masks; give one name per image.")
    total = np.zeros((num_classes, num_classes), dtype=np.int64)
    rows = []
    for name, mask, prediction in zip(names, masks, predictions):
        if mask.shape != prediction.shape:
            raise ValueError(
                f"Image {name}: the mask is {mask.shape} but the prediction is {prediction.shape}; they must match."
            )
        matrix = confusion_matrix(mask, prediction, num_classes, ignore_index)
        total += matrix
        iou, dice, mean_iou, mean_dice, _ = _scores(matrix, class_names)
        pixels = int(matrix.sum())
        rows.append(
            {
                "image": int(name) if isinstance(name, (int, np.integer)) else name,
                "pixels": pixels,
                "pixel_accuracy": float(np.trace(matrix) / pixels) if pixels else None,
                "mean_iou": mean_iou,
                "mean_dice": mean_dice,
                "iou": iou,
                "dice": dice,
            }
        )
    pixels = int(total.sum())
    if pixels == 0:
        raise ValueError(f"Every pixel of every mask is ignore_index={ignore_index}: there is nothing to evaluate.")
    iou, dice, mean_iou, mean_dice, present = _scores(total, class_names)
    return {
        "num_images": len(masks),
        "num_pixels": pixels,
        "num_classes": num_classes,
        "class_names": class_names,
        "ignore_index": ignore_index,
        "pixel_accuracy": float(np.trace(total) / pixels),
        "mean_iou": mean_iou,
        "mean_dice": mean_dice,
        "classes_present": present,
        "per_class_iou": iou,
        "dice": dice,
        "confusion_matrix": total.tolist(),
        "per_image": rows,
    }


def model_num_classes(model) -> int:
    """Classes a model predicts: its output channels (2 for a one-channel sigmoid output)."""
    channels = model.output_shape[-1]
    return 2 if channels == 1 else int(channels)


def evaluate_model(
    model,
    images,
    masks,
    num_classes: int | None = None,
    *,
    ignore_index: int | None = None,
    class_names=None,
    names=None,
    return_predictions: bool = False,
    **predict_options,
):
    """Predict ``images`` with :func:`unet_course.inference.predict` and report against ``masks``.

    ``num_classes`` defaults to the model's (:func:`model_num_classes`); ``predict_options``
    (``tile_size``, ``overlap``, ``tta``, ``batch_size``, ``divisor``) go to ``predict``. With
    ``return_predictions=True`` the result is ``(report, predictions)``, predictions being a
    list of class-id masks.
    """
    from unet_course.inference import predict

    images = list(images) if not isinstance(images, list) else images
    predictions = predict(model, images, **predict_options)
    num_classes = model_num_classes(model) if num_classes is None else num_classes
    report = evaluate_predictions(
        masks, predictions, num_classes, ignore_index=ignore_index, class_names=class_names, names=names
    )
    return (report, predictions) if return_predictions else report


def threshold_sweep(masks, foreground_probabilities, thresholds=None, ignore_index: int | None = None) -> dict:
    """Scores of a binary task at several thresholds: a pixel is foreground when its probability exceeds it.

    Args:
        masks: true 0/1 masks (``(H, W)``, ``(N, H, W)`` or a list), ``ignore_index`` allowed.
        foreground_probabilities: the foreground probability of each pixel, same shapes
            (for a two-class softmax, ``probabilities[..., 1]``).
        thresholds: increasing values in [0, 1] (default 0.05, 0.10, ..., 0.95).

    Returns a dict of lists, one value per threshold: ``thresholds``, ``iou``, ``dice``,
    ``precision``, ``recall`` (pooled over every pixel; an empty denominator gives
    ``EMPTY_SCORE``, like scikit-learn's ``zero_division=1.0``), and ``best_threshold``,
    ``best_iou``, ``best_dice`` (IoU and Dice rank thresholds the same way; ties go to the
    threshold nearest 0.5).
    """
    ignore_index = _check_ignore_index(ignore_index)
    masks = _mask_list("masks", masks)
    if isinstance(foreground_probabilities, (list, tuple)) and _stackable(foreground_probabilities) is None:
        probabilities = [np.asarray(p, dtype=np.float64) for p in foreground_probabilities]
    else:
        array = np.asarray(foreground_probabilities, dtype=np.float64)
        probabilities = [array] if array.ndim == 2 else list(array)
    if len(probabilities) != len(masks) or any(p.shape != m.shape for p, m in zip(probabilities, masks)):
        raise ValueError(
            "foreground_probabilities must have one (H, W) map per mask, of the mask's size "
            f"(masks {[m.shape for m in masks][:3]}, probabilities {[p.shape for p in probabilities][:3]}). "
            "For a softmax output pass probabilities[..., 1]."
        )
    truth = np.concatenate([m.ravel() for m in masks])
    prob = np.concatenate([p.ravel() for p in probabilities])
    if ignore_index is not None:
        keep = truth != ignore_index
        truth, prob = truth[keep], prob[keep]
    values = np.unique(truth)
    if not np.isin(values, [0, 1]).all():
        raise ValueError(
            f"threshold_sweep is for binary masks (0/1), but the masks hold {values[:6].tolist()}; "
            "pass (mask == k) for class k."
        )
    if prob.size and (prob.min() < 0 or prob.max() > 1):
        raise ValueError(f"foreground_probabilities must lie in [0, 1], got values from {prob.min()} to {prob.max()}.")
    thresholds = (
        np.round(np.linspace(0.05, 0.95, 19), 10) if thresholds is None else np.asarray(thresholds, dtype=float)
    )
    if thresholds.ndim != 1 or thresholds.size == 0:
        raise ValueError(f"thresholds must be a non-empty list of numbers, got {thresholds!r}.")
    truth = truth.astype(bool)

    def ratio(a, b):
        return EMPTY_SCORE if b == 0 else float(a / b)

    result = {"thresholds": [float(t) for t in thresholds], "iou": [], "dice": [], "precision": [], "recall": []}
    for threshold in thresholds:
        predicted = prob > threshold
        tp = int(np.sum(predicted & truth))
        fp = int(np.sum(predicted & ~truth))
        fn = int(np.sum(~predicted & truth))
        result["iou"].append(ratio(tp, tp + fp + fn))
        result["dice"].append(ratio(2 * tp, 2 * tp + fp + fn))
        result["precision"].append(ratio(tp, tp + fp))
        result["recall"].append(ratio(tp, tp + fn))
    best = max(range(len(thresholds)), key=lambda i: (result["iou"][i], -abs(thresholds[i] - 0.5)))
    result.update(best_threshold=float(thresholds[best]), best_iou=result["iou"][best], best_dice=result["dice"][best])
    return result


def _row_value(row, key):
    if callable(key):
        return key(row)
    if ":" in key:
        metric, class_name = key.split(":", 1)
        if metric not in ("iou", "dice") or class_name not in row["iou"]:
            raise ValueError(f"key={key!r}: use 'iou:NAME' or 'dice:NAME' with a class name among {list(row['iou'])}.")
        return row[metric][class_name]
    if key not in row or isinstance(row[key], dict):
        options = [k for k, v in row.items() if isinstance(v, (int, float)) and k != "pixels"]
        raise ValueError(
            f"key={key!r} is not a per-image score; use one of {options}, 'iou:NAME', "
            "'dice:NAME' or a function of the row."
        )
    return row[key]


def worst_images(report: dict, k: int = 5, key="mean_iou") -> list[dict]:
    """The ``k`` per-image rows of ``report`` with the lowest ``key`` (worst first).

    ``key`` is a per-image score (``"mean_iou"``, ``"mean_dice"``, ``"pixel_accuracy"``),
    ``"iou:NAME"`` / ``"dice:NAME"`` for one class, or a function of a row. Rows where the
    score is ``None`` (the class absent from the image) are skipped.
    """
    k = check_positive_int("k", k)
    rows = [(row, _row_value(row, key)) for row in report["per_image"]]
    rows = [(row, value) for row, value in rows if value is not None]
    rows.sort(key=lambda pair: pair[1])
    return [row for row, _ in rows[:k]]


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(report: dict, path) -> Path:
    """Write ``report`` (or any dict of plain values and NumPy numbers) as indented JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(report), indent=2, allow_nan=False) + "\n")
    return path


def per_image_table(report: dict) -> tuple[list[str], list[list]]:
    """The per-image rows as a flat table: header, then one list of values per image."""
    names = report["class_names"]
    header = ["image", "pixels", "pixel_accuracy", "mean_iou", "mean_dice"]
    header += [f"iou_{n}" for n in names] + [f"dice_{n}" for n in names]
    rows = []
    for row in report["per_image"]:
        rows.append([row[h] for h in header[:5]] + [row["iou"][n] for n in names] + [row["dice"][n] for n in names])
    return header, rows


def write_csv(report: dict, path) -> Path:
    """Write the per-image table of ``report`` as CSV (an absent class is an empty cell)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header, rows = per_image_table(report)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def format_report(report: dict, worst: int = 5) -> str:
    """A short text table of ``report``: scores per class, the pooled scores, the worst images."""

    def number(value):
        return "   -  " if value is None else f"{value:6.4f}"

    width = max(5, *(len(n) for n in report["class_names"]))
    lines = [f"{'class':<{width}}  {'IoU':>6}  {'Dice':>6}"]
    for name in report["class_names"]:
        lines.append(f"{name:<{width}}  {number(report['per_class_iou'][name])}  {number(report['dice'][name])}")
    lines.append("")
    lines.append(
        f"images {report['num_images']}, pixels scored {report['num_pixels']}"
        + (f" (label {report['ignore_index']} ignored)" if report["ignore_index"] is not None else "")
    )
    lines.append(f"pixel accuracy {report['pixel_accuracy']:.4f}")
    lines.append(f"mean IoU       {report['mean_iou']:.4f}  (over classes present: {report['classes_present']})")
    lines.append(f"mean Dice      {report['mean_dice']:.4f}")
    rows = worst_images(report, min(worst, report["num_images"])) if worst else []
    if rows and report["num_images"] > 1:
        lines.append("")
        lines.append("worst images by mean IoU: " + ", ".join(f"{r['image']} ({r['mean_iou']:.4f})" for r in rows))
    return "\n".join(lines)

"""Evaluating segmentation models.

- :mod:`unet_course.evaluation.boundary`: the boundary band and boundary IoU (notebook 05),
  and ``evaluate_variants`` to compare models on the same images.
- :mod:`unet_course.evaluation.reports`: per-image reports (pixel accuracy, IoU and Dice per
  class), mean IoU over the classes present, the confusion matrix, a threshold sweep for
  binary tasks, the worst images, JSON and CSV output (used by ``unet-course evaluate``).
- :mod:`unet_course.evaluation.compare`: the course's one comparison rule (a mean difference
  over seeds, paired where the runs are, its 95% interval and a verdict in words).
- :mod:`unet_course.evaluation.challenge`: the ISBI 2012 challenge's pixel error and Rand error
  (the numbers of the U-Net paper's Table 1), as Fiji's ``trainableSegmentation.metrics`` defines them.

Everything is importable from ``unet_course.evaluation`` directly:

>>> from unet_course.evaluation import evaluate_predictions
>>> report = evaluate_predictions([[0, 0, 1, 1]], [[0, 1, 1, 1]], num_classes=2)
>>> report["per_class_iou"], report["mean_iou"]
({'0': 0.5, '1': 0.6666666666666666}, 0.5833333333333333)
"""

from unet_course.evaluation.boundary import boundary_band, boundary_iou, evaluate_variants, foreground_iou
from unet_course.evaluation.challenge import CHALLENGE_THRESHOLDS, UNET_PAPER_ISBI2012, pixel_error, rand_error
from unet_course.evaluation.compare import Comparison, compare, compare_to, mean_interval
from unet_course.evaluation.reports import (
    evaluate_model,
    evaluate_predictions,
    format_report,
    model_num_classes,
    per_image_table,
    threshold_sweep,
    worst_images,
    write_csv,
    write_json,
)

__all__ = [
    "CHALLENGE_THRESHOLDS",
    "Comparison",
    "UNET_PAPER_ISBI2012",
    "boundary_band",
    "boundary_iou",
    "compare",
    "compare_to",
    "evaluate_model",
    "evaluate_predictions",
    "evaluate_variants",
    "foreground_iou",
    "format_report",
    "mean_interval",
    "model_num_classes",
    "per_image_table",
    "pixel_error",
    "rand_error",
    "threshold_sweep",
    "worst_images",
    "write_csv",
    "write_json",
]

"""Evaluation reports: numbers equal the package metrics and scikit-learn, with and without void."""

import csv
import json

import keras
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score, jaccard_score, precision_score, recall_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from unet_course import metrics as M
from unet_course.evaluation import (
    boundary_iou,
    evaluate_model,
    evaluate_predictions,
    format_report,
    threshold_sweep,
    worst_images,
    write_csv,
    write_json,
)
from unet_course.inference import predict
from unet_course.models import build_unet


def masks_and_predictions(seed=0, num_classes=3, void=None, sizes=((12, 10), (8, 14), (16, 16))):
    rng = np.random.default_rng(seed)
    masks, predictions = [], []
    for height, width in sizes:
        mask = rng.integers(0, num_classes, (height, width))
        prediction = np.where(rng.random((height, width)) < 0.6, mask, rng.integers(0, num_classes, (height, width)))
        if void is not None:
            mask[rng.random((height, width)) < 0.25] = void
        masks.append(mask)
        predictions.append(prediction)
    return masks, predictions


def flat_kept(masks, predictions, void):
    t = np.concatenate([m.ravel() for m in masks])
    p = np.concatenate([q.ravel() for q in predictions])
    keep = t != void if void is not None else np.ones_like(t, bool)
    return t[keep], p[keep]


@pytest.mark.parametrize("void", [None, 255])
def test_pooled_numbers_equal_sklearn_and_package_metrics(void):
    masks, predictions = masks_and_predictions(1, void=void)
    report = evaluate_predictions(
        masks, predictions, 3, ignore_index=void, class_names=["bg", "a", "b"], names=["x", "y", "z"]
    )
    t, p = flat_kept(masks, predictions, void)
    labels = [0, 1, 2]
    assert report["num_pixels"] == t.size
    assert report["pixel_accuracy"] == pytest.approx(accuracy_score(t, p))
    np.testing.assert_array_equal(report["confusion_matrix"], sk_confusion_matrix(t, p, labels=labels))
    iou = jaccard_score(t, p, average=None, labels=labels, zero_division=1.0)
    dice = f1_score(t, p, average=None, labels=labels, zero_division=1.0)
    np.testing.assert_allclose([report["per_class_iou"][n] for n in ("bg", "a", "b")], iou)
    np.testing.assert_allclose([report["dice"][n] for n in ("bg", "a", "b")], dice)
    assert report["mean_iou"] == pytest.approx(iou.mean()) == pytest.approx(M.mean_iou(t, p, 3))
    assert report["classes_present"] == [0, 1, 2]
    # per image: the package metrics on each image's own pixels
    for row, mask, prediction, name in zip(report["per_image"], masks, predictions, "xyz"):
        assert row["image"] == name
        assert row["pixel_accuracy"] == pytest.approx(M.pixel_accuracy(mask, prediction, ignore_index=void))
        np.testing.assert_allclose(list(row["iou"].values()), M.per_class_iou(mask, prediction, 3, ignore_index=void))
        np.testing.assert_allclose(list(row["dice"].values()), M.per_class_dice(mask, prediction, 3, ignore_index=void))
        assert row["mean_iou"] == pytest.approx(M.mean_iou(mask, prediction, 3, ignore_index=void))


def test_mean_iou_is_over_classes_present_only():
    mask = np.array([[0, 0, 1, 1]])
    prediction = np.array([[0, 1, 1, 1]])  # class 2 nowhere
    report = evaluate_predictions(mask, prediction, 3)
    assert report["per_class_iou"]["2"] is None and report["dice"]["2"] is None
    assert report["classes_present"] == [0, 1]
    assert report["mean_iou"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert report["mean_iou"] != pytest.approx(M.mean_iou(mask, prediction, 3))  # the package counts absent as 1.0
    # a class only predicted (false positives) is present, and scores 0
    report = evaluate_predictions(mask, np.array([[0, 2, 1, 1]]), 3)
    assert report["per_class_iou"]["2"] == 0.0 and report["classes_present"] == [0, 1, 2]


def test_an_image_of_void_only_has_no_accuracy_but_is_listed():
    masks = [np.full((2, 2), 255), np.array([[0, 1], [1, 1]])]
    predictions = [np.zeros((2, 2), int), np.array([[0, 1], [0, 1]])]
    report = evaluate_predictions(masks, predictions, 2, ignore_index=255)
    assert report["per_image"][0]["pixels"] == 0 and report["per_image"][0]["pixel_accuracy"] is None
    assert report["pixel_accuracy"] == 0.75
    with pytest.raises(ValueError, match="nothing to evaluate"):
        evaluate_predictions(masks[:1], predictions[:1], 2, ignore_index=255)


def test_bad_inputs():
    with pytest.raises(ValueError, match="2 masks but 1 predictions"):
        evaluate_predictions([np.zeros((2, 2))] * 2, [np.zeros((2, 2))], 2)
    with pytest.raises(ValueError, match=r"mask is \(2, 2\) but the prediction is \(2, 3\)"):
        evaluate_predictions(
            [np.zeros((2, 2), int), np.zeros((3, 3), int)], [np.zeros((2, 3), int), np.zeros((3, 3), int)], 2
        )
    with pytest.raises(ValueError, match="class id 255"):
        evaluate_predictions(np.full((2, 2), 255), np.zeros((2, 2), int), 2)
    with pytest.raises(ValueError, match="class_names must hold 2"):
        evaluate_predictions(np.zeros((2, 2), int), np.zeros((2, 2), int), 2, class_names=["a"])
    with pytest.raises(ValueError, match="argmax"):
        evaluate_predictions(np.zeros((1, 2, 2, 2)), np.zeros((1, 2, 2, 2)), 2)


@pytest.mark.parametrize("void", [None, 255])
def test_threshold_sweep_matches_sklearn(void):
    rng = np.random.default_rng(3)
    masks = [rng.integers(0, 2, (10, 12)), rng.integers(0, 2, (7, 9))]
    probabilities = [np.clip(m * 0.5 + rng.random(m.shape) * 0.6, 0, 1) for m in masks]
    if void is not None:
        masks[0][:3] = void
    thresholds = [0.2, 0.5, 0.7, 0.9]
    sweep = threshold_sweep(masks, probabilities, thresholds, ignore_index=void)
    t, p = flat_kept(masks, probabilities, void)
    for i, threshold in enumerate(thresholds):
        predicted = (p > threshold).astype(int)
        assert sweep["iou"][i] == pytest.approx(jaccard_score(t, predicted, zero_division=1.0))
        assert sweep["dice"][i] == pytest.approx(f1_score(t, predicted, zero_division=1.0))
        assert sweep["precision"][i] == pytest.approx(precision_score(t, predicted, zero_division=1.0))
        assert sweep["recall"][i] == pytest.approx(recall_score(t, predicted, zero_division=1.0))
    best = int(np.argmax(sweep["iou"]))
    assert sweep["best_threshold"] == thresholds[best] and sweep["best_dice"] == max(sweep["dice"])
    assert len(set(sweep["iou"])) > 1  # the thresholds do give different scores
    assert threshold_sweep(masks, probabilities, ignore_index=void)["thresholds"][:2] == [0.05, 0.1]
    with pytest.raises(ValueError, match="binary"):
        threshold_sweep([np.full((2, 2), 2)], [np.zeros((2, 2))])
    with pytest.raises(ValueError, match="probabilities"):
        threshold_sweep(masks, [probabilities[0]])


def test_worst_images_and_keys():
    masks = [np.array([[0, 1], [1, 1]])] * 3
    predictions = [np.array([[0, 1], [1, 1]]), np.array([[1, 0], [0, 0]]), np.array([[0, 0], [1, 1]])]
    report = evaluate_predictions(masks, predictions, 2, names=["good", "bad", "middle"])
    assert [r["image"] for r in worst_images(report, 2)] == ["bad", "middle"]
    assert [r["image"] for r in worst_images(report, 5, key="pixel_accuracy")] == ["bad", "middle", "good"]
    assert [r["image"] for r in worst_images(report, 1, key="dice:1")] == ["bad"]
    assert [r["image"] for r in worst_images(report, 1, key=lambda row: -row["mean_iou"])] == ["good"]
    with pytest.raises(ValueError, match="not a per-image score"):
        worst_images(report, 1, key="accuracy")


def test_json_and_csv_round_trip(tmp_path):
    masks, predictions = masks_and_predictions(4, num_classes=2, void=255)
    masks[0][:] = 0
    predictions[0][:] = 0  # class 1 absent from image 0: an empty CSV cell, null in JSON
    report = evaluate_predictions(masks, predictions, 2, ignore_index=255, names=["a", "b", "c"])
    data = json.loads(write_json(report, tmp_path / "out" / "report.json").read_text())
    assert data["per_image"][0]["iou"]["1"] is None
    assert data["pixel_accuracy"] == pytest.approx(report["pixel_accuracy"])
    assert set(data) >= {"pixel_accuracy", "mean_iou", "per_class_iou", "dice", "per_image", "confusion_matrix"}
    with open(write_csv(report, tmp_path / "report.csv"), newline="") as file:
        rows = list(csv.DictReader(file))
    assert [r["image"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["iou_1"] == "" and float(rows[1]["iou_1"]) == pytest.approx(report["per_image"][1]["iou"]["1"])
    assert float(rows[2]["pixel_accuracy"]) == pytest.approx(report["per_image"][2]["pixel_accuracy"])
    text = format_report(report)
    assert "pixel accuracy" in text and f"{report['mean_iou']:.4f}" in text and "worst images" in text


def test_evaluate_model_equals_metrics_on_predict():
    keras.utils.set_random_seed(0)
    model = build_unet((None, None, 1), 2, depth=2, base_filters=4)
    rng = np.random.default_rng(5)
    images = [rng.random((20, 27, 1)).astype("float32"), rng.random((16, 16, 1)).astype("float32")]
    masks = [(im[..., 0] > 0.5).astype(np.uint8) for im in images]
    report, predictions = evaluate_model(model, images, masks, return_predictions=True)
    assert [p.shape for p in predictions] == [(20, 27), (16, 16)]
    for got, expected in zip(predictions, predict(model, images)):
        np.testing.assert_array_equal(got, expected)
    t, p = flat_kept(masks, predictions, None)
    assert report["num_classes"] == 2
    assert report["pixel_accuracy"] == pytest.approx(accuracy_score(t, p))
    assert report["dice"]["1"] == pytest.approx(f1_score(t, p, zero_division=1.0))


def test_boundary_functions_still_importable_from_the_package():
    mask = np.zeros((6, 6), int)
    mask[2:4, 2:4] = 1
    assert boundary_iou(mask, mask, 1) == 1.0

"""Smoke test of ``benchmarks/quality.py``: both recipes train on a 3-second budget and the
report has the expected structure.

Tiny synthetic data, offline, seconds. No quality or speed threshold is asserted: a
3-second training says nothing about quality; the real comparison is ``quality.py`` itself
(results in ``benchmarks/RESULTS_quality.md``).
"""

import dataclasses
import math

import numpy as np
import pytest


@pytest.fixture(scope="module")
def tiny(quality):
    from unet_course.data.synthetic import CLASS_NAMES, make_shapes

    images, masks = make_shapes(4, 32, seed=0)
    test_images, test_masks = make_shapes(2, 32, seed=1)
    return quality.Data("shapes", images, masks, test_images, test_masks, 4, tuple(CLASS_NAMES), "tiny shapes")


@pytest.fixture(scope="module")
def report(quality, tiny, tmp_path_factory):
    # eagerly: tracing both train steps costs far more than 3 s of training (and, on a busy
    # machine, took 90 s); what this smoke test checks does not depend on graph mode
    import tensorflow as tf

    tf.config.run_functions_eagerly(True)
    try:
        runs, pipelines = quality.run_benchmark({"shapes": tiny}, [3], [0], pipeline_seconds=0.2, log=lambda *a: None)
    finally:
        tf.config.run_functions_eagerly(False)
    path = tmp_path_factory.mktemp("quality") / "RESULTS_quality.md"
    verdicts = quality.write_report(runs, pipelines, {"shapes": tiny}, threads=1, path=path, command="test")
    return runs, pipelines, verdicts, path.read_text()


def test_both_recipes_ran_within_the_budget(report):
    runs, _, _, _ = report
    assert [r.recipe for r in runs] == ["textbook", "course"]
    for run in runs:
        assert run.steps >= 1 and len(run.batch_ends) == run.steps, run.recipe
        assert run.stopped_by == "time budget", run.recipe
        # it stops after the batch that passes the budget, not one batch later (a bound on the
        # elapsed seconds would test the machine's speed instead)
        assert len(run.batch_ends) == 1 or run.batch_ends[-2] < 3, (run.recipe, run.batch_ends[-3:])
        assert 0 < run.elapsed, run.recipe
        assert set(run.metrics) == {"foreground_dice", "mean_iou", "pixel_accuracy"}
        assert all(0 <= v <= 1 for v in run.metrics.values())


def test_scores_equal_the_package_metrics(quality, tiny):
    from unet_course.metrics import mean_iou, per_class_dice, pixel_accuracy

    predicted = tiny.test_masks[::-1].copy()  # a wrong but valid prediction
    scores = quality.score(tiny, predicted)
    assert scores["mean_iou"] == pytest.approx(mean_iou(tiny.test_masks, predicted, 4))
    assert scores["pixel_accuracy"] == pytest.approx(pixel_accuracy(tiny.test_masks, predicted))
    assert scores["foreground_dice"] == pytest.approx(np.mean(per_class_dice(tiny.test_masks, predicted, 4)[1:]))
    perfect = quality.score(tiny, tiny.test_masks)
    assert perfect["mean_iou"] == perfect["pixel_accuracy"] == 1.0


def test_pipeline_rates_are_positive(report):
    _, pipelines, _, _ = report
    assert len(pipelines["shapes"]) == 2
    assert all(math.isfinite(v) and v > 0 for v in pipelines["shapes"].values())


def test_report_structure(report):
    _, _, verdicts, text = report
    assert text.startswith("# Quality at equal wall-clock time")
    for needle in (
        "TensorFlow threads",
        "### shapes, budget 3 s",
        "| textbook |",
        "| course |",
        "Verdicts (the course's comparison rule, paired by seed, 95% interval):",
        "- mean IoU: course vs textbook (1 seed, paired)",
        "no difference detectable with 1 seed: an interval needs at least 2",
        "## Throughput",
    ):
        assert needle in text, needle
    assert [(d, b) for d, b, _ in verdicts] == [("shapes", 3)]


def test_only_the_better_mean_is_in_bold(quality, tiny, report, tmp_path):
    runs, pipelines, _, _ = report
    textbook, course = (dataclasses.replace(r, metrics=dict(r.metrics)) for r in runs)
    textbook.metrics.update(mean_iou=0.5, pixel_accuracy=0.9, foreground_dice=0.3)
    course.metrics.update(mean_iou=0.6, pixel_accuracy=0.8, foreground_dice=0.3)  # a tie on Dice: no bold
    path = tmp_path / "report.md"
    quality.write_report([textbook, course], pipelines, {"shapes": tiny}, threads=1, path=path, command="test")
    lines = path.read_text().splitlines()
    rows = {name: next(x for x in lines if x.startswith(f"| {name} |")) for name in ("textbook", "course")}
    assert "**0.600**" in rows["course"] and "**0.900**" in rows["textbook"]
    assert "**0.500**" not in rows["textbook"] and "**0.800**" not in rows["course"]
    assert "**0.300**" not in rows["textbook"] + rows["course"]


def test_textbook_unet_is_the_stated_architecture(quality):
    import keras

    model = quality.textbook_unet(1, 2)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert (
        kinds.count("Conv2D") == 2 * 9 + 1 and kinds.count("Conv2DTranspose") == 4 and kinds.count("MaxPooling2D") == 4
    )
    assert not any("Normalization" in k for k in kinds)
    assert model(keras.ops.zeros((1, 48, 64, 1))).shape == (1, 48, 64, 2)  # any size divisible by 16


def test_a_candidate_recipe_is_trained_and_named_in_the_report(quality, tiny, report, tmp_path, monkeypatch):
    runs, pipelines, _, _ = report
    seen = {}

    def spy(data, seed, budget, changes=None):
        seen["changes"] = changes
        return runs[1]  # the course run the fixture trained: what is checked here is the wiring

    monkeypatch.setattr(quality, "train_course", spy)
    monkeypatch.setattr(quality, "train_textbook", lambda data, seed, budget: runs[0])
    changes = {"precision": "mixed_bfloat16", "dice_weight": 0.5}
    quality.run_benchmark(
        {"shapes": tiny}, [3], [0], pipeline_seconds=0.05, log=lambda *a: None, course_changes=changes
    )
    assert seen["changes"] == changes
    path = tmp_path / "r.md"
    quality.write_report(runs, pipelines, {"shapes": tiny}, threads=1, path=path, command="t", course_changes=changes)
    text = path.read_text()
    assert "a candidate, `RECIPES[\"course\"].replace(**{'precision': 'mixed_bfloat16', 'dice_weight': 0.5})`" in text
    assert "precision='mixed_bfloat16'" in text and "dice_weight=0.5" in text


@pytest.mark.parametrize(
    "value, message",
    [("[1, 2]", "must be a JSON object"), ('{"dice_weight": -1}', "dice_weight must be"), ('{"nope": 1}', "nope")],
)
def test_bad_course_changes_stop_before_any_training(quality, capsys, value, message):
    with pytest.raises(SystemExit):
        quality.main(["--budgets", "1", "--datasets", "shapes", "--course-changes", value])
    assert message in capsys.readouterr().err


def test_the_worker_prints_a_run_that_isolated_runs_read_back(quality, tiny, report, monkeypatch, capsys):
    runs, _, _, _ = report
    monkeypatch.setitem(quality.LOADERS, "shapes", lambda: tiny)
    monkeypatch.setattr(quality, "set_threads", lambda threads: None)
    monkeypatch.setattr(quality, "train_textbook", lambda data, seed, budget: runs[0] if data is tiny else None)
    quality._worker(dict(dataset="shapes", recipe="textbook", seed=0, budget=3, changes=None, threads=1, isbi_root=""))
    printed = capsys.readouterr().out
    back = quality.parse_run("some log line\n" + printed)
    # every field back (a speed can be nan after few steps, and nan != nan: compared apart)
    assert (back.recipe, back.steps, back.metrics, back.batch_ends) == (
        runs[0].recipe,
        runs[0].steps,
        runs[0].metrics,
        runs[0].batch_ends,
    )
    assert quality.parse_run("a worker that died before printing\n") is None


def test_main_trains_every_run_in_a_fresh_process_unless_asked(quality, tiny, report, monkeypatch):
    runs, _, _, _ = report
    calls = []

    def isolated(dataset, recipe, seed, budget, changes, threads, isbi_root):
        calls.append((dataset, recipe, seed, budget, threads))
        return runs[0] if recipe == "textbook" else runs[1]

    monkeypatch.setattr(quality, "isolated_run", isolated)
    monkeypatch.setattr(quality, "train_textbook", lambda *a: pytest.fail("trained in this process"))
    quality.run_benchmark(
        {"shapes": tiny}, [3], [0, 1], pipeline_seconds=0.05, log=lambda *a: None, isolate=(1, "/data")
    )
    assert calls == [("shapes", r, s, 3, 1) for s in (0, 1) for r in ("textbook", "course")]

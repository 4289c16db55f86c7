"""Smoke test of ``benchmarks/run.py``: every benchmark runs and gives a positive ratio.

No time threshold is asserted on purpose: timings belong in ``make bench`` (ratios
against a plain Keras baseline in the same process), not in tests that a busy machine
would make flaky. ``--quick`` uses tiny sizes and one repeat, so this takes seconds.
"""

import math

import pytest

EXPECTED = {
    "train step: build_unet",
    "forward: build_unet",
    "metric: IoUScore",
    "loss: CrossEntropyDiceLoss",
    "upsample: bilinear",
    "upsample: nearest",
}


@pytest.fixture(scope="module")
def quick_run(bench, tmp_path_factory):
    output = tmp_path_factory.mktemp("bench") / "RESULTS.md"
    results = bench.main(["--quick", "--output", str(output)])
    return results, output


def test_every_benchmark_gives_a_positive_ratio(quick_run):
    results, _ = quick_run
    assert {r.name for r in results if not r.name.startswith(("predict:", "export:"))} == EXPECTED
    assert [r.name for r in results if r.name.startswith("predict:")] == [
        "predict: 64x64, whole",
        "predict: 64x64, tiles of 32",
    ]
    assert [r.name for r in results if r.name.startswith("export:")] == [
        "export: 64x64, batch 1",
        "export: 64x64, batch 8",
    ]
    for r in results:
        assert math.isfinite(r.ratio) and r.ratio > 0, r.name
        assert r.timing.ours > 0 and r.timing.baseline > 0, r.name
        assert len(r.timing.paired_ratios) == 1  # --quick: one repeat


def test_baseline_unet_has_the_same_architecture(quick_run):
    results, _ = quick_run
    for name in ("train step: build_unet", "forward: build_unet"):
        checks = next(r for r in results if r.name == name).checks
        assert checks["parameters (build_unet)"] == checks["parameters (plain Keras)"] > 0


@pytest.mark.parametrize("depth, base_filters", [(1, 2), (3, 4)])
def test_plain_unet_matches_build_unet_at_other_sizes(bench, depth, base_filters):
    from unet_course.models import build_unet

    ours = build_unet((32, 32, 3), 4, depth=depth, base_filters=base_filters)
    plain = bench.plain_keras_unet((32, 32, 3), 4, depth, base_filters)
    assert plain.count_params() == ours.count_params()
    assert [w.shape for w in plain.get_weights()] == [w.shape for w in ours.get_weights()]


def test_metric_and_loss_checks(quick_run):
    results, _ = quick_run
    by_name = {r.name: r for r in results}
    assert by_name["metric: IoUScore"].checks["same value"] is True
    loss = by_name["loss: CrossEntropyDiceLoss"].checks
    assert float(loss["CE + Dice"]) > float(loss["CE alone"]) > 0  # the Dice term is added


def test_predict_checks(quick_run):
    results, _ = quick_run
    by_name = {r.name: r for r in results}
    # whole-image predict is the model call and an argmax: the same class ids as the baseline
    assert by_name["predict: 64x64, whole"].checks["pixels equal to the baseline's class ids"] == "100.00%"
    assert float(by_name["predict: 64x64, tiles of 32"].checks["images/s (ours)"]) > 0


def test_export_checks(quick_run):
    results, _ = quick_run
    for batch in (1, 8):
        checks = next(r for r in results if r.name == f"export: 64x64, batch {batch}").checks
        assert checks["input"] == f"({batch}, 64, 64, 3)"
        assert float(checks["images/s (exported SavedModel)"]) > 0 and float(checks["images/s (Keras model)"]) > 0
        assert float(checks["max |probability difference|"]) < 1e-5  # the same graph, run by TensorFlow


def test_only_runs_the_named_benchmarks_and_writes_no_results_by_default(bench):
    args = bench.parse_args(["--only", "export", "predict"])
    assert args.only == ["export", "predict"] and args.output is None
    with pytest.raises(SystemExit):
        bench.parse_args(["--only", "nothing"])


def test_notebook_09_section_copies_the_committed_table(bench):
    lines = bench.notebook_09_section()
    if not lines:
        pytest.skip("notebook 09 has no committed comparison table")
    text = "\n".join(lines)
    assert "u-net, the paper (test slices)" in text and "0.0382" in text and "Rand error" in text


def test_markdown_report(quick_run):
    _, output = quick_run
    text = output.read_text()
    assert "| benchmark |" in text and "Keras backend" in text and "logical cores" in text
    assert text.count("| upsample:") == 2


def test_quick_does_not_overwrite_results_by_default(bench):
    args = bench.parse_args(["--quick"])
    assert args.output is None and args.repeats == 1
    assert bench.parse_args([]).output == bench.RESULTS_PATH


def test_bad_repeats_is_refused(bench):
    with pytest.raises(SystemExit):
        bench.parse_args(["--repeats", "0"])

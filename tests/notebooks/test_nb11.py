"""Notebook 11's teaching code agrees with the package: the exercises' answers (the all-reduce of
the replicas' gradients, the largest tile) with the references and ``deploy.largest_tile``; the
helpers that read the replica runs, time steps and count memory."""

import numpy as np
import pytest

from tests.notebook_code import notebook_namespace
from unet_course.analysis.profiling import activation_bytes
from unet_course.deploy import largest_tile
from unet_course.exercises import ex11

NAMES = [
    "StepTimer",
    "one_replica",
    "largest_relative_difference",
    "batch_norm_label",
    "course_unet",
    "images_per_second",
    "allreduce_gradient",
    "largest_tile",
]


@pytest.fixture(scope="module")
def nb():
    preamble = "import numpy as np\nimport keras\nfrom unet_course.models import build_unet\n"
    namespace = notebook_namespace("11_scaling_and_deployment", NAMES, preamble=preamble)
    from unet_course.training import RECIPES

    namespace["COURSE"] = RECIPES["course"]  # set by the cell that defines course_unet
    namespace["REPEATS"] = 3
    return namespace


@pytest.mark.parametrize("rows, replicas", [(8, 2), (10, 4), (7, 3), (5, 1)])
def test_the_notebooks_allreduce_is_the_whole_batch_gradient(nb, rows, replicas):
    rng = np.random.default_rng(rows)
    x, y, w = rng.normal(size=(rows, 3)), rng.normal(size=rows), rng.normal(size=3)
    gradient = ex11._mean_squared_error_gradient(w)
    np.testing.assert_allclose(nb["allreduce_gradient"](gradient, x, y, replicas), gradient(x, y), rtol=1e-12)
    assert ex11.q1.verdict(nb["allreduce_gradient"]).passed


def test_the_notebooks_largest_tile_is_the_packages(nb):
    from unet_course.models import build_unet

    def build(size):
        return build_unet((size, size, 1), 2, depth=2, base_filters=4)

    for budget in (2**20, 3 * 2**20, 5e6):
        expected = largest_tile(build, budget, divisor=4, stop=512)
        assert nb["largest_tile"](lambda s: activation_bytes(build(s)), budget, 4, 512) == expected
    assert ex11.q2.verdict(nb["largest_tile"]).passed


def _run(backend, replicas, losses, synchronized=True):
    return {"backend": backend, "replicas": replicas, "losses": losses, "synchronized_batch_norm": synchronized}


def test_reading_the_replica_runs(nb):
    runs = [
        _run("tensorflow", 1, [2.0, 1.0]),
        _run("tensorflow", 2, [2.0, 1.0001]),
        _run("tensorflow", 2, [2.2, 1.1], synchronized=False),
        _run("jax", 1, [3.0, 2.0]),
        _run("jax", 2, [3.0, 2.0]),
    ]
    nb["runs"] = runs  # the notebook's helpers read its global list of runs
    assert nb["one_replica"](runs[2]) is runs[0] and nb["one_replica"](runs[4]) is runs[3]
    assert nb["largest_relative_difference"](runs[1]) == pytest.approx(1e-4)
    assert nb["largest_relative_difference"](runs[2]) == pytest.approx(0.1)
    assert nb["largest_relative_difference"](runs[4]) == 0.0
    labels = [nb["batch_norm_label"](r) for r in runs]
    assert labels == ["whole batch", "synchronized", "per replica", "whole batch", "global (XLA)"]


def test_step_timer_leaves_out_the_first_step(nb):
    timer = nb["StepTimer"]()
    timer.times = [0.0, 5.0, 5.1, 5.3, 5.4]  # the first step also builds the graph
    assert timer.step_seconds == pytest.approx(0.1)


def test_course_unet_memory_grows_with_the_pixels(nb):
    """The table's claim: activation memory of a same-padding U-Net is proportional to the pixels."""
    small, large = activation_bytes(nb["course_unet"](64)), activation_bytes(nb["course_unet"](256))
    assert large == 16 * small
    assert nb["course_unet"](64).count_params() == nb["course_unet"](128).count_params()


def test_images_per_second_is_the_batch_over_the_median_call(nb, monkeypatch):
    import time as time_module

    clock = iter([0.0, 1.0, 10.0, 12.0, 20.0, 23.0])  # calls of 1, 2 and 3 s after the warm-up
    monkeypatch.setattr(time_module, "perf_counter", lambda: next(clock))
    calls = []
    assert nb["images_per_second"](calls.append, np.zeros((8, 2, 2, 3))) == pytest.approx(8 / 2)
    assert len(calls) == 4  # a warm-up, then REPEATS

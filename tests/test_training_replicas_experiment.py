"""Notebook 11's experiment (``unet_course.training.replicas_experiment``): one replica and two,
each in a fresh process, give the same losses and weights (TensorFlow's MirroredStrategy and JAX's
DataParallel); bad options are refused before a process starts; a failing worker says why."""

import importlib.util
import json
import subprocess

import numpy as np
import pytest

from unet_course.training import replicas_experiment
from unet_course.training.replicas_experiment import run_replicas

LOSS_RTOL = 1e-4
WEIGHTS_RTOL = 1e-5
HAS_JAX = importlib.util.find_spec("jax") is not None


def test_bad_arguments_are_refused_before_a_process_starts():
    with pytest.raises(ValueError, match="devices"):
        run_replicas(0)
    with pytest.raises(ValueError, match="Unknown option"):
        run_replicas(2, colour="red")
    with pytest.raises(ValueError, match="one per run"):
        run_replicas([1, 2], synchronized_batch_norm=[True])
    with pytest.raises(ValueError, match="empty"):
        run_replicas([])
    with pytest.raises(ValueError, match="batch_size=3 does not split evenly over 2 replicas"):
        run_replicas([1, 2], batch_size=3)


def _assert_same_training(one, two):
    assert one["replicas"] == 1 and two["replicas"] == 2
    assert len(one["losses"]) == len(two["losses"]) == replicas_experiment.WORKER_DEFAULTS["steps"]
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=LOSS_RTOL)
    assert two["weights_sum"] == pytest.approx(one["weights_sum"], rel=WEIGHTS_RTOL)


def test_two_replicas_train_like_one_on_tensorflow():
    one, two, unsynchronized = run_replicas(
        [1, 2, 2], backend="tensorflow", synchronized_batch_norm=[True, True, False], timing_rounds=1
    )
    assert two["engine"] == "tf.distribute.MirroredStrategy" and two["devices"] == ["cpu:0", "cpu:1"]
    assert two["global_batch"] == 4 and two["per_replica_batch"] == 2
    _assert_same_training(one, two)
    # batch norm on each replica's 2 crops: other statistics, another loss from the first step on
    assert abs(unsynchronized["losses"][0] - one["losses"][0]) > 1e-3 * one["losses"][0]
    for run in (one, two):
        assert run["images_per_second"] > 0 and len(run["step_seconds"]) == len(run["losses"])
        assert (
            len(run["timed_seconds"]) == replicas_experiment.WORKER_DEFAULTS["timing_steps"]
        )  # one round, its first step out


@pytest.mark.skipif(not HAS_JAX, reason="JAX is not installed (make test-jax installs it)")
def test_two_replicas_train_like_one_on_jax():
    one, two = run_replicas([1, 2], backend="jax", timing_rounds=0)
    assert two["engine"] == "keras.distribution.DataParallel" and two["devices"] == ["cpu:0", "cpu:1"]
    _assert_same_training(one, two)


@pytest.mark.parametrize("eager", [False, True])
def test_the_worker_runs_tf_functions_as_its_caller_does(monkeypatch, eager):
    import tensorflow as tf

    sent = {}

    def fake_run(command, **kwargs):
        sent.update(json.loads(command[-1]))
        return subprocess.CompletedProcess(command, 1, "", "stopped by the test")

    monkeypatch.setattr(replicas_experiment.subprocess, "run", fake_run)
    tf.config.run_functions_eagerly(eager)  # conftest gives graph mode back after the test
    with pytest.raises(RuntimeError, match="stopped by the test"):
        run_replicas(1, backend="tensorflow", steps=1)
    assert sent["run_eagerly"] is eager


def test_a_failing_worker_reports_its_error():
    with pytest.raises(RuntimeError, match=r"worker for \[1\] replica\(s\) failed(.|\n)*base_filters"):
        run_replicas(1, backend="tensorflow", base_filters=0, steps=1)

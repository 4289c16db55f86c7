"""unet_course.config: FAST mode, setup(), data paths."""

import keras
import numpy as np
import pytest

from unet_course import config


def test_fast_mode_switch(monkeypatch):
    monkeypatch.setenv("UNET_COURSE_FAST", "1")
    assert config.is_fast() and config.pick(fast=1, full=2) == 1
    monkeypatch.setenv("UNET_COURSE_FAST", "0")
    assert not config.is_fast() and config.pick(fast=1, full=2) == 2


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.function is TensorFlow's")
def test_setup_runs_eagerly_only_in_fast_mode(monkeypatch):
    import tensorflow as tf

    monkeypatch.setenv("UNET_COURSE_FAST", "1")
    config.setup(verbose=False)
    assert tf.config.functions_run_eagerly()
    monkeypatch.setenv("UNET_COURSE_FAST", "0")
    config.setup(verbose=False)
    assert not tf.config.functions_run_eagerly()


def test_setup_seeds_and_reports(capsys):
    import random

    config.setup(seed=7)
    first = (np.random.rand(), random.random())
    out = capsys.readouterr().out
    for key in ("Python", "Keras", "Keras backend", "TensorFlow", "Devices", "FAST mode", "Seed"):
        assert key in out
    config.setup(seed=7, verbose=False)
    assert (np.random.rand(), random.random()) == first
    assert capsys.readouterr().out == ""


def test_data_dir_prefers_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("UNET_COURSE_DATA", str(tmp_path))
    assert config.data_dir() == tmp_path and config.cache_dir() == tmp_path / "cache"

"""unet_course.config: FAST mode, setup(), data paths."""

import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from unet_course import config

ROOT = Path(__file__).resolve().parent.parent


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


def test_on_colab_the_data_sit_under_content(monkeypatch):
    monkeypatch.delenv("UNET_COURSE_DATA", raising=False)
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    assert config.data_dir() == Path("/content/unet_course_data")
    assert config.cache_dir() == Path("/content/unet_course_data/cache")
    info = config.environment()
    assert info["Colab"] == "yes (data in /content/unet_course_data)"
    assert info["GPU"] == "yes" or "Change runtime type" in info["GPU"]  # says how to get one
    monkeypatch.setenv("UNET_COURSE_DATA", "/somewhere/else")  # the one setting still wins
    assert config.data_dir() == Path("/somewhere/else")


def test_off_colab_the_clone_keeps_its_data_folder(monkeypatch):
    monkeypatch.delenv("UNET_COURSE_DATA", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert config.data_dir() == ROOT / "data"

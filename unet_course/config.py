"""Course-wide settings: FAST mode, data paths, seeding and the notebook ``setup()``.

FAST mode (``UNET_COURSE_FAST=1``) shrinks data sets and epochs so that every notebook
runs as a test in well under a minute. It is for tests only: the committed notebooks
are run in full mode (``make notebooks``).
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from pathlib import Path

# The one place that quiets TensorFlow's logs (``unet_course/__init__.py`` imports this module
# first). Hide TensorFlow's C++ start-up noise (oneDNN notices, CUDA probing) before anything
# imports TensorFlow. A learner who sets the variable themselves keeps their value. The rest is
# ``quiet_native_stderr`` (absl's messages printed before that variable is read) and
# ``setup()`` (the Python logger).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: Default seed of every random thing in the course.
SEED = 42


def is_fast() -> bool:
    """True when ``UNET_COURSE_FAST`` is set to 1/true/yes (tests), read at each call."""
    return os.environ.get("UNET_COURSE_FAST", "").strip().lower() in {"1", "true", "yes", "on"}


def pick(*, fast, full):
    """Return ``fast`` in FAST mode and ``full`` otherwise.

    >>> epochs = pick(fast=1, full=20)
    """
    return fast if is_fast() else full


def data_dir() -> Path:
    """Where datasets live: ``$UNET_COURSE_DATA``; on Colab ``/content/unet_course_data``; else the
    clone's ``data/``, else ``~/.unet_course/data``."""
    env = os.environ.get("UNET_COURSE_DATA")
    if env:
        return Path(env).expanduser()
    if "google.colab" in sys.modules:  # Colab's session disk, shown in its Files pane
        return Path("/content/unet_course_data")
    repo_data = Path(__file__).resolve().parent.parent / "data"
    if (repo_data / "README.md").exists():  # a clone of the course (editable install)
        return repo_data
    return Path.home() / ".unet_course" / "data"  # installed from a wheel or from git


def cache_dir() -> Path:
    """Where downloads land (``data/cache``, ignored by git)."""
    return data_dir() / "cache"


@contextlib.contextmanager
def quiet_native_stderr():
    """Silence what native code writes to file descriptor 2 (TensorFlow's C++ start-up log).

    TensorFlow 2.21 prints oneDNN/CUDA notices through absl *before* it reads
    ``TF_CPP_MIN_LOG_LEVEL``; in Jupyter they land in the notebook as red text. Python's
    own ``sys.stderr`` (warnings, tracebacks) is not affected.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (some hosted kernels): nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_backend():
    """Import Keras (and TensorFlow when it is the backend) without the C++ start-up noise."""
    with quiet_native_stderr():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()  # probes CUDA once, quietly
    return keras


def seed_everything(seed: int = SEED) -> None:
    """Seed Python, NumPy and the Keras backend in one call (``keras.utils.set_random_seed``)."""
    import keras

    keras.utils.set_random_seed(seed)


def _devices() -> list[str]:
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return [f"{d.device_type}:{d.name.rsplit(':', 1)[-1]}" for d in tf.config.list_physical_devices()]
        if backend == "jax":
            import jax

            return [str(d) for d in jax.devices()]
        if backend == "torch":
            import torch

            return ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    except Exception as error:  # pragma: no cover - depends on the machine
        return [f"unknown ({error})"]
    return ["unknown"]


def environment() -> dict[str, str]:
    """Versions, backend, devices and mode, as a dict (what ``setup()`` prints)."""
    import keras
    import numpy as np

    info = {
        "Python": platform.python_version(),
        "NumPy": np.__version__,
        "Keras": keras.__version__,
        "Keras backend": keras.backend.backend(),
    }
    try:
        import tensorflow as tf

        info["TensorFlow"] = tf.__version__
    except ImportError:
        info["TensorFlow"] = "not installed"
    devices = _devices()
    info["Devices"] = ", ".join(devices)
    on_colab = "google.colab" in sys.modules
    if any("GPU" in d.upper() or "CUDA" in d.upper() for d in devices):
        info["GPU"] = "yes"
    elif on_colab:
        info["GPU"] = "no (fine for this course; Runtime > Change runtime type > GPU trains faster)"
    else:
        info["GPU"] = "no (CPU only: fine for this course)"
    info["Colab"] = f"yes (data in {data_dir()})" if on_colab else "no"
    info["FAST mode"] = "on (small data, few epochs: for tests)" if is_fast() else "off (full runs)"
    return info


def _eager_when_fast() -> None:
    """In FAST mode on TensorFlow, run ``tf.function`` eagerly; in full mode, in graphs.

    A FAST notebook trains for one or two steps, and on TensorFlow tracing the train step
    costs more than the steps themselves (a 2-step fit: about 8 s traced, 2-3 s eager).
    This is only for tests: full runs (the committed outputs) and the package's own tests
    run in graph mode, as a learner's notebook does. Only ``setup()`` calls it, so
    notebooks alone are affected.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import warnings

    import tensorflow as tf

    tf.config.run_functions_eagerly(is_fast())
    # tf.data traces its map functions all the same, and says so on every dataset.
    warnings.filterwarnings("ignore", message="Even though the `tf.config.experimental_run_functions_eagerly`")


def setup(seed: int = SEED, *, verbose: bool = True) -> None:
    """Prepare a notebook: quiet logs, seed everything, print the environment.

    Every notebook calls this in its ``## Setup`` section.
    """
    import logging

    import_backend()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    seed_everything(seed)
    _eager_when_fast()
    info = environment()
    if verbose:
        width = max(len(k) for k in info)
        for key, value in info.items():
            print(f"{key:<{width}} : {value}")
        print(f"{'Seed':<{width}} : {seed}")

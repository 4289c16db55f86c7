"""Data-parallel training on the engine the backend already has: one switch, ``devices=N``.

Data parallelism: every device holds a copy of the model (a *replica*). Each training step
splits the global batch across the replicas; each replica computes the loss and the gradients
of its share; the gradients are summed across the replicas (an *all-reduce*) and every copy
applies the same update, so the copies stay identical. Keras 3 does all of it with the engine
of its backend, and ``model.fit`` is unchanged:

- **TensorFlow**: ``tf.distribute.MirroredStrategy``. The model is built *and compiled* in the
  strategy's ``scope()`` (its variables become mirrored variables, one copy per device);
  ``fit`` then splits every batch of the ``tf.data`` pipeline across the replicas.
- **JAX**: ``keras.distribution.DataParallel``, a device mesh with one ``"batch"`` axis: the
  variables are replicated, each input batch is sharded along its first axis, and XLA inserts
  the all-reduce. It must be the current distribution while the model is built and trained.

:func:`data_parallel` picks the engine and the devices and returns a :class:`Replicas`; the
same four lines then train on one device or on many::

    replicas = data_parallel(2)                        # 2 GPUs, or the CPU split in two
    with replicas.scope():
        model = replicas.prepare(build_model(recipe, channels, num_classes, mean=m, variance=v))
        model.compile(optimizer=..., loss=..., metrics=[...])
        result = train(model, dataset, epochs=...)     # unet_course.training.train: model.fit

**The global batch** is the batch of the ``tf.data`` pipeline: with ``batch_size=8`` and two
replicas, each replica computes 4 crops per step. It must split evenly
(:meth:`Replicas.per_replica_batch`). With the same global batch, the same seed and the same
learning rate, N replicas compute the same steps as one device (the loss is the mean over
the global batch either way), up to the order of float32 additions: this module's tests check
that one and two replicas give the same losses.

**The learning rate** belongs to a global batch. To keep each device as busy as it was alone,
one multiplies the global batch by N, and then the rate: :func:`scaled_learning_rate`
(linear for SGD, Goyal et al. 2017, with a warm-up; the square root is the rule derived for
Adam, Malladi et al. 2022). The course's recipes are tuned for their own ``batch_size``.

**Batch norm** computes its statistics on the batch it sees. Under ``MirroredStrategy``
that is each replica's share (4 crops instead of 8: noisier statistics, and a different
result from one device); with ``synchronized=True`` (TensorFlow only) the replicas sum their
statistics first. :meth:`Replicas.prepare` sets it (``synchronized_batch_norm=True``,
the default). Under JAX's ``DataParallel`` the program is written for the global batch and
XLA computes the statistics over all of it: nothing to set.

**Without GPUs**: the CPU can be split into logical devices (:func:`use_cpu_devices`) to try
all of this. It only works before the backend starts (TensorFlow:
``tf.config.set_logical_device_configuration``; JAX: ``jax_num_cpu_devices``, or
``XLA_FLAGS=--xla_force_host_platform_device_count=N``), which is why a notebook runs such
an experiment in a fresh process
(:func:`~unet_course.training.replicas_experiment.run_replicas`). On TensorFlow, two logical devices
share the cores that one device already uses, so they show that the results agree, not a
speed-up; a JAX CPU device leaves cores idle, and there two can be faster. Neither says what
GPUs would give. :func:`data_parallel` makes one engine per set of devices and process, and
reuses it (a second ``MirroredStrategy`` breaks the next training, tensorflow/tensorflow#62790).

**Two Keras and TensorFlow problems, worked around.** (1) Before it trains, Keras 3 builds
the model's metrics from the first batch of a separate pass over the dataset, then restarts
the iterator (the restart is the fix of keras-team/keras#20394, "Batch consumed during
symbolic build is not processed during training"); TensorFlow does so under a strategy
only, JAX always. The course's pipeline reshuffles and redraws its crops at every pass, so
training under a strategy saw other batches than the same run on one device, and on JAX,
on a loaded machine, the two passes' random draws sometimes swapped (one run in eight of the
same seeded ``train_segmenter``, measured here). :meth:`Replicas.prepare` makes the model
build from the dataset's element spec instead, so no pass is spent. (2) On the CPU,
TensorFlow's oneDNN ``Conv2D`` returns a wrong shape for an empty batch (its zero-element
shortcut, see tensorflow/tensorflow#112639), and a replica gets an empty share whenever a
batch is smaller than the number of replicas (a last validation batch of one image on two
replicas). With the CPU split into logical devices, start Python with
``TF_ENABLE_ONEDNN_OPTS=0`` (``unet-course train --devices N`` sets it), or keep every batch
at least as large as the number of replicas; GPUs do not run oneDNN.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from dataclasses import dataclass, field

import keras

from unet_course._validation import check_choice, check_positive_int, check_positive_number

SCALING_RULES = ("linear", "sqrt")


def _backend() -> str:
    return keras.backend.backend()


def use_cpu_devices(count: int) -> int:
    """Split the host CPU into ``count`` logical devices; return how many CPU devices there are.

    For trying data parallelism on a machine without GPUs. TensorFlow:
    ``tf.config.set_logical_device_configuration`` on the CPU; JAX: the ``jax_num_cpu_devices``
    option (the ``JAX_NUM_CPU_DEVICES`` variable). Both only work before the backend has run
    its first operation: afterwards a ``RuntimeError`` says what to do (start a new process;
    :func:`~unet_course.training.replicas_experiment.run_replicas` does that). A split that
    already gives ``count`` devices or more is kept. The logical devices share the machine's
    cores. On TensorFlow with oneDNN on (the default), a warning recalls its empty-batch
    problem (see the module docstring).
    """
    count = check_positive_int("count", count)
    backend = _backend()
    if backend == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        configured = tf.config.get_logical_device_configuration(cpu)
        if configured and len(configured) >= count:
            return len(configured)
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
            if count > 1 and os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") != "0":
                warnings.warn(
                    "TensorFlow's oneDNN Conv2D gives an empty replica share the wrong shape "
                    "(tensorflow/tensorflow#112639): keep every batch, validation too, at least as large as the "
                    f"number of replicas ({count}), or start Python with TF_ENABLE_ONEDNN_OPTS=0.",
                    stacklevel=2,
                )
        except RuntimeError:
            have = len(tf.config.list_logical_devices("CPU"))
            if have >= count:
                return have
            raise RuntimeError(
                f"TensorFlow has already started with {have} CPU device(s), and its devices cannot be split "
                f"afterwards. Split the CPU into {count} before anything runs on TensorFlow (first lines of a "
                "script: unet_course.training.distribute.use_cpu_devices(N)), or run the experiment in a new "
                "process (unet_course.training.replicas_experiment.run_replicas)."
            ) from None
        return count
    if backend == "jax":
        import jax

        current = int(jax.config.jax_num_cpu_devices)
        if current < count:
            try:
                jax.config.update("jax_num_cpu_devices", count)
            except RuntimeError:
                have = len(jax.devices("cpu"))
                if have >= count:
                    return have
                raise RuntimeError(
                    f"JAX has already started with {have} CPU device(s). Set JAX_NUM_CPU_DEVICES={count} (or "
                    f"XLA_FLAGS=--xla_force_host_platform_device_count={count}) before Python starts, or run the "
                    "experiment in a new process (unet_course.training.replicas_experiment.run_replicas)."
                ) from None
        return len(jax.devices("cpu"))
    raise ValueError(f"Data parallelism in the course supports the tensorflow and jax backends, not {backend!r}.")


def _tensorflow_devices(count: int, split_cpu: bool) -> list[str]:
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
        kind = "GPU"
    else:
        if split_cpu and count > 1:
            use_cpu_devices(count)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        kind = "CPU"
    if len(devices) < count:
        raise ValueError(
            f"devices={count}, but TensorFlow sees {len(devices)} {kind} device(s). Give devices <= {len(devices)}"
            + ("." if kind == "GPU" else ", or split the CPU before TensorFlow starts (use_cpu_devices).")
        )
    return devices[:count]


def _jax_devices(count: int, split_cpu: bool) -> list[str]:
    if split_cpu and count > 1:
        with contextlib.suppress(RuntimeError):  # already started: counted below
            use_cpu_devices(count)
    devices = keras.distribution.list_devices()  # GPUs or TPUs if any, else the CPU devices
    if len(devices) < count:
        raise ValueError(
            f"devices={count}, but JAX sees {len(devices)} device(s) ({', '.join(devices)}). Give devices <= "
            f"{len(devices)}, or start Python with JAX_NUM_CPU_DEVICES={count} to split the CPU."
        )
    return devices[:count]


@dataclass(frozen=True)
class Replicas:
    """Where a model trains: ``count`` replicas on ``devices``, with the backend's ``engine``.

    ``engine`` is a ``tf.distribute.MirroredStrategy`` (TensorFlow), a
    ``keras.distribution.DataParallel`` (JAX), or ``None`` for one device (plain Keras).
    Build, compile and train the model inside :meth:`scope`, and pass it through
    :meth:`prepare` right after building it.
    """

    count: int
    devices: tuple[str, ...]
    backend: str
    engine: object = field(default=None, repr=False)
    synchronized_batch_norm: bool = True

    @property
    def engine_name(self) -> str:
        if self.engine is None:
            return "one device, no distribution"
        if self.backend == "tensorflow":
            return "tf.distribute.MirroredStrategy"
        return "keras.distribution.DataParallel"

    def scope(self):
        """The context in which to build, compile and train the model (nothing for one device)."""
        if self.engine is None:
            return contextlib.nullcontext(self)
        return self.engine.scope()

    def per_replica_batch(self, global_batch: int) -> int:
        """The crops each replica computes per step; a ``ValueError`` when the batch does not split evenly."""
        global_batch = check_positive_int("batch_size", global_batch)
        if global_batch % self.count:
            lower = global_batch - global_batch % self.count
            suggestion = f"{lower} or {lower + self.count}" if lower else str(self.count)
            raise ValueError(
                f"batch_size={global_batch} does not split evenly over {self.count} replicas: every replica computes "
                f"the same number of crops. Give a multiple of {self.count} ({suggestion}): the batch size is the "
                "global batch, split across the devices."
            )
        return global_batch // self.count

    def check_validation_shares(self, val_images, batch_size: int, tiles: bool = False) -> None:
        """A clear error where TensorFlow's oneDNN ``Conv2D`` would fail on an empty replica share.

        On a CPU split into logical devices, a validation batch smaller than the number of
        replicas leaves a replica an empty share, and oneDNN's ``Conv2D`` returns the wrong shape
        for it (tensorflow/tensorflow#112639). Validation batches hold ``batch_size`` images of
        one size, else 1 (images of several sizes; overlap ``tiles``, for a valid-padding model,
        are counted as 1 here, which errs on the side of the error).
        """
        if self.count == 1 or self.backend != "tensorflow" or os.environ.get("TF_ENABLE_ONEDNN_OPTS") == "0":
            return
        if not all(name.startswith("cpu") for name in self.devices):
            return  # GPUs do not run oneDNN
        same_size = len({image.shape for image in val_images}) == 1 and not tiles
        smallest = (len(val_images) % batch_size or batch_size) if same_size else 1
        if smallest < self.count:
            raise ValueError(
                f"devices={self.count} on the CPU: a validation batch of {smallest} image(s) leaves a replica "
                "nothing to compute, and TensorFlow's oneDNN Conv2D fails on an empty share "
                "(tensorflow/tensorflow#112639). Start Python with TF_ENABLE_ONEDNN_OPTS=0 (unet-course train "
                "--devices sets it), or validate on an even number of images of one size with devices=2."
            )

    def prepare(self, model):
        """Make a model built in :meth:`scope` ready for (data-parallel) training; return it.

        On TensorFlow with several replicas: every batch-norm layer gets ``synchronized=True``
        (with ``synchronized_batch_norm``), so its statistics cover the global batch; the
        saved model still says ``synchronized=False`` (a property of this training run, not
        of the model: Keras refuses ``synchronized=True`` on other backends, where the file
        would then not load). And, on TensorFlow with several replicas and on JAX with any
        number of devices, ``fit`` builds the model's metrics from the dataset's element spec
        instead of a separate pass over the data (see the module docstring:
        keras-team/keras#20394). One device on TensorFlow: nothing to do.
        """
        if self.backend == "jax":
            _build_from_element_spec(model, "_symbolic_build")
            return model
        if self.engine is None or self.backend != "tensorflow":
            return model
        if self.synchronized_batch_norm:
            for layer in _batch_norm_layers(model):
                _synchronize(layer)
        _build_from_element_spec(model, "_maybe_symbolic_build")
        return model

    def describe(self, global_batch: int | None = None) -> str:
        """One line: replicas, devices, engine (and how a global batch splits)."""
        text = f"{self.count} replica(s) on {', '.join(self.devices)} ({self.engine_name}, {self.backend})"
        if global_batch is not None:
            text += f"; a global batch of {global_batch} is {self.per_replica_batch(global_batch)} per replica"
        return text

    def __str__(self) -> str:
        return self.describe()


def _batch_norm_layers(model):
    return [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]


def _synchronize(layer) -> None:
    layer.synchronized = True  # read when fit traces the training step
    get_config = type(layer).get_config

    def config_without_synchronization():
        return {**get_config(layer), "synchronized": False}

    layer.get_config = config_without_synchronization


def _build_from_element_spec(model, method: str) -> None:
    """Let ``fit``/``evaluate`` build the model from a ``tf.data`` input's spec instead of a first batch.

    ``method`` is the trainer's method that takes the first batch: ``_maybe_symbolic_build``
    (TensorFlow, under a strategy) or ``_symbolic_build`` (JAX). Other inputs than a
    ``tf.data.Dataset`` keep Keras's own way; a Keras without the method is left alone.
    """
    original = getattr(model, method, None)
    if original is None:
        return

    def build(iterator=None, data_batch=None):
        if data_batch is None and iterator is not None:
            adapter = getattr(iterator, "data_adapter", None)
            if type(adapter).__name__ != "TFDatasetAdapter":
                return original(iterator=iterator)
            data_batch = adapter.get_tf_dataset().element_spec  # shapes and dtypes: all the build needs
        return original(data_batch=data_batch)

    setattr(model, method, build)


def data_parallel(
    devices: int | None = None, *, synchronized_batch_norm: bool = True, split_cpu: bool = True
) -> Replicas:
    """The :class:`Replicas` for training on ``devices`` devices with the backend's own engine.

    ``devices=None`` or ``1``: one device, plain Keras (no strategy, no distribution).
    ``devices=N``: N GPUs (TensorFlow) or N accelerators (JAX) when there are enough; on a
    machine without them, the CPU split into N logical devices (``split_cpu``, only possible
    before the backend starts, see :func:`use_cpu_devices`). TensorFlow:
    ``tf.distribute.MirroredStrategy(devices)``; JAX: ``keras.distribution.DataParallel``.
    ``synchronized_batch_norm``: batch-norm statistics over the global batch on TensorFlow
    (JAX computes them so anyway).
    """
    backend = _backend()
    if devices is None or devices == 1:
        return Replicas(1, ("the default device",), backend, None, synchronized_batch_norm)
    count = check_positive_int("devices", devices)
    check_choice("backend (KERAS_BACKEND)", backend, ("tensorflow", "jax"))
    if backend == "tensorflow":
        names = _tensorflow_devices(count, split_cpu)
        short = tuple(_short_name(n) for n in names)
    else:
        names = _jax_devices(count, split_cpu)
        short = tuple(names)
    key = (backend, tuple(names))
    if key not in _ENGINES:
        _ENGINES[key] = _make_engine(backend, names)
    return Replicas(count, short, backend, _ENGINES[key], synchronized_batch_norm)


#: One engine per backend and set of devices, for the whole process. Two MirroredStrategy objects
#: over the same devices number their collective operations alike, and the second model's
#: training then fails with "Shape mismatch in the collective instance 100" (the error of
#: tensorflow/tensorflow#62790, models trained one after another); every model reuses the first.
_ENGINES: dict = {}


def _make_engine(backend: str, names):
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.distribute.MirroredStrategy(devices=list(names))
    return keras.distribution.DataParallel(devices=list(names))


def _short_name(name: str) -> str:
    kind, index = name.rsplit(":", 2)[-2:]
    return f"{kind.lower()}:{index}"


def scaled_learning_rate(learning_rate: float, batch_size: int, new_batch_size: int, rule: str = "linear") -> float:
    """The learning rate for ``new_batch_size``, from one tuned for ``batch_size``.

    ``"linear"``: rate x new / old (Goyal et al. 2017, for SGD; their runs add a warm-up of
    a few epochs, ``Recipe(schedule="warmup")``). ``"sqrt"``: rate x sqrt(new / old), the rule
    derived for Adam (Malladi et al. 2022). A rule is a starting point for a larger batch,
    not a guarantee: check the validation score.

    >>> scaled_learning_rate(1e-3, 8, 32)
    0.004
    >>> scaled_learning_rate(1e-3, 8, 32, rule="sqrt")
    0.002
    """
    check_choice("rule", rule, SCALING_RULES)
    check_positive_number("learning_rate", learning_rate)
    ratio = check_positive_int("new_batch_size", new_batch_size) / check_positive_int("batch_size", batch_size)
    return float(learning_rate * (ratio if rule == "linear" else math.sqrt(ratio)))

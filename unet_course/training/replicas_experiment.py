"""Notebook 11's experiment: train one and several replicas in a fresh process and compare them.

A notebook's kernel has already started its backend, so it can no longer split its CPU into
logical devices (:func:`~unet_course.training.distribute.use_cpu_devices`). :func:`run_replicas`
starts a new Python process (``python -m unet_course.training.replicas_experiment SETTINGS``)
that sets its devices up first, then trains the course recipe, small, with batch norm and in
float32, on 1 and N replicas (:func:`~unet_course.training.distribute.data_parallel`,
``unet_course.training.train``), on the same batches, and prints the losses, the weights and the
step times of each run for the notebook to compare.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import keras
import numpy as np

from unet_course._validation import check_choice, check_positive_int
from unet_course.config import SEED, seed_everything
from unet_course.data.pipeline import make_dataset
from unet_course.data.synthetic import make_shapes
from unet_course.training.build import build_model, make_loss, make_optimizer, normalization_statistics
from unet_course.training.distribute import Replicas, data_parallel
from unet_course.training.fit import train
from unet_course.training.recipes import RECIPES

#: Marks the line of the worker's output that holds its result (the rest is the backend's log).
_RESULT = "UNET_COURSE_REPLICAS_RESULT "

#: What :func:`run_replicas` trains by default: the course recipe, small, with batch norm, on the synthetic shapes.
WORKER_DEFAULTS = dict(
    steps=6,
    image_size=32,
    batch_size=4,
    base_filters=4,
    depth=2,
    seed=SEED,
    synchronized_batch_norm=True,
    timing_rounds=3,
    timing_steps=5,
)


def run_replicas(devices, *, backend: str | None = None, timeout: float = 900, **options):
    """Train the course recipe, with batch norm and in float32, for a few steps on ``devices``
    replicas, in a new Python process.

    ``devices`` is a number of replicas, or a list of them (e.g. ``[1, 2]``: the same training
    twice in one process, with one replica and with two; one replica is plain Keras, no
    strategy). The process sets its devices up before its backend starts (the CPU split into
    ``max(devices)`` logical devices when there are no GPUs; for JAX through
    ``JAX_NUM_CPU_DEVICES`` and ``XLA_FLAGS=--xla_force_host_platform_device_count``), then
    builds and trains as :mod:`~unet_course.training.distribute`'s docstring shows (:func:`data_parallel`,
    :meth:`Replicas.prepare`, ``unet_course.training.train``) on ``steps`` batches of the
    course's pipeline drawn once, so that every run sees the same ones. Options (see
    ``WORKER_DEFAULTS``): ``steps``, ``image_size`` (the synthetic shapes, cropped whole),
    ``batch_size`` (global), ``base_filters``, ``depth``, ``seed``, ``synchronized_batch_norm``
    (``True``/``False``, or a list with one value per run); ``timing_rounds`` and
    ``timing_steps``: after training, every model trains ``timing_steps`` more steps in turn,
    ``timing_rounds`` times, for its images/s (``0`` rounds: the training steps are timed).
    On TensorFlow the worker runs ``tf.function`` as the caller does (eagerly after
    ``tf.config.run_functions_eagerly(True)``, which ``config.setup()`` sets in FAST mode).

    Returns, for each run, a dict: ``losses`` (the ``loss`` of the log after each step: the
    mean over the steps so far), ``weights_sum`` (the sum of every weight's absolute value
    after training), ``step_seconds`` (each step's wall-clock time; the first also builds the
    graph), ``images_per_second`` (the global batch over the median timed step: see
    ``timing_rounds``; ``timed_seconds`` holds those steps' times),
    ``replicas``, ``devices``, ``engine``, ``backend``, ``global_batch``, ``run_eagerly`` and
    ``per_replica_batch``: one dict for a number, a list of them for a list.
    """
    counts = [devices] if isinstance(devices, int) else list(devices)
    counts = [check_positive_int("devices", n) for n in counts]
    if not counts:
        raise ValueError("devices is an empty list; give a number of replicas, or a list such as [1, 2].")
    unknown = set(options) - set(WORKER_DEFAULTS)
    if unknown:
        raise ValueError(f"Unknown option(s) {sorted(unknown)}; run_replicas takes {sorted(WORKER_DEFAULTS)}.")
    settings = {**WORKER_DEFAULTS, **options, "devices": counts}
    synchronized = settings["synchronized_batch_norm"]
    if isinstance(synchronized, (list, tuple)) and len(synchronized) != len(counts):
        raise ValueError(
            f"synchronized_batch_norm has {len(synchronized)} values for {len(counts)} runs; give one per run, or one."
        )
    backend = backend or keras.backend.backend()
    if settings["batch_size"] % max(counts):
        Replicas(max(counts), (), backend).per_replica_batch(settings["batch_size"])  # says why
    check_choice("backend", backend, ("tensorflow", "jax"))
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    if backend == "jax":
        env["JAX_NUM_CPU_DEVICES"] = str(max(counts))
        flags = [f for f in env.get("XLA_FLAGS", "").split() if "xla_force_host_platform_device_count" not in f]
        env["XLA_FLAGS"] = " ".join([*flags, f"--xla_force_host_platform_device_count={max(counts)}"])
    # The worker runs tf.function as its caller does: eagerly in a FAST notebook (config.setup),
    # in graphs everywhere else.
    settings["run_eagerly"] = backend == "tensorflow" and _caller_runs_eagerly()
    command = [sys.executable, "-m", "unet_course.training.replicas_experiment", json.dumps(settings)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(_RESULT):
            results = json.loads(line[len(_RESULT) :])
            return results[0] if isinstance(devices, int) else results
    tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
    raise RuntimeError(f"The {backend} worker for {counts} replica(s) failed (exit status {done.returncode}):\n{tail}")


def _caller_runs_eagerly() -> bool:
    tf = sys.modules.get("tensorflow")
    return bool(tf is not None and hasattr(tf, "config") and tf.config.functions_run_eagerly())


def _worker(settings: dict) -> list[dict]:
    """What ``python -m unet_course.training.replicas_experiment SETTINGS`` runs (see :func:`run_replicas`)."""
    counts = settings["devices"] if isinstance(settings["devices"], list) else [settings["devices"]]
    if max(counts) > 1:
        data_parallel(max(counts))  # the CPU split first, before the backend starts
    if settings.get("run_eagerly"):
        import tensorflow as tf

        tf.config.run_functions_eagerly(True)
    synchronized = settings["synchronized_batch_norm"]
    if not isinstance(synchronized, list):
        synchronized = [synchronized] * len(counts)
    runs = [_train_once(settings, count, bool(sync)) for count, sync in zip(counts, synchronized)]
    _time_interleaved(runs, settings["timing_rounds"], settings["timing_steps"])
    return [run["result"] for run in runs]


def _time_interleaved(runs, rounds: int, steps: int) -> None:
    """More training steps of every trained model, taking turns: a burst of load hits them all alike.

    Each round trains each model ``steps`` more steps (one ``fit`` call, the first step of which
    is left out: the iterator starts); ``images_per_second`` becomes the global batch over the
    median of all those steps. Without rounds, the training steps' median stays.
    """

    class Timer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times = [time.perf_counter()]

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())

    seconds = [[] for _ in runs]
    for _ in range(rounds):
        for run, collected in zip(runs, seconds):
            timer = Timer()
            with run["replicas"].scope():
                run["model"].fit(
                    run["dataset"], epochs=1, steps_per_epoch=steps + 1, callbacks=[timer], shuffle=False, verbose=0
                )
            collected.extend(float(t) for t in list(_differences(timer.times))[1:])
    for run, collected in zip(runs, seconds):
        if collected:
            run["result"]["images_per_second"] = run["result"]["global_batch"] / statistics.median(collected)
            run["result"]["timed_seconds"] = collected


def _differences(times):
    return [b - a for a, b in zip(times, times[1:])]


def _train_once(settings: dict, count: int, synchronized: bool) -> dict:
    replicas = data_parallel(count, synchronized_batch_norm=synchronized)
    size, batch, steps, seed = settings["image_size"], settings["batch_size"], settings["steps"], settings["seed"]
    replicas.per_replica_batch(batch)
    # batch norm on (the course recipe has none): what happens to it across replicas is half the
    # experiment; float32 (the global policy), so that 1 and N replicas can be compared to 1e-4;
    # a constant learning rate (train() below is given no schedule)
    recipe = RECIPES["course"].replace(
        base_filters=settings["base_filters"], depth=settings["depth"], crop_size=size, batch_size=batch,
        batch_norm=True, precision=None, schedule="constant",
    )  # fmt: skip
    images, masks = make_shapes(2 * batch, size, seed=seed)
    images = list(images)
    mean, variance = normalization_statistics(images)

    class Steps(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.times, self.losses = [time.perf_counter()], []

        def on_train_batch_end(self, batch, logs=None):
            self.times.append(time.perf_counter())
            self.losses.append(float(logs["loss"]))

    seed_everything(seed)
    recorder = Steps()
    with replicas.scope():
        model = replicas.prepare(build_model(recipe, 3, 4, mean=mean, variance=variance))
        model.compile(optimizer=make_optimizer(recipe), loss=make_loss(recipe, 4))
        pipeline = make_dataset(
            images,
            masks,
            batch_size=batch,
            crop_size=size,
            augment=recipe.augment,
            shuffle=True,
            repeat=True,
            seed=seed,
            drop_remainder=True,
        )
        dataset = _fixed_batches(pipeline, steps)
        train(model, dataset, epochs=1, steps_per_epoch=steps, callbacks=[recorder], verbose=0)
    seconds = _differences(recorder.times)
    later = seconds[1:] or seconds
    result = {
        "backend": replicas.backend,
        "replicas": replicas.count,
        "devices": list(replicas.devices),
        "engine": replicas.engine_name,
        "global_batch": batch,
        "per_replica_batch": replicas.per_replica_batch(batch),
        "synchronized_batch_norm": synchronized,
        "run_eagerly": bool(settings.get("run_eagerly")),
        "losses": recorder.losses,
        "weights_sum": float(sum(np.abs(np.asarray(w, np.float64)).sum() for w in model.get_weights())),
        "step_seconds": [float(s) for s in seconds],
        "images_per_second": batch / statistics.median(later),
        "timed_seconds": [float(t) for t in later],
    }
    return {"result": result, "model": model, "replicas": replicas, "dataset": dataset}


def _fixed_batches(dataset, steps: int):
    """The first ``steps`` batches of ``dataset``, drawn once, as a dataset that repeats them.

    Every pass over the course's pipeline reshuffles and redraws its crops, and Keras may
    start an extra pass before it trains (see the module docstring; on JAX it does so on one
    device too, and on a loaded machine one JAX run in seven of ours then trained on other
    batches than the others). Batches drawn once make every run see the same steps.
    """
    import tensorflow as tf

    drawn = [tuple(np.asarray(part) for part in batch) for batch in dataset.take(steps)]
    columns = tuple(np.concatenate(column) for column in zip(*drawn))
    return tf.data.Dataset.from_tensor_slices(columns).batch(len(drawn[0][0]), drop_remainder=True).repeat()


def main(argv=None) -> int:
    """``python -m unet_course.training.replicas_experiment '{"devices": 2, ...}'``: one worker run, its result
    on stdout."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        usage = "usage: python -m unet_course.training.replicas_experiment '<settings as JSON>' (see run_replicas)"
        print(usage, file=sys.stderr)
        return 2
    settings = {**WORKER_DEFAULTS, **json.loads(argv[0])}
    result = _worker(settings)
    print(_RESULT + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

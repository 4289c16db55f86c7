"""Callbacks for ``model.fit``: a wall-clock budget, a learning-rate decay that fits it, the best
weights, a live prediction (whole, or in overlap tiles for a valid-padding model).

Everything else the course uses is Keras's own (``ModelCheckpoint``, ``CSVLogger``,
``EarlyStopping``): these fill gaps, they do not replace ``fit``.
"""

from __future__ import annotations

import math
import time

import keras
import numpy as np

from unet_course._validation import check_fraction, check_positive_number
from unet_course.data.masks import to_class_ids
from unet_course.data.tiles import mirror_pad, overlap_tile_layout, stitch_tiles


def check_time_budget(seconds) -> float:
    """The time budget as a float: a positive number of seconds (the one check of every time budget)."""
    return check_positive_number("time_budget", seconds, unit="seconds", example="time_budget=60 for a minute")


class TimeBudget(keras.callbacks.Callback):
    """Stop training when ``seconds`` of wall-clock time have passed, checked after every batch.

    What Keras does after the last (partial) epoch is counted too: the callback stops early
    enough that the work between two epochs (validation, saving the best model, writing the
    log), as measured over the last three epochs, still fits in the budget, so ``fit`` returns within it (up to one
    batch). Before the first epoch ends, :func:`~unet_course.training.train` supplies the time
    of one validation pass, measured before training starts.

    With ``after_first_step=True`` the clock starts when the first training step ends: that
    step also builds the graph, which takes seconds (more on a busy CPU) whatever the budget,
    so comparisons at equal training time leave it out. Its duration is kept in
    ``first_step_seconds``.
    """

    def __init__(self, seconds: float, after_first_step: bool = False):
        super().__init__()
        self.seconds = check_time_budget(seconds)
        self.after_first_step = bool(after_first_step)
        self.first_step_seconds = None
        self.start = None
        self.validation_seconds = 0.0
        self.stopped = False
        self._test_start = None
        self._last_batch_end = None
        self._gaps: list[float] = []

    def elapsed(self) -> float:
        return 0.0 if self.start is None else time.monotonic() - self.start

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()
        self.stopped = False
        self.first_step_seconds = None
        self._last_batch_end, self._gaps = None, []

    def on_test_begin(self, logs=None):
        self._test_start = time.monotonic()

    def on_test_end(self, logs=None):
        if self._test_start is not None:
            self.validation_seconds = max(self.validation_seconds, time.monotonic() - self._test_start)

    def on_train_batch_begin(self, batch, logs=None):
        if batch == 0 and self._last_batch_end is not None:
            # everything between the last batch of an epoch and the first of the next; the
            # longest of the last three gaps, as the time it takes jitters on a busy CPU
            self._gaps = (self._gaps + [time.monotonic() - self._last_batch_end])[-3:]
            self.validation_seconds = max(self._gaps)

    def on_train_batch_end(self, batch, logs=None):
        self._last_batch_end = time.monotonic()
        if self.first_step_seconds is None:
            self.first_step_seconds = self._last_batch_end - self.start
            if self.after_first_step:
                self.start = self._last_batch_end
        if self.elapsed() + self.validation_seconds >= self.seconds:
            self.model.stop_training = True
            self.stopped = True


class CosineDecay(keras.callbacks.Callback):
    """Cosine decay of the learning rate from ``peak`` to ``peak * final`` over the whole run.

    The run's length is known before it starts (``total_steps``, from epochs x steps per
    epoch) or only as a wall-clock budget (``budget``, the run's
    :class:`TimeBudget`): then the progress is the fraction of the budget used, so the rate
    reaches its floor when the budget ends, however fast the machine is. With both, the
    one that ends the run first decides. An optional linear warm-up over ``warmup_steps``
    comes first. With ``decay_fraction`` below 1 the rate stays at ``peak`` for the first
    ``1 - decay_fraction`` of the run and the cosine takes only its last ``decay_fraction``
    (a "cool-down", as in warmup-stable-decay schedules).

    Keras's ``LearningRateScheduler`` sets the rate once per epoch; this one sets it before a
    batch whenever it has moved by more than 1% of ``peak`` (about a hundred updates per run,
    whatever its length). On JAX the model's state is synced first (``jax_state_sync``), as a
    callback that writes a variable during an epoch must.
    """

    def __init__(
        self,
        peak: float,
        *,
        total_steps: int | None = None,
        budget: TimeBudget | None = None,
        final: float = 0.0,
        warmup_steps: int = 0,
        decay_fraction: float = 1.0,
    ):
        super().__init__()
        if total_steps is None and budget is None:
            raise ValueError("CosineDecay needs total_steps or a TimeBudget: the decay must know when the run ends.")
        if not peak > 0:
            raise ValueError(f"peak learning rate must be positive, got {peak!r}.")
        self.peak, self.final = float(peak), float(final)
        self.total_steps, self.budget = total_steps, budget
        self.warmup_steps = int(warmup_steps)
        self.decay_fraction = check_fraction("decay_fraction", decay_fraction)
        self.step = 0
        self._done = 0.0
        self.current = None
        self.rates: list[tuple[int, float]] = []  # (step, rate) at each update

    def progress(self) -> float:
        """The fraction of the run done, in [0, 1]; it never goes back (the budget's estimate of
        the time kept for validation can shrink, and ``after_first_step`` restarts its clock)."""
        done = self._done
        if self.total_steps:
            done = max(done, self.step / self.total_steps)
        waiting = getattr(self.budget, "after_first_step", False) and self.budget.first_step_seconds is None
        if self.budget is not None and self.budget.start is not None and not waiting:
            used = (self.budget.elapsed() + self.budget.validation_seconds) / self.budget.seconds
            done = max(done, used)
        self._done = min(max(done, 0.0), 1.0)
        return self._done

    def rate(self) -> float:
        if self.step < self.warmup_steps:
            return self.peak * (self.step + 1) / self.warmup_steps
        decayed = max(0.0, self.progress() - (1.0 - self.decay_fraction)) / self.decay_fraction
        cosine = 0.5 * (1.0 + math.cos(math.pi * decayed))
        return self.peak * (self.final + (1.0 - self.final) * cosine)

    def on_train_begin(self, logs=None):
        self.step, self._done, self.current = 0, 0.0, None

    def on_train_batch_begin(self, batch, logs=None):
        rate = self.rate()
        if self.current is not None and abs(rate - self.current) <= 0.01 * self.peak:
            return
        if keras.backend.backend() == "jax":
            self.model.jax_state_sync()
        self.model.optimizer.learning_rate.assign(rate)
        self.current = rate
        self.rates.append((self.step, rate))

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1


class BestWeights(keras.callbacks.Callback):
    """Keep the weights of the best epoch in memory and put them back when training ends.

    ``monitor`` is a key of the epoch logs (``"val_mean_iou"``, ``"val_loss"``...);
    ``mode`` is ``"max"`` or ``"min"``. Unlike ``EarlyStopping(restore_best_weights=True)``,
    it restores them however training ended (epochs done, time budget, interruption).
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "min"):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}.")
        self.monitor, self.mode = monitor, mode
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = None
        self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value):
            return
        if (value < self.best) if self.mode == "min" else (value > self.best):
            self.best, self.best_epoch = float(value), epoch
            self.best_weights = self.model.get_weights()

    def restore(self):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
            return True
        return False

    def on_train_end(self, logs=None):
        self.restore()


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        return False
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


class LivePrediction(keras.callbacks.Callback):
    """Every ``every`` epochs, predict one fixed validation image and show it next to its mask.

    In a notebook the figure is displayed as training goes; elsewhere nothing is drawn.
    Every prediction is also kept in ``frames`` (``(epoch, class ids)``), so that a
    notebook can draw how the prediction grew, after training (:meth:`figure`).

    ``image`` is ``(H, W, C)`` with H and W divisible by the model's ``2 ** depth``.
    """

    def __init__(self, image, mask=None, every: int = 1, show: bool | None = None, num_classes: int | None = None):
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive number of epochs, got {every!r}.")
        self.image = np.asarray(image, dtype=np.float32)
        if self.image.ndim != 3:
            raise ValueError(f"image must be one (H, W, C) image, got shape {self.image.shape}.")
        self.mask = None if mask is None else np.asarray(mask)
        self.every = every
        self.show = _in_notebook() if show is None else show
        self.num_classes = num_classes
        self.frames: list[tuple[int, np.ndarray]] = []

    def _predict(self) -> np.ndarray:
        probabilities = np.asarray(self.model.predict_on_batch(self.image[None]))[0]
        return to_class_ids(probabilities, threshold=0.5)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        self.frames.append((epoch + 1, self._predict()))
        if self.show:
            from IPython.display import display

            figure = self.figure(last=1, logs=logs)
            display(figure)
            import matplotlib.pyplot as plt

            plt.close(figure)

    def figure(self, last: int | None = None, logs=None):
        """Image, true mask and the kept predictions (the ``last`` ones, or all) in one row."""
        import matplotlib.pyplot as plt

        frames = self.frames[-last:] if last else self.frames
        panels = 1 + (self.mask is not None) + len(frames)
        figure, axes = plt.subplots(1, panels, figsize=(2.2 * panels, 2.4), squeeze=False)
        axes = axes[0]
        image = self.image[..., 0] if self.image.shape[-1] == 1 else self.image
        axes[0].imshow(image, cmap="gray" if image.ndim == 2 else None)
        axes[0].set_title("image")
        top = self.num_classes - 1 if self.num_classes else None
        offset = 1
        if self.mask is not None:
            axes[1].imshow(self.mask, cmap="viridis", vmin=0, vmax=top, interpolation="nearest")
            axes[1].set_title("true mask")
            offset = 2
        for ax, (epoch, prediction) in zip(axes[offset:], frames):
            ax.imshow(prediction, cmap="viridis", vmin=0, vmax=top, interpolation="nearest")
            score = ""
            if logs and "val_mean_iou" in logs:
                score = f"\nval mean IoU {logs['val_mean_iou']:.3f}"
            ax.set_title(f"epoch {epoch}{score}")
        for ax in axes:
            ax.set_axis_off()
        figure.tight_layout()
        return figure


class TiledLivePrediction(LivePrediction):
    """:class:`LivePrediction` of a whole image through a valid-padding model, in overlap tiles
    (as :func:`unet_course.inference.predict` cuts them: :func:`~unet_course.data.tiles.overlap_tile_layout`)."""

    def __init__(self, image, mask, *, input_size: int, output_size: int, divisor: int, **options):
        super().__init__(image, mask, **options)
        self.layout = overlap_tile_layout(self.image.shape, input_size, output_size, divisor=divisor)
        padded = mirror_pad(self.image, self.layout.padding)
        self.tiles = np.stack([padded[y : y + input_size, x : x + input_size] for y, x in self.layout.origins])

    def _predict(self) -> np.ndarray:
        outputs = np.asarray(self.model.predict_on_batch(self.tiles))
        return to_class_ids(stitch_tiles(outputs, self.layout, self.image.shape), threshold=0.5)

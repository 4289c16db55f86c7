"""CosineDecay: the learning rate falls along a cosine to 0 by the end of the run, whether the run
ends after a number of steps or at the end of a wall-clock budget (TimeBudget, tested in
test_training_fit.py with the rest of training)."""

import math

import keras
import numpy as np
import pytest

from unet_course.training import RECIPES, CosineDecay, TimeBudget, train, train_segmenter


class _Clock:
    """A stand-in for TimeBudget whose elapsed time the test sets."""

    def __init__(self, seconds, validation_seconds=0.0):
        self.seconds, self.validation_seconds = seconds, validation_seconds
        self.start, self.now = 0.0, 0.0

    def elapsed(self):
        return self.now


def _cosine(peak, progress):
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def test_rate_by_steps_is_the_cosine_worked_by_hand():
    decay = CosineDecay(0.01, total_steps=10)
    expected = {0: 0.01, 5: 0.005, 10: 0.0}  # cos(0) = 1, cos(pi/2) = 0, cos(pi) = -1
    for step, rate in expected.items():
        decay.step = step
        assert decay.rate() == pytest.approx(rate, abs=1e-12)
    decay.step = 25  # past the end: stays at the floor
    assert decay.rate() == pytest.approx(0.0, abs=1e-12)


def test_a_cool_down_holds_the_peak_then_takes_the_cosine_over_the_last_fraction():
    decay = CosineDecay(0.01, total_steps=100, decay_fraction=0.2)
    # held for the first 80 steps; then the cosine of (step - 80) / 20: cos(pi/2) = 0 at step 90
    expected = {0: 0.01, 50: 0.01, 80: 0.01, 90: 0.005, 100: 0.0}
    for step, rate in expected.items():
        decay.step = step
        assert decay.rate() == pytest.approx(rate, abs=1e-12)
    for bad in (0, 1.5, -0.2, "0.2", True):
        with pytest.raises(ValueError, match="decay_fraction must be in"):
            CosineDecay(0.01, total_steps=10, decay_fraction=bad)
    with pytest.raises(ValueError, match="decay_fraction must be in"):
        RECIPES["course"].replace(decay_fraction=0.0)


def test_rate_by_time_follows_the_budget_including_the_room_kept_for_validation():
    clock = _Clock(seconds=100, validation_seconds=10)
    decay = CosineDecay(1.0, budget=clock)
    clock.now = 40  # 40 s + 10 s of validation room = half the budget
    assert decay.progress() == pytest.approx(0.5) and decay.rate() == pytest.approx(0.5)
    clock.now = 90  # the budget stops training here: the rate has reached its floor
    assert decay.rate() == pytest.approx(0.0, abs=1e-12)
    clock.now, clock.validation_seconds = 60, 0  # the room kept for validation shrank: progress stays
    assert decay.progress() == pytest.approx(1.0)
    # with both, whichever ends the run first decides
    both = CosineDecay(1.0, budget=_Clock(seconds=100), total_steps=4)
    both.step = 2
    assert both.progress() == pytest.approx(0.5)


def test_warmup_then_decay_and_a_floor():
    decay = CosineDecay(0.1, total_steps=100, warmup_steps=4, final=0.1)
    rates = []
    for step in range(5):
        decay.step = step
        rates.append(decay.rate())
    np.testing.assert_allclose(rates[:4], [0.025, 0.05, 0.075, 0.1])
    decay.step = 100
    assert decay.rate() == pytest.approx(0.01)  # final=0.1 of the peak


def test_it_needs_to_know_when_the_run_ends():
    with pytest.raises(ValueError, match="total_steps or a TimeBudget"):
        CosineDecay(1e-3)
    with pytest.raises(ValueError, match="peak learning rate must be positive"):
        CosineDecay(0.0, total_steps=3)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    data = (np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32"))
    with pytest.raises(ValueError, match="cosine_decay needs to know when the run ends"):
        train(model, data, epochs=2, cosine_decay=True, verbose=0)


class _Rates(keras.callbacks.Callback):
    """The learning rate each batch trains with (read after the decay set it)."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        if keras.backend.backend() == "jax":
            self.model.jax_state_sync()
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def _rates_of_a_fit(**options):
    """The rate of each of 20 steps (2 epochs of 10) of SGD at 0.1 with ``train(..., cosine_decay=True, **options)``."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.random.default_rng(0).normal(size=(40, 2)).astype("float32")
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(4).repeat()
    seen = _Rates()
    train(model, dataset, epochs=2, steps_per_epoch=10, cosine_decay=True, callbacks=[seen], verbose=0, **options)
    assert len(seen.rates) == 20
    return seen.rates


def test_fit_trains_each_batch_with_the_decayed_rate():
    rates = _rates_of_a_fit()
    expected = [_cosine(0.1, step / 20) for step in range(20)]
    # updated whenever it moved by more than 1% of the peak: never further than that from the cosine
    np.testing.assert_allclose(rates, expected, atol=0.001 + 1e-7)
    assert rates[0] == pytest.approx(0.1) and rates[-1] < 0.002


def test_fit_with_a_cool_down_trains_at_the_peak_until_the_last_fraction():
    rates = _rates_of_a_fit(decay_fraction=0.5)
    np.testing.assert_allclose(rates[:11], 0.1, rtol=1e-6)  # steps 0-10: the first half, at the peak
    expected = [_cosine(0.1, (step - 10) / 10) for step in range(10, 20)]
    np.testing.assert_allclose(rates[10:], expected, atol=0.001 + 1e-7)
    assert rates[-1] < 0.003


def test_a_cosine_recipe_on_a_time_budget_ends_near_zero():
    from unet_course.data.synthetic import make_shapes

    images, masks = make_shapes(4, 32, seed=0)
    recipe = RECIPES["course"].replace(base_filters=4, depth=2, crop_size=32, batch_size=4, schedule="cosine")
    seen = _Rates()
    result = train_segmenter(
        images,
        masks,
        num_classes=4,
        recipe=recipe,
        time_budget=4,
        callbacks=[seen],
        verbose=0,
        budget_after_first_step=True,  # the first step builds the graph: a machine-dependent share of 4 s
    )
    assert result.stopped_by == "time budget" and len(seen.rates) == result.steps_run >= 3
    assert seen.rates[0] == pytest.approx(1e-3, rel=0.01)  # set before the first batch, a moment in
    assert all(b <= a + 1e-12 for a, b in zip(seen.rates, seen.rates[1:]))  # it only falls
    assert seen.rates[-1] < 0.25e-3  # the last batches train at a fraction of the peak


def test_a_time_budget_must_be_a_positive_number_of_seconds():
    for bad in (-1, 0, True, "60"):
        with pytest.raises(ValueError, match=r"time_budget must be a positive number of seconds.*time_budget=60"):
            TimeBudget(bad)

"""Training over model.fit: time budget, best model kept, files written, bad input, it learns."""

import time

import keras
import numpy as np
import pytest

from unet_course import metrics
from unet_course.data.weight_map import unet_weight_map
from unet_course.training import RECIPES, Recipe, TimeBudget, build_model, train_segmenter

TINY = RECIPES["course"].replace(base_filters=4, depth=2, crop_size=32, batch_size=4)


def disks(n, size=32, seed=0):
    """Bright disks on a dark background: an easy binary task."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images, masks = [], []
    for _ in range(n):
        cy, cx, r = rng.uniform(8, size - 8, 2).tolist() + [rng.uniform(4, 8)]
        mask = ((yy - cy) ** 2 + (xx - cx) ** 2 < r**2).astype(np.uint8)
        image = 0.2 + 0.6 * mask + rng.normal(0, 0.05, mask.shape)
        images.append(np.clip(image, 0, 1)[..., None].astype(np.float32))
        masks.append(mask)
    return np.stack(images), np.stack(masks)


class BatchClock(keras.callbacks.Callback):
    """Records when every batch begins and ends, relative to the start of training."""

    def on_train_begin(self, logs=None):
        self.start, self.begins, self.ends = time.monotonic(), [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.begins.append(time.monotonic() - self.start)

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.monotonic() - self.start)


def test_time_budget_is_respected_per_batch(tmp_path):
    x, y = disks(16)
    clock = BatchClock()
    budget = 8
    result = train_segmenter(
        x,
        y,
        x[:4],
        y[:4],
        num_classes=2,
        recipe=TINY,
        time_budget=budget,
        out_dir=tmp_path,
        callbacks=[clock],
        verbose=0,
    )
    assert result.stopped_by == "time budget"
    assert result.steps_run == len(clock.begins) >= 1  # the first step also traces the graph: seconds on a busy CPU
    # checked after every batch: no batch starts once the budget is spent, up to the jitter of
    # the work between two epochs, which is estimated from the epochs before (0.5 s of slack)
    assert max(clock.begins) < budget + 0.5, clock.begins[-3:]
    # and fit returns soon after: one batch (the first one traces the graph) and the epoch's end work
    longest = max(e - b for b, e in zip(clock.begins, clock.ends))
    assert result.elapsed < budget + longest + 3.0, (result.elapsed, longest)
    assert (tmp_path / "model.keras").exists() and (tmp_path / "history.csv").exists()


def test_epochs_best_model_saved_and_reloaded(tmp_path):
    x, y = disks(16)
    result = train_segmenter(x, y, x[:4], y[:4], num_classes=2, recipe=TINY, epochs=3, out_dir=tmp_path, verbose=0)
    assert result.stopped_by == "epochs" and result.epochs_run == 3
    best = int(np.argmax(result.history["val_mean_iou"])) + 1
    assert result.best_epoch == best
    loaded = keras.models.load_model(result.best_path)
    np.testing.assert_allclose(loaded.predict(x[:4], verbose=0), result.model.predict(x[:4], verbose=0), atol=1e-5)
    lines = (tmp_path / "history.csv").read_text().splitlines()
    assert len(lines) == 4 and "val_mean_iou" in lines[0]


def test_it_learns_an_easy_task():
    x, y = disks(48, seed=1)
    xv, yv = disks(8, seed=2)
    result = train_segmenter(
        x, y, xv, yv, num_classes=2, recipe=TINY.replace(base_filters=8), epochs=15, seed=0, verbose=0
    )
    prediction = result.model.predict(xv, verbose=0).argmax(-1)
    assert metrics.per_class_iou(yv, prediction, 2)[1] > 0.7


def test_seeded_runs_repeat():
    x, y = disks(8)
    a = train_segmenter(x, y, num_classes=2, recipe=TINY, epochs=2, seed=3, verbose=0)
    b = train_segmenter(x, y, num_classes=2, recipe=TINY, epochs=2, seed=3, verbose=0)
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)


def test_interrupt_keeps_the_best_weights():
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    x, y = disks(8)
    result = train_segmenter(
        x, y, x[:2], y[:2], num_classes=2, recipe=TINY, epochs=10, callbacks=[Interrupt()], verbose=0
    )
    assert result.stopped_by == "interrupted" and result.best_epoch in (1, 2)


def test_weight_map_as_sample_weight():
    x, y = disks(8)
    weights = [unet_weight_map(m) for m in y]
    result = train_segmenter(x, y, num_classes=2, recipe=TINY.replace(loss="ce"), weights=weights, epochs=1, verbose=0)
    assert np.isfinite(result.history["loss"][0])
    with pytest.raises(ValueError, match="cross-entropy"):
        train_segmenter(x, y, num_classes=2, recipe=TINY, weights=weights, epochs=1, verbose=0)


def test_ignore_index_trains(tmp_path):
    x, y = disks(8)
    y = y.copy()
    y[:, :3] = 255
    result = train_segmenter(x, y, x[:2], y[:2], num_classes=2, ignore_index=255, recipe=TINY, epochs=1, verbose=0)
    assert np.isfinite(result.history["val_mean_iou"][0])


def test_normalisation_is_inside_the_saved_model():
    x, y = disks(4)
    model = build_model(TINY, 1, 2, mean=[0.5], variance=[0.04])
    norm = model.get_layer("normalize")
    np.testing.assert_allclose(np.asarray(norm(np.full((1, 4, 4, 1), 0.7, "float32")))[0, 0, 0, 0], 1.0, rtol=1e-5)
    bn = [layer for layer in model.get_layer("unet").layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert bn and all(layer.momentum == TINY.batch_norm_momentum for layer in bn)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(num_classes=1, epochs=1), "num_classes must be an integer >= 2"),
        (dict(num_classes=2), "epochs=N or time_budget"),
        (dict(num_classes=2, time_budget=0), "time_budget must be a positive"),
        (dict(num_classes=2, epochs=0), "epochs must be a positive"),
        (dict(num_classes=2, epochs=1, recipe="fancy"), "recipe must be one of"),
    ],
)
def test_bad_arguments(options, message):
    x, y = disks(4)
    with pytest.raises(ValueError, match=message):
        train_segmenter(x, y, verbose=0, **options)


def test_time_budget_and_recipe_validation():
    with pytest.raises(ValueError, match="positive number of seconds"):
        TimeBudget(-1)
    with pytest.raises(ValueError, match="loss"):
        Recipe(loss="focal")

"""Training over model.fit: time budget, best model kept, files written, bad input, it learns;
the paper's valid-padding U-Net (masks centre-cropped, validation on overlap tiles)."""

import time

import keras
import numpy as np
import pytest

from unet_course import metrics
from unet_course.data.augment import Augment
from unet_course.data.weight_map import unet_weight_map
from unet_course.inference import predict
from unet_course.training import RECIPES, Recipe, build_model, train_segmenter
from unet_course.training import fit as fit_module

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


@pytest.mark.usefixtures("eager")
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


@pytest.mark.usefixtures("eager")
def test_seeded_runs_repeat():
    x, y = disks(8)
    a = train_segmenter(x, y, num_classes=2, recipe=TINY, epochs=2, seed=3, verbose=0)
    b = train_segmenter(x, y, num_classes=2, recipe=TINY, epochs=2, seed=3, verbose=0)
    np.testing.assert_allclose(a.history["loss"], b.history["loss"], rtol=1e-5)


@pytest.mark.usefixtures("eager")
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


@pytest.mark.usefixtures("eager")
def test_weight_map_as_sample_weight():
    x, y = disks(8)
    weights = [unet_weight_map(m) for m in y]
    result = train_segmenter(x, y, num_classes=2, recipe=TINY.replace(loss="ce"), weights=weights, epochs=1, verbose=0)
    assert np.isfinite(result.history["loss"][0])
    with pytest.raises(ValueError, match="cross-entropy"):
        train_segmenter(x, y, num_classes=2, recipe=TINY, weights=weights, epochs=1, verbose=0)


@pytest.mark.usefixtures("eager")
def test_ignore_index_trains(tmp_path):
    x, y = disks(8)
    y = y.copy()
    y[:, :3] = 255
    result = train_segmenter(x, y, x[:2], y[:2], num_classes=2, ignore_index=255, recipe=TINY, epochs=1, verbose=0)
    assert np.isfinite(result.history["val_mean_iou"][0])


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


# ---- valid padding (the paper's U-Net) -----------------------------------------------

VALID = TINY.replace(padding="valid", crop_size=60)  # depth 2: 60 in, 20 out


def pooled_mean_iou(masks, predictions, num_classes=2):
    truth = np.concatenate([m.ravel() for m in masks])
    predicted = np.concatenate([p.ravel() for p in predictions])
    return float(np.mean(metrics.per_class_iou(truth, predicted, num_classes)))


def test_valid_unet_trains_and_validates_on_overlap_tiles(tmp_path):
    x, y = disks(8, size=64)
    xv, yv = disks(3, size=50, seed=5)  # smaller than the model's input: only tiles can validate them
    result = train_segmenter(
        x, y, xv, yv, num_classes=2, recipe=VALID, epochs=2, out_dir=tmp_path, live_every=1, verbose=0
    )
    assert result.recipe.padding == "valid" and result.recipe.crop_size == 60 and result.epochs_run == 2
    assert result.model.input_shape == (None, 60, 60, 1) and result.model.output_shape == (None, 20, 20, 2)
    assert result.steps_run == 2 * 20  # 8 images of 64x64 cover ~10 outputs of 20x20 each; batches of 4
    # val_mean_iou is the score of the stitched overlap-tile predictions, every pixel once
    best = result.history["val_mean_iou"][result.best_epoch - 1]
    stitched = predict(result.model, list(xv))
    assert [p.shape for p in stitched] == [(50, 50)] * 3
    assert pooled_mean_iou(yv, stitched) == pytest.approx(best, abs=1e-4)
    assert [frame.shape for _, frame in result.live.frames] == [(50, 50)] * 2  # the whole image, tiled
    # the saved model reloads and predicts whole images through predict (overlap tiles)
    loaded = keras.models.load_model(result.best_path)
    np.testing.assert_allclose(
        predict(loaded, xv[0], probabilities=True), predict(result.model, xv[0], probabilities=True), atol=1e-5
    )


def test_valid_masks_are_the_centre_of_each_crop_with_weights_and_elastic(monkeypatch):
    made = []
    original = fit_module.dataset_of_checked_pairs

    def spy(*args, **kwargs):
        made.append((original(*args, **kwargs), kwargs))
        return made[-1][0]

    monkeypatch.setattr(fit_module, "dataset_of_checked_pairs", spy)
    x, y = disks(8, size=56)
    weights = [unet_weight_map(m) + m for m in y]  # 1 outside the disks, above 1 inside
    recipe = VALID.replace(loss="ce", crop_size=64, augment=Augment(flips=True, rot90=False, elastic=True))
    result = train_segmenter(x, y, num_classes=2, recipe=recipe, weights=weights, epochs=1, verbose=0)
    # 64 > the 56-pixel images: the crop shrinks to the largest valid size that fits, 56 (output 16)
    assert result.recipe.crop_size == 56 and result.model.output_shape == (None, 16, 16, 2)
    assert np.isfinite(result.history["loss"][0])
    dataset, options = made[0]
    assert options["output_size"] == 16 and options["augment"].elastic
    images, masks, pixel_weights = (t.numpy() for t in next(iter(dataset)))
    assert images.shape == (4, 56, 56, 1) and masks.shape == pixel_weights.shape == (4, 16, 16)
    centre = images[:, 20:36, 20:36, 0]
    clear = np.abs(centre - 0.5) > 0.15  # the disks are 0.8, the background 0.2 (noise 0.05)
    assert ((centre > 0.5) == (masks == 1))[clear].mean() > 0.99  # the mask of the image's centre
    # the weights travel with the mask: above 1 exactly on the disks
    np.testing.assert_array_equal(pixel_weights > 1, masks == 1)


@pytest.mark.parametrize(
    "images, recipe, message",
    [
        (
            64,
            VALID.replace(crop_size=20),
            "crop_size=20 is too small for a valid-padding U-Net of depth 2.*at least 44",
        ),
        (32, VALID, "Training images of 32 pixels are too small for a valid-padding U-Net of depth 2.*at least 44"),
    ],
)
def test_valid_crops_too_small_for_the_depth(images, recipe, message):
    x, y = disks(4, size=images)
    with pytest.raises(ValueError, match=message):
        train_segmenter(x, y, num_classes=2, recipe=recipe, epochs=1, verbose=0)


# ---- a pretrained encoder under the course's decoder (Recipe(encoder=...)) ----------------

BACKBONE = Recipe(encoder="mobilenetv2", base_filters=4, crop_size=64, batch_size=4)  # the lightest encoder


def encoder_batch_norms(model):
    return [layer for layer in model.get_layer("encoder").layers if isinstance(layer, keras.layers.BatchNormalization)]


@pytest.mark.usefixtures("eager")
def test_backbone_recipe_trains_validates_on_multiples_of_32_and_reloads(tmp_path):
    x, y = disks(8, size=64)
    xv, yv = disks(2, size=80, seed=5)  # 80 = 5 * 16: a depth-4 crop would keep 80, the backbone needs 64
    result = train_segmenter(
        x, y, xv, yv, num_classes=2, recipe=BACKBONE, epochs=1, out_dir=tmp_path, live_every=1, verbose=0
    )
    assert result.depth == 5 and result.recipe.model_depth == 5 and result.recipe.encoder == "mobilenetv2"
    assert result.model.name == "unet_mobilenetv2" and result.model.get_layer("encoder").count_params() == 2_257_984
    assert "normalize" not in [layer.name for layer in result.model.layers]  # the encoder's preprocessing instead
    assert np.isfinite(result.history["val_mean_iou"][0]) and result.epochs_run == 1
    assert [frame.shape for _, frame in result.live.frames] == [(64, 64)]  # the validation image, cropped to 64
    # the best model reloads (its custom layers registered) and predicts whole 80x80 images (padded to 96)
    loaded = keras.models.load_model(result.best_path)
    assert predict(loaded, xv[0]).shape == (80, 80)
    np.testing.assert_allclose(
        predict(loaded, xv[0], probabilities=True), predict(result.model, xv[0], probabilities=True), atol=1e-5
    )


@pytest.mark.usefixtures("eager")
def test_backbone_with_a_weights_file_frozen_trains_the_decoder_only(tmp_path):
    from unet_course.models import build_encoder

    encoder = build_encoder("mobilenetv2", (64, 64, 3))
    rng = np.random.default_rng(0)
    encoder.set_weights([w + rng.normal(0, 0.05, w.shape).astype(w.dtype) for w in encoder.get_weights()])
    path = tmp_path / "mobilenetv2.weights.h5"
    encoder.save_weights(path)
    x, y = disks(8, size=64)
    recipe = BACKBONE.replace(encoder_weights=path, freeze_encoder=True)
    result = train_segmenter(x, y, num_classes=2, recipe=recipe, epochs=1, verbose=0)
    assert result.steps_run > 0 and np.isfinite(result.history["loss"][0])
    trained = result.model.get_layer("encoder").get_weights()
    assert len(trained) == len(encoder.get_weights())
    for got, want in zip(trained, encoder.get_weights()):  # the file's weights, untouched by training
        np.testing.assert_array_equal(got, want)
    decoder = sum(int(np.prod(w.shape)) for w in result.model.trainable_weights)
    assert decoder == result.model.count_params() - 2_257_984


def test_backbone_batch_norm_fine_tuned_pretrained_vs_from_scratch(tmp_path):
    from unet_course.models import build_encoder

    path = tmp_path / "mobilenetv2.weights.h5"
    build_encoder("mobilenetv2", (64, 64, 3)).save_weights(path)
    # pretrained, fine-tuned: the convolutions train, batch norm keeps its statistics (inference mode)
    tuned = build_model(BACKBONE.replace(encoder_weights=path, batch_norm=True, batch_norm_momentum=0.9), 1, 2)
    encoder = tuned.get_layer("encoder")
    assert encoder.get_layer("Conv1").trainable and all(not bn.trainable for bn in encoder_batch_norms(tuned))
    decoder_bn = [layer for layer in tuned.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert decoder_bn and all(bn.momentum == 0.9 and bn.trainable for bn in decoder_bn)
    # from scratch: every layer trains, batch norm with the recipe's momentum
    scratch = build_model(BACKBONE.replace(batch_norm_momentum=0.9), 1, 2)
    assert all(bn.trainable and bn.momentum == 0.9 for bn in encoder_batch_norms(scratch))
    # pretrained, frozen: nothing of the encoder trains, its batch norm keeps Keras's momentum
    frozen = build_model(BACKBONE.replace(encoder_weights=path, freeze_encoder=True), 3, 2)
    assert not frozen.get_layer("encoder").trainable_weights
    assert frozen.input_shape == (None, None, None, 3) and frozen.output_shape == (None, None, None, 2)


def test_backbone_images_and_crops_that_do_not_fit_stride_32():
    x, y = disks(4, size=64)
    with pytest.raises(ValueError, match=r"crop_size=48 is not divisible by 32"):
        train_segmenter(x, y, num_classes=2, recipe=BACKBONE, crop_size=48, epochs=1, verbose=0)
    small, small_masks = disks(4, size=24)
    with pytest.raises(
        ValueError, match=r"24 pixels are too small for a U-Net with the mobilenetv2 encoder.*at least 32"
    ):
        train_segmenter(small, small_masks, num_classes=2, recipe=BACKBONE, epochs=1, verbose=0)


class SlowFirstStep(keras.callbacks.Callback):
    """Sleeps before the very first batch: a stand-in for slow graph building on a busy CPU."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.done = seconds, False

    def on_train_batch_begin(self, batch, logs=None):
        if not self.done:
            self.done = True
            time.sleep(self.seconds)


def test_budget_after_first_step_leaves_graph_building_out(tmp_path):
    x, y = disks(16)
    options = dict(num_classes=2, recipe=TINY, time_budget=2.0, verbose=0)
    counted = train_segmenter(x, y, callbacks=[SlowFirstStep(3.0)], **options)
    assert counted.steps_run == 1  # the slow first step spent the whole budget
    left_out = train_segmenter(x, y, callbacks=[SlowFirstStep(3.0)], budget_after_first_step=True, **options)
    assert left_out.stopped_by == "time budget"
    assert left_out.first_step_seconds >= 3.0
    assert left_out.steps_run > 1
    assert 1.5 < left_out.elapsed < 2.0 + 3.0  # the budget's 2 s (plus a batch), without the 3 s first step

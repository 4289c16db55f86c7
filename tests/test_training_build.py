"""Building a recipe's model, loss and optimiser (``training/build.py``): the normalisation inside the
model, valid padding's input and output, the recipe's precision, output-bias prior and Dice weight
(``Recipe(precision=, output_bias=, dice_weight=)``)."""

import keras
import numpy as np
import pytest

from unet_course.training import RECIPES, build_model, make_loss, train_segmenter
from unet_course.training import build as build_module
from unet_course.training import fit as fit_module
from unet_course.training import recipes as recipes_module
from unet_course.training.build import class_shares, set_output_prior

TINY = RECIPES["course"].replace(base_filters=4, depth=2, crop_size=32, batch_size=4)
MEAN, VARIANCE = np.array([0.5]), np.array([0.04])


def test_normalisation_is_inside_the_saved_model():
    model = build_model(TINY, 1, 2, mean=[0.5], variance=[0.04])
    norm = model.get_layer("normalize")
    np.testing.assert_allclose(np.asarray(norm(np.full((1, 4, 4, 1), 0.7, "float32")))[0, 0, 0, 0], 1.0, rtol=1e-5)
    bn = [layer for layer in model.get_layer("unet").layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert not bn and not TINY.batch_norm  # the course recipe has none (recipes.py says why)
    with_bn = build_model(TINY.replace(batch_norm=True), 1, 2, mean=[0.5], variance=[0.04])
    bn = [layer for layer in with_bn.get_layer("unet").layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert bn and all(layer.momentum == TINY.batch_norm_momentum == 0.9 for layer in bn)


def test_a_valid_padding_model_takes_the_rounded_up_crop_and_predicts_its_centre():
    valid = TINY.replace(padding="valid", crop_size=50)  # depth 2: 52 in, 12 out
    model = build_model(valid, 1, 2, mean=[0.5], variance=[0.1])
    assert model.input_shape == (None, 52, 52, 1) and model.output_shape == (None, 12, 12, 2)


def test_class_shares_count_labelled_pixels_only():
    masks = [np.array([[0, 0, 1], [2, 255, 0]]), np.array([[1, 1, 255]])]
    # labelled pixels: class 0 three times, class 1 three times, class 2 once; 255 left out
    np.testing.assert_allclose(class_shares(masks, 3, ignore_index=255), [3 / 7, 3 / 7, 1 / 7])
    np.testing.assert_allclose(class_shares([np.zeros((2, 2), int)], 2), [1.0, 0.0])


def test_prior_bias_is_the_log_of_the_shares_and_the_first_guess_is_near_them():
    shares = np.array([0.9, 0.06, 0.04])
    model = build_model(TINY.replace(output_bias="prior"), 1, 3, mean=MEAN, variance=VARIANCE, class_shares=shares)
    bias = build_module._find_classifier(model).get_weights()[1]
    np.testing.assert_allclose(bias, np.log(shares), rtol=1e-6)
    image = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 1)).astype("float32")
    guess = np.asarray(model.predict_on_batch(image)).mean(axis=(0, 1, 2))
    uniform = build_model(TINY, 1, 3, mean=MEAN, variance=VARIANCE)
    assert np.abs(guess - shares).max() < 0.02, guess
    # without the prior the first guess is wherever the random weights put it (about uniform
    # with batch norm; 0.71 / 0.05 / 0.24 here, without), far from the shares
    far = np.abs(np.asarray(uniform.predict_on_batch(image)).mean(axis=(0, 1, 2)) - shares).max()
    assert far > 0.1 and far > 5 * np.abs(guess - shares).max()
    # an absent class gets a finite bias (share floored at 1e-4)
    set_output_prior(model, [1.0, 0.0, 0.0])
    assert np.isfinite(build_module._find_classifier(model).get_weights()[1]).all()
    with pytest.raises(ValueError, match="2 values; the classifier has 3"):
        set_output_prior(model, [0.5, 0.5])


def test_train_segmenter_starts_from_the_training_prior(monkeypatch):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (4, 32, 32, 1)).astype("float32")
    masks = (rng.uniform(0, 1, (4, 32, 32)) < 0.2).astype("uint8")
    seen = {}
    real = fit_module.build_model

    def spy(*args, **kwargs):
        seen["shares"] = kwargs.get("class_shares")
        return real(*args, **kwargs)

    monkeypatch.setattr(fit_module, "build_model", spy)
    train_segmenter(images, masks, num_classes=2, recipe=TINY.replace(output_bias="prior"), epochs=1, verbose=0)
    np.testing.assert_allclose(seen["shares"], [1 - masks.mean(), masks.mean()])


def test_mixed_bfloat16_computes_in_bfloat16_outputs_float32_and_restores_the_policy(tmp_path):
    before = keras.config.dtype_policy().name
    model = build_model(TINY.replace(precision="mixed_bfloat16"), 1, 2, mean=MEAN, variance=VARIANCE)
    assert keras.config.dtype_policy().name == before
    unet = model.get_layer(index=-1)
    convs = [layer for layer in unet.layers if isinstance(layer, keras.layers.Conv2D)]
    assert {layer.compute_dtype for layer in convs[:-1]} == {"bfloat16"}
    assert all(w.dtype == "float32" for w in model.weights)
    assert model.get_layer("normalize").compute_dtype == "float32"
    image = np.random.default_rng(0).uniform(0, 1, (1, 32, 32, 1)).astype("float32")
    out = model.predict_on_batch(image)
    assert str(out.dtype) == "float32"
    np.testing.assert_allclose(np.asarray(out).sum(-1), 1.0, atol=1e-5)
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", compile=False)
    np.testing.assert_allclose(again.predict_on_batch(image), out, atol=1e-6)


def test_policy_is_restored_when_building_fails():
    before = keras.config.dtype_policy().name
    with pytest.raises(ValueError):
        build_model(TINY.replace(precision="mixed_bfloat16"), 1, 2)  # normalize without mean and variance
    assert keras.config.dtype_policy().name == before


@pytest.mark.parametrize(
    "flags, backend, expected",
    [
        ("flags : fpu avx2 amx_bf16 amx_tile", "tensorflow", "mixed_bfloat16"),
        ("flags : fpu avx2 avx512_bf16", "tensorflow", "mixed_bfloat16"),
        ("flags : fpu avx2 avx512f", "tensorflow", "float32"),
        ("flags : fpu avx2 amx_bf16", "jax", "float32"),
        (None, "tensorflow", "float32"),  # no /proc/cpuinfo (macOS, Windows)
    ],
)
def test_auto_precision_is_bfloat16_only_where_the_cpu_has_it(tmp_path, monkeypatch, flags, backend, expected):
    path = tmp_path / "cpuinfo"
    if flags is not None:
        path.write_text(f"processor : 0\n{flags}\n")
    monkeypatch.setattr(recipes_module, "CPUINFO", str(path))
    monkeypatch.setattr(keras.backend, "backend", lambda: backend)
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])
    assert recipes_module.resolve_precision("auto") == expected
    assert recipes_module.resolve_precision("float32") == "float32"
    assert recipes_module.resolve_precision(None) == keras.config.dtype_policy().name


def test_dice_weight_reaches_the_loss_and_bad_values_are_refused():
    assert make_loss(TINY.replace(dice_weight=0.25), 2).dice_weight == 0.25
    for changes, message in (
        ({"dice_weight": -1}, "dice_weight must be a number >= 0"),
        ({"precision": "float16"}, "precision must be one of"),
        ({"output_bias": "log"}, "output_bias must be one of"),
    ):
        with pytest.raises(ValueError, match=message):
            TINY.replace(**changes)


def test_the_course_default_is_auto_and_builds_what_auto_resolves_to_here():
    assert RECIPES["course"].precision == TINY.precision == "auto" and RECIPES["textbook"].precision is None
    model = build_model(TINY, 1, 2, mean=MEAN, variance=VARIANCE)
    expected = recipes_module.resolve_precision("auto")  # mixed_bfloat16 on a CPU with bfloat16 units
    conv = next(x for x in model._flatten_layers() if x.name == "enc1_conv1")
    assert conv.dtype_policy.name == expected
    assert conv.compute_dtype == ("bfloat16" if expected == "mixed_bfloat16" else "float32")
    assert model.output.dtype == "float32"  # the classifier's softmax stays float32 either way


def test_precision_none_follows_the_global_policy_as_notebook_11_sets_it():
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        mixed = build_model(TINY.replace(precision=None), 1, 2, mean=MEAN, variance=VARIANCE)
        plain = build_model(TINY.replace(precision="float32"), 1, 2, mean=MEAN, variance=VARIANCE)
        assert recipes_module.resolve_precision(None) == "mixed_bfloat16"
    finally:
        keras.config.set_dtype_policy(previous)
    first_conv = "enc1_conv1"
    assert next(x for x in mixed._flatten_layers() if x.name == first_conv).compute_dtype == "bfloat16"
    assert next(x for x in plain._flatten_layers() if x.name == first_conv).compute_dtype == "float32"

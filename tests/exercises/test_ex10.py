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
# q2: freeze the encoder, count the trainable parameters
# --------------------------------------------------------------------------------------


def _n(weights):
    return int(sum(np.prod(w.shape) for w in weights))


def test_q2_reference_passes_and_counts_the_decoder():
    passed, message = _run(ex.q2, ex.freeze_and_count)
    assert passed, message
    # the count, computed another way: the decoder's trainable weights of a fresh model
    model = build_backbone_unet(**ex._q2_cases()[0][1])
    decoder = _n(w for layer in model.layers if layer.name != "encoder" for w in layer.trainable_weights)
    assert f"{decoder:,} of the MobileNetV2 U-Net" in message
    assert ex.freeze_and_count(model) == decoder


def test_q2_other_correct_answers_pass():
    def layer_by_layer(model):
        for layer in model.get_layer("encoder").layers:
            layer.trainable = False
        return sum(keras.ops.size(w) for w in model.trainable_weights)  # a tensor: converted by the checker

    def with_the_package(model):
        set_encoder_trainable(model, False)
        return float(sum(w.numpy().size for w in model.trainable_weights))

    for answer in (layer_by_layer, with_the_package):
        passed, message = _run(ex.q2, answer)
        assert passed, message


def _whole_model(model):
    model.trainable = False
    return _n(model.trainable_weights)


def _before_freezing(model):
    count = _n(model.trainable_weights)
    model.get_layer("encoder").trainable = False
    return count


def _not_frozen(model):
    return _n(model.trainable_weights) - _n(model.get_layer("encoder").trainable_weights)


def _decoder_too(model):
    for layer in model.layers:
        if layer.name != "classifier":
            layer.trainable = False
    return _n(model.trainable_weights)


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_whole_model, "you froze the whole model"),
        (lambda m: (setattr(m.get_layer("encoder"), "trainable", False), m.count_params())[1], "model.count_params()"),
        (_before_freezing, "BEFORE freezing"),
        (
            lambda m: (setattr(m.get_layer("encoder"), "trainable", False), len(m.trainable_weights))[1],
            "weight TENSORS",
        ),
        (
            lambda m: (
                setattr(m.get_layer("encoder"), "trainable", False),
                m.count_params() - m.get_layer("encoder").count_params(),
            )[1],
            "batch-norm moving means and variances",
        ),
        (
            lambda m: (setattr(m.get_layer("encoder"), "trainable", False), _n(m.non_trainable_weights))[1],
            "do NOT train",
        ),
        (_not_frozen, "the encoder is not frozen"),
        (_decoder_too, "you froze decoder layers too"),
    ],
)
def test_q2_typical_mistakes(answer, phrase):
    passed, message = _run(ex.q2, answer)
    assert not passed
    assert phrase in message, message


def test_q2_crash_wrong_layer_name_and_wrong_type_are_feedback():
    def wrong_name(model):
        model.get_layer("vgg16").trainable = False
        return _n(model.trainable_weights)

    passed, message = _run(ex.q2, wrong_name)
    assert not passed and "ValueError" in message and "model.get_layer('encoder')" in message, message
    passed, message = _run(ex.q2, lambda m: "many")
    assert not passed and "one number" in message
    passed, message = _run(ex.q2, lambda m: 12.5)
    assert not passed and "whole number" in message
    passed, message = _run(ex.q2, lambda m: None)
    assert not passed and "return" in message


def test_q2_a_previous_answer_does_not_leak_into_the_next_check():
    _run(ex.q2, _whole_model)  # freezes the cached models
    passed, message = _run(ex.q2, ex.freeze_and_count)
    assert passed, message


def test_every_exercise_has_hints_and_a_solution(capsys):
    for exercise in (ex.q1, ex.q2):
        assert len(exercise.hints) >= 2 and exercise.notebook == "10_pretrained_encoders"
        exercise.solution()
        assert f"def {exercise.target}(" in capsys.readouterr().out

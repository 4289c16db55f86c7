"""unet_course.exercises._core: listed cases, verdicts, successive hints, learner errors as messages."""

import numpy as np
import pytest

from unet_course.exercises import Case, Mistake, Verdict, call, exercise, same
from unet_course.exercises._core import applies_relu, layers_of, walk_layers


def double(x):
    return 2 * x


def _cases():
    return [
        Case(
            "the number 3",
            (3,),
            mistakes=(
                (3, "On {label} you returned {got}: you forgot to double."),
                (lambda got: got < 0, "On {label} {got} is negative."),
            ),
        ),
        Case("an array", (np.arange(3),), expected=np.array([0, 2, 4])),
    ]


EX = exercise(
    "q9",
    "double it",
    notebook="99_test",
    reference=double,
    hint=("Multiply.", "By two: 2 * x."),
    cases=_cases,
    success="doubled!",
)


def test_cases_pass_and_return_the_success_message():
    assert EX.verdict(double) == Verdict(True, "doubled!")
    assert EX.target == "double"


def test_listed_mistakes_in_order_then_the_default_message():
    assert EX.verdict(lambda x: x) == Verdict(False, "not yet. On the number 3 you returned 3: you forgot to double.")
    assert EX.verdict(lambda x: -x).message == "not yet. On the number 3 -3 is negative."
    passed, message = EX.verdict(lambda x: 2 * x if np.ndim(x) == 0 else x)
    assert not passed and message == "not yet. On an array you returned [0, 1, 2]; expected [0, 2, 4]."


def test_inputs_are_copied_so_an_answer_cannot_change_the_cases():
    def spoil(x):
        if isinstance(x, np.ndarray):
            x[:] = 0
        return 2 * x

    assert not EX.verdict(spoil).passed


def test_coerce_can_refuse_a_value_with_a_message():
    def as_int(got, case):
        if not isinstance(got, (int, np.integer, np.ndarray)):
            raise Mistake(f"On {case.label} return a number, not {type(got).__name__}.")
        return got

    strict = exercise("q9", "double it", notebook="99", reference=double, hint="x", cases=_cases, coerce=as_int)
    assert strict.verdict(lambda x: "6").message == "not yet. On the number 3 return a number, not str."


def test_successive_hints_and_a_chosen_one(capsys):
    fresh = exercise("q9", "double it", notebook="99", reference=double, hint=("first", "second"), cases=_cases)
    fresh.hint()
    fresh.hint()
    fresh.hint()  # stays on the last
    fresh.hint(1)
    out = capsys.readouterr().out.splitlines()
    assert [line.rsplit(": ", 1)[1] for line in out] == ["first", "second", "second", "first"]
    assert "hint 1 of 2" in out[0]
    with pytest.raises(ValueError, match="hint\\(1\\) to hint\\(2\\)"):
        fresh.hint(3)


def test_a_broken_checker_is_reported_as_the_course_s_fault():
    @exercise("q8", "broken", notebook="99", reference=double, hint="x")
    def broken(answer):
        raise KeyError("oops")

    assert "the checker itself failed" in broken.verdict(double).message


def test_same_compares_shapes_values_and_none():
    assert same(np.ones((2, 2)), np.ones((2, 2)) + 1e-9)
    assert not same(np.ones((2, 2)), np.ones(4))
    assert same(None, None) and not same(None, 0) and not same((1, 2), None)


def test_a_keras_output_not_connected_to_the_inputs_gets_a_learner_s_message():
    import keras
    from keras import layers

    def checker(answer):
        x = keras.Input((4, 4, 2))
        keras.Model(x, call(answer, x, describe="on a 4x4x2 input"))  # what decoder checkers do

    ex = exercise("q7", "block", notebook="99", reference=double, hint="x")(checker)
    passed, message = ex.verdict(lambda x: layers.Conv2D(2, 3, padding="same")(keras.Input((4, 4, 2))))
    assert not passed and "not computed from the inputs it was given" in message
    assert ex.verdict(lambda x: layers.Conv2D(2, 3, padding="same")(x)).passed


# ---------------------------------------------------------------- listed cases: extras


def test_on_error_adds_the_case_s_sentence_and_numpy_warnings_stay_quiet(recwarn):
    cases = [Case("two zeros", (0, 0), expected=1.0, on_error="Zero over zero scores 1 here.")]

    def ratio(a, b):
        return a / b

    ex = exercise("q9", "ratio", notebook="99", reference=ratio, hint="x", cases=cases)
    message = ex.verdict(ratio).message
    assert "ZeroDivisionError" in message and message.endswith("Zero over zero scores 1 here.")
    assert not ex.verdict(lambda a, b: np.float64(a) / np.float64(b)).passed  # NaN, judged ...
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]  # ... without a RuntimeWarning


def test_distinct_drops_right_answers_and_repeats_but_keeps_predicates():
    from unet_course.exercises._core import distinct

    always = lambda got: True  # noqa: E731
    kept = distinct([(1, "right"), (2, "first"), (2.0, "again"), (always, "predicate"), (3, "other")], 1)
    assert [message for _, message in kept] == ["first", "predicate", "other"]


def test_a_keras_error_is_shown_without_colours_and_argument_lists():
    def answer():
        raise ValueError("\x1b[1mComputed output size would be zero.\x1b[0m\n\nArguments received by X.call():\n  • x")

    with pytest.raises(Mistake) as caught:
        call(answer, describe="on a tiny input")
    assert str(caught.value) == "Your function raised ValueError: Computed output size would be zero. on a tiny input."


# ---------------------------------------------------------------- reading a Keras answer


def _nested_answer():
    import keras
    from keras import layers, ops

    class Pair(layers.Layer):  # a layer holding its own layers
        def __init__(self):
            super().__init__()
            self.first = layers.Conv2D(2, 3, padding="same")
            self.second = layers.Conv2DTranspose(2, 2, strides=2)

        def call(self, t):
            return self.second(ops.relu(self.first(t)))

        def compute_output_shape(self, shape):
            return self.second.compute_output_shape(self.first.compute_output_shape(shape))

    x = keras.Input((8, 8, 3))
    y = keras.Sequential([layers.Conv2D(4, 3, padding="same", activation="relu"), layers.ReLU()])(x)
    inner_in = keras.Input((8, 8, 4))
    y = keras.Model(inner_in, layers.Activation("relu")(layers.Conv2D(4, 1)(inner_in)))(y)
    y = ops.concatenate([ops.relu(y), x], axis=-1)
    y = Pair()(keras.activations.relu(y))
    return keras.Model(x, y)


def test_walk_layers_looks_inside_sequential_nested_models_and_layers_of_layers():
    names = [type(op).__name__ for op in walk_layers(_nested_answer())]
    assert names == [
        "Conv2D",
        "ReLU",
        "Conv2D",
        "Activation",
        "Relu",
        "Concatenate",
        "ReLU",
        "Conv2D",
        "Conv2DTranspose",
    ]


def test_layers_of_by_class_or_name_and_relus_written_any_way():
    from keras import layers

    model = _nested_answer()
    assert len(layers_of(model, layers.Conv2D)) == 3  # Conv2DTranspose is not a Conv2D
    assert [type(op).__name__ for op in layers_of(model, "Concatenate", layers.Conv2DTranspose)] == [
        "Concatenate",
        "Conv2DTranspose",
    ]
    # Conv2D(activation="relu"), ReLU(), Activation("relu"), ops.relu, keras.activations.relu
    assert sum(applies_relu(op) for op in walk_layers(model)) == 5


# ---------------------------------------------------------------- the course's exercises 00-06


COURSE_MODULES = ("ex00", "ex01", "ex02", "ex03", "ex04", "ex05", "ex06")


def _course_exercises():
    import importlib

    from unet_course.exercises import exercises_of

    for name in COURSE_MODULES:
        for ex in exercises_of(importlib.import_module(f"unet_course.exercises.{name}")):
            yield f"{name}.{ex.name}", ex


@pytest.mark.parametrize("name, ex", list(_course_exercises()), ids=lambda v: v if isinstance(v, str) else "")
def test_hints_are_graded_nudges_not_the_solution(name, ex):
    import inspect

    assert len(ex.hints) >= 2, f"{name}: give a first nudge, then a closer one"
    source = inspect.getsource(ex.reference) if callable(ex.reference) else ex.reference
    body = [line.strip() for line in source.splitlines()[1:] if len(line.strip()) >= 16]
    for hint in ex.hints:
        for line in body:
            assert line not in hint, f"{name}: a hint hands over the reference's line {line!r}"


def _listed_cases(ex):
    free = dict(zip(ex.checker.__code__.co_freevars, [c.cell_contents for c in ex.checker.__closure__ or ()]))
    cases = free.get("cases")
    return [] if cases is None else list(cases() if callable(cases) else cases)


@pytest.mark.parametrize("name, ex", list(_course_exercises()), ids=lambda v: v if isinstance(v, str) else "")
def test_each_listed_mistake_names_its_own_wrong_answer(name, ex):
    """A wrong answer listed for a case differs from the right one and from the others listed: otherwise
    the message it carries would be shown for an answer it does not describe (or never)."""
    for case in _listed_cases(ex):
        expected = ex.reference(*case.args, **case.kwargs)
        values = [wrong for wrong, _ in case.mistakes if not callable(wrong)]
        for i, value in enumerate(values):
            assert not same(value, expected), f"{name} on {case.label}: a mistake equals the right answer"
            assert not any(same(value, other) for other in values[:i]), f"{name} on {case.label}: {value} twice"

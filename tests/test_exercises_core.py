"""unet_course.exercises._core: listed cases, verdicts, successive hints, learner errors as messages."""

import numpy as np
import pytest

from unet_course.exercises import Case, Mistake, Verdict, call, exercise, same


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

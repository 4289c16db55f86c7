"""Exercises of notebook 00, and the feedback mechanism they share."""

import json

import numpy as np
import pytest

from unet_course.exercises import GRADE_LOG_ENV
from unet_course.exercises import ex00 as ex


def verdict(exercise, answer):
    return exercise.verdict(answer)


def test_references_pass():
    assert verdict(ex.q1, ex.foreground_fraction)[0]
    assert verdict(ex.q2, ex.classes_present)[0]
    assert verdict(ex.q3, ex.foreground_per_image)[0]


# ---------------------------------------------------------------- q1


def _fraction_by_loop(mask):
    count = 0
    for row in mask:
        for value in row:
            if value != 0:
                count += 1
    return count / (len(mask) * len(mask[0]))


@pytest.mark.parametrize(
    "answer",
    [
        lambda m: np.count_nonzero(m) / m.size,  # a count over the size
        lambda m: 1 - np.mean(m == 0),  # one minus the background fraction
        lambda m: (m > 0).mean(),  # a numpy scalar, not a float
        _fraction_by_loop,  # plain Python loops
    ],
)
def test_q1_accepts_other_correct_answers(answer):
    passed, message = verdict(ex.q1, answer)
    assert passed, message


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda m: np.sum(m != 0), "number of foreground pixels"),
        (lambda m: np.mean(m == 0), "background fraction"),
        (lambda m: np.mean(m == 1), "class 1 only"),
        (lambda m: np.mean(m), "mean of the class ids"),
        (lambda m: np.sum(m != 0) // m.size, "integer division"),
        (lambda m: np.count_nonzero(m) / len(m), "number of rows"),
        (lambda m: 100 * np.mean(m != 0), "a percentage"),
        (lambda m: "a lot", "return one number"),
        (lambda m: "0.25", "return one number"),  # a string is not a number, even if float() would read it
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = verdict(ex.q1, answer)
    assert not passed and phrase in message, message


def test_q1_messages_are_true_for_the_mask_they_name():
    # integer division gives 0 on every mask with some background: the message does not claim "class 1 only"
    _, message = verdict(ex.q1, lambda m: np.sum(m != 0) // m.size)
    assert "class 1" not in message and "14 of its 60 pixels are foreground" in message
    # "class 1 only" is said on a mask that has class 1 and another foreground class
    _, message = verdict(ex.q1, lambda m: np.mean(m == 1))
    assert "classes 0, 1 and 3" in message


# ---------------------------------------------------------------- q2


@pytest.mark.parametrize(
    "answer",
    [
        lambda m: np.unique(m),  # the NumPy array itself
        lambda m: sorted({int(v) for row in m for v in row}),  # a set, then sorted
        lambda m: [k for k in range(256) if np.any(m == k)],  # every possible id, tested one by one
    ],
)
def test_q2_accepts_other_correct_answers(answer):
    passed, message = verdict(ex.q2, answer)
    assert passed, message


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda m: len(np.unique(m)), "single number"),
        (lambda m: sorted(m.ravel().tolist()), "list each class once"),
        (lambda m: sorted(set(m.ravel().tolist()), reverse=True), "not in increasing order"),
        (lambda m: [int(v) for v in np.unique(m) if v != 0], "left out the background"),
        (lambda m: [0] + [int(v) for v in np.unique(m) if v != 0], "has no background pixel"),
        (lambda m: list(range(int(m.max()) + 1)), "every id from 0 to the largest"),
        (lambda m: np.unique(m, return_counts=True), "return_counts"),
        (lambda m: object(), "return a list of whole numbers"),
    ],
)
def test_q2_typical_mistakes(answer, phrase):
    passed, message = verdict(ex.q2, answer)
    assert not passed and phrase in message, message


# ---------------------------------------------------------------- q3


def _per_image_by_loop(masks):
    return [float(np.mean(mask != 0)) for mask in masks]  # q1's answer, once per image


@pytest.mark.parametrize(
    "answer",
    [
        _per_image_by_loop,  # a loop over the images, a list of floats
        lambda m: np.count_nonzero(m, axis=(1, 2)) / (m.shape[1] * m.shape[2]),  # counts over the image size
        lambda m: (m > 0).reshape(len(m), -1).mean(axis=1),  # one row per image
        lambda m: tuple(1 - np.mean(m == 0, axis=(2, 1))),  # a tuple, the axes in another order
    ],
)
def test_q3_accepts_other_correct_answers(answer):
    passed, message = verdict(ex.q3, answer)
    assert passed, message


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda m: np.mean(m != 0, axis=0), "you reduced the image axis (axis 0)"),
        (lambda m: np.mean(m != 0), "all images pooled"),
        (lambda m: np.mean(m != 0, axis=1), "reduced only one of the two axes"),
        (lambda m: np.mean(m != 0, axis=2), "the rows are still there"),
        (lambda m: np.sum(m != 0, axis=(1, 2)), "the number of foreground pixels of each image"),
        (lambda m: np.sum(m != 0, axis=(1, 2)) / m.size, "pixels of the whole batch"),
        (lambda m: np.mean(m == 0, axis=(1, 2)), "background fraction"),
        (lambda m: np.mean(m, axis=(1, 2)), "mean of the class ids"),
        (lambda m: 100 * np.mean(m != 0, axis=(1, 2)), "percentages"),
        (lambda m: m != 0, "one value per pixel"),
        (lambda m: "small", "one per image"),
    ],
)
def test_q3_typical_mistakes(answer, phrase):
    passed, message = verdict(ex.q3, answer)
    assert not passed and phrase in message, message


def test_q3_hints_nudge_without_the_code(capsys):
    ex.q3.hint(1)
    ex.q3.hint(2)
    out = capsys.readouterr().out
    assert "axis=(1, 2)" not in out and "(1, 2)" not in out


# ---------------------------------------------------------------- the mechanism


def not_done(mask):
    raise NotImplementedError()


def crashes(mask):
    return mask / undefined_name  # noqa: F821


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3])
@pytest.mark.parametrize(
    "answer, phrase",
    [
        (None, "You passed None"),
        (not_done, "not yet implemented"),
        (crashes, "NameError"),
        (lambda m: None, "forget the `return`"),
        (42, "Expected a function"),
    ],
)
def test_learner_errors_become_feedback(exercise, answer, phrase):
    passed, message = verdict(exercise, answer)
    assert not passed and phrase in message


def test_check_prints_verdict_and_logs_for_grading(capsys, tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    monkeypatch.setenv(GRADE_LOG_ENV, str(log))
    ex.q1.check(ex.foreground_fraction)
    ex.q1.check(not_done)
    out = capsys.readouterr().out
    assert "✅ q1" in out and "❌ q1" in out and "ex.q1.hint()" in out
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["passed"] for r in records] == [True, False]
    assert records[0]["notebook"] == "00_welcome_and_setup"


def test_hints_are_graded_and_the_solution_is_separate(capsys):
    ex.q2.hint()
    ex.q2.hint()
    ex.q1.solution()
    out = capsys.readouterr().out
    assert "hint 1 of 2" in out and "hint 2 of 2" in out and "unique" in out
    assert "np.unique(mask)" not in out.split("One solution")[0]  # the hints nudge, the solution shows
    assert "def foreground_fraction" in out

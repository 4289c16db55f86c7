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


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda m: np.sum(m != 0), "number of foreground pixels"),
        (lambda m: np.mean(m == 0), "background fraction"),
        (lambda m: np.mean(m == 1), "class 1 only"),
        (lambda m: np.mean(m), "mean of the class ids"),
        (lambda m: "a lot", "return one number"),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = verdict(ex.q1, answer)
    assert not passed and phrase in message


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda m: len(np.unique(m)), "single number"),
        (lambda m: sorted(m.ravel().tolist()), "each class must appear once"),
        (lambda m: [int(v) for v in np.unique(m) if v != 0], "left out the background"),
        (lambda m: object(), "return a list of whole numbers"),
    ],
)
def test_q2_typical_mistakes(answer, phrase):
    passed, message = verdict(ex.q2, answer)
    assert not passed and phrase in message


def not_done(mask):
    raise NotImplementedError()


def crashes(mask):
    return mask / undefined_name  # noqa: F821


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2])
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


def test_hint_and_solution(capsys):
    ex.q2.hint()
    ex.q1.solution()
    out = capsys.readouterr().out
    assert "np.unique" in out and "def foreground_fraction" in out

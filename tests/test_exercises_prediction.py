"""Predict before you run (unet_course.exercises._prediction): a guess is recorded, then judged."""

import json

from unet_course.exercises import GRADE_LOG_ENV, Prediction


def test_a_right_guess_is_confirmed(capsys):
    question = Prediction("p1", "parameters of the block", notebook="03_encoder")
    question.predict(2768)
    assert "recorded" in capsys.readouterr().out
    assert question.verdict(2768).passed


def test_a_wrong_guess_gets_the_likely_mistake():
    def explain(guess, actual):
        return "You left out the biases: one per filter." if guess == actual - 32 else None

    question = Prediction("p1", "parameters", explain=explain)
    question.predict(2736)
    passed, message = question.verdict(2768)
    assert not passed and "biases" in message
    question.predict(7)
    passed, message = question.verdict(2768)
    assert not passed and "Look at the cell above" in message


def test_tolerance_is_relative():
    question = Prediction("p2", "memory in MiB", tolerance=0.1)
    question.predict(95)
    assert question.verdict(100).passed
    question.predict(80)
    assert not question.verdict(100).passed


def test_nothing_recorded_without_a_guess(capsys):
    question = Prediction("p1", "which wins")
    question.predict(None)
    assert "write your prediction first" in capsys.readouterr().out
    assert not question.recorded
    passed, message = question.verdict("transpose")
    assert not passed and "no prediction was recorded" in message


def test_choices_are_checked_when_predicting(capsys):
    question = Prediction("p1", "which wins", choices=("A", "B", "neither"))
    question.predict("C")
    assert "one of 'A', 'B', 'neither'" in capsys.readouterr().out
    assert not question.recorded
    question.predict("neither")
    assert question.verdict("neither").passed


def test_a_reveal_is_logged_for_grading(tmp_path, monkeypatch, capsys):
    log = tmp_path / "grades.jsonl"
    monkeypatch.setenv(GRADE_LOG_ENV, str(log))
    question = Prediction("p1", "shape", notebook="04_upsampling")
    question.predict((8, 8))
    question.reveal((16, 16))
    assert "🔎" in capsys.readouterr().out
    record = json.loads(log.read_text())
    assert record == {"notebook": "04_upsampling", "exercise": "p1", "passed": False, "message": record["message"]}

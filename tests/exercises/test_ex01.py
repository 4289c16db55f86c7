"""Exercises of notebook 01: the references pass, typical mistakes get the message meant for them."""

import numpy as np
import pytest

from unet_course.exercises import ex01 as ex


def not_done(*args):
    raise NotImplementedError()


@pytest.mark.parametrize(
    "exercise, reference", [(ex.q1, ex.to_one_hot), (ex.q2, ex.to_class_ids), (ex.q3, ex.bounding_box)]
)
def test_reference_passes(exercise, reference, capsys):
    exercise.check(reference)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3])
def test_none_and_not_implemented_give_feedback(exercise):
    passed, message = exercise.verdict(None)
    assert not passed and "You passed None" in message
    passed, message = exercise.verdict(not_done)
    assert not passed and "not yet implemented" in message


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda m, c: np.moveaxis(np.eye(c, dtype="float32")[m], -1, 0), "channels first"),
        (lambda m, c: np.eye(int(m.max()) + 1, dtype="float32")[m], "mask.max() + 1"),
        (lambda m, c: np.eye(c - 1, dtype="float32")[np.minimum(m, c - 2)], "one too few"),
        (lambda m, c: np.eye(c + 1, dtype="float32")[m], "one too many"),
        (lambda m, c: m[..., None] == np.arange(c), "dtype bool"),
        (lambda m, c: np.eye(c, dtype=int)[m], "dtype int64, integers"),
        (lambda m, c: np.eye(c)[m], "dtype float64"),  # float, but not the float32 the task asks for
        (lambda m, c: __import__("keras").utils.to_categorical(m, c), "The task asks for float32"),
        (lambda m, c: np.eye(c, dtype="float32")[m.T], "rows and columns are swapped"),
        (lambda m, c: np.eye(c, dtype="float32")[m.ravel()], "flattened"),
        (lambda m, c: m.astype("float32"), "shape of the mask itself"),
        (lambda m, c: np.eye(c, dtype="float32")[(m + 1) % c], "wrong channels"),
        (lambda m, c: np.eye(c, dtype="float32")[m] if m.ndim == 2 else 1 / 0, "batch of 2 masks"),
    ],
)
def test_q1_mistakes(answer, phrase):
    passed, message = ex.q1.verdict(answer)
    assert not passed
    assert phrase in message


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda x: np.argmax(x), "without axis="),
        (lambda x: np.argmax(x, axis=0), "first axis"),
        (lambda x: np.argmax(x, axis=-1)[..., None], "keepdims"),
        (lambda x: np.argmin(x, axis=-1), "argmin"),
        (lambda x: (x * np.arange(x.shape[-1])).sum(-1).round().astype(int), "exact one-hot"),
        (lambda x: np.argmax(x, axis=-1).astype(float), "dtype float64"),
        (lambda x: x, "input's shape"),
    ],
)
def test_q2_mistakes(answer, phrase):
    passed, message = ex.q2.verdict(answer)
    assert not passed
    assert phrase in message


def _box(mask, keep, order):
    rows, cols = np.nonzero(keep(mask))
    if rows.size == 0:
        return None
    top, left, bottom, right = rows.min(), cols.min(), rows.max() + 1, cols.max() + 1
    return order(int(top), int(left), int(bottom), int(right))


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda m, c: _box(m, lambda x: x == c, lambda t, left, b, r: (t, left, b - 1, r - 1)), "inclusive"),
        (lambda m, c: _box(m, lambda x: x == c, lambda t, left, b, r: (left, t, r, b)), "x before y"),
        (lambda m, c: _box(m, lambda x: x == c, lambda t, left, b, r: (t, left, b - t, r - left)), "height and width"),
        (lambda m, c: _box(m, lambda x: x != 0, lambda t, left, b, r: (t, left, b, r)), "all foreground"),
        (
            lambda m, c: (lambda r, k: (r.min(), k.min(), r.max() + 1, k.max() + 1))(*np.nonzero(m == c)),
            "return None instead of failing",
        ),
        (lambda m, c: _box(m, lambda x: x == c, lambda t, left, b, r: (t, left, b, r)) or (0, 0, 0, 0), "return None"),
        (lambda m, c: 3, "four"),
    ],
)
def test_q3_mistakes(answer, phrase):
    passed, message = ex.q3.verdict(answer)
    assert not passed
    assert phrase in message


def test_solution_and_hint_print(capsys):
    ex.q1.hint(2)
    ex.q3.solution()
    out = capsys.readouterr().out
    assert "np.eye" in out and "def bounding_box" in out


def _one_hot_loop(mask, num_classes):
    mask = np.asarray(mask)
    out = np.zeros(mask.shape + (num_classes,), dtype=np.float32)
    for k in range(num_classes):
        out[..., k] = mask == k
    return out


@pytest.mark.parametrize(
    "answer",
    [
        lambda m, c: __import__("keras").ops.one_hot(m, c),  # a Keras tensor, float32
        lambda m, c: (np.asarray(m)[..., None] == np.arange(c)).astype("float32"),  # broadcasting
        _one_hot_loop,  # one channel at a time
    ],
)
def test_q1_accepts_other_correct_answers(answer):
    passed, message = ex.q1.verdict(answer)
    assert passed, message


@pytest.mark.parametrize(
    "answer",
    [
        lambda x: __import__("keras").ops.argmax(x, axis=-1),  # keras.ops, int32
        lambda x: np.asarray(x).argmax(axis=np.ndim(x) - 1),  # the method, the last axis by number
        lambda x: np.apply_along_axis(lambda v: int(np.argmax(v)), -1, x),  # pixel by pixel
    ],
)
def test_q2_accepts_other_correct_answers(answer):
    passed, message = ex.q2.verdict(answer)
    assert passed, message


def test_q2_max_instead_of_argmax():
    passed, message = ex.q2.verdict(lambda x: np.max(x, axis=-1))
    assert not passed and "largest value of each pixel (max)" in message


def _box_loops(mask, class_id):
    rows = [i for i in range(mask.shape[0]) if np.any(mask[i] == class_id)]
    cols = [j for j in range(mask.shape[1]) if np.any(mask[:, j] == class_id)]
    if not rows:
        return None
    return rows[0], cols[0], rows[-1] + 1, cols[-1] + 1


@pytest.mark.parametrize(
    "answer",
    [
        _box_loops,  # plain loops over rows and columns
        lambda m, c: (lambda r, k: [r.min(), k.min(), r.max() + 1, k.max() + 1] if r.size else None)(
            *np.where(m == c)
        ),  # np.where, a list of NumPy integers
    ],
)
def test_q3_accepts_other_correct_answers(answer):
    passed, message = ex.q3.verdict(answer)
    assert passed, message


def test_q3_none_for_a_class_that_occurs_and_the_corner_order():
    def none_at_row_0(mask, class_id):  # `if top:` style bugs: a box may start at row 0
        box = ex.bounding_box(mask, class_id)
        return None if box is None or box[0] == 0 else box

    passed, message = ex.q3.verdict(none_at_row_0)
    assert not passed and "class 1 occurs in this mask (6 pixels)" in message
    passed, message = ex.q3.verdict(
        lambda m, c: None if ex.bounding_box(m, c) is None else tuple(ex.bounding_box(m, c)[i] for i in (0, 2, 1, 3))
    )
    assert not passed and "(top, bottom, left, right)" in message

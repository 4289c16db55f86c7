"""Exercises of notebook 01: the references pass, typical mistakes get the message meant for them."""

import numpy as np
import pytest

from unet_course.exercises import ex01 as ex


def not_done(*args):
    raise NotImplementedError()


@pytest.mark.parametrize(
    "exercise, reference",
    [(ex.q1, ex.to_one_hot), (ex.q2, ex.to_class_ids), (ex.q3, ex.bounding_box), (ex.q4, ex.colours_to_ids)],
)
def test_reference_passes(exercise, reference, capsys):
    exercise.check(reference)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2, ex.q3, ex.q4])
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


def _ids(x):
    return np.argmax(x, axis=-1)


def _no_class(x):
    return np.max(x, axis=-1) == 0


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda x, v: np.argmax(x, axis=-1), "argmax of a vector of zeros is 0"),  # the lesson's cell, unchanged
        (lambda x, v: np.where(_no_class(x), 255, _ids(x)), "use the argument"),
        (lambda x, v: np.where(_ids(x) == 0, v, _ids(x)), "also turned the background pixels"),
        (lambda x, v: np.where(_no_class(x), v, _ids(x)).astype(np.int8), "cannot hold 255"),
        (lambda x, v: np.where(_no_class(x), -1, _ids(x)), "the void pixels got [-1]"),
        (lambda x, v: np.argmax(x), "without axis="),
        (lambda x, v: np.argmax(x, axis=0), "first axis"),
        (lambda x, v: np.where(_no_class(x), v, _ids(x))[..., None], "keepdims"),
        (lambda x, v: np.where(_no_class(x), v, np.argmin(x, axis=-1)), "argmin"),
        (lambda x, v: np.where(_no_class(x), v, _ids(x)).astype(float), "dtype float64"),
        (lambda x, v: x, "input's shape"),
    ],
)
def test_q2_mistakes(answer, phrase):
    passed, message = ex.q2.verdict(answer)
    assert not passed
    assert phrase in message, message


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
    hint = capsys.readouterr().out
    assert "one-hot vector" in hint and "np.eye" not in hint  # the hint nudges, the solution shows
    ex.q1.solution()
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


def _class_ids_by_loop(one_hot, void):
    one_hot = np.asarray(one_hot)
    ids = np.full(one_hot.shape[:-1], void)
    for k in range(one_hot.shape[-1]):
        ids[one_hot[..., k] == 1] = k
    return ids


@pytest.mark.parametrize(
    "answer",
    [
        lambda x, v: np.where(np.sum(x, axis=-1) == 0, v, np.argmax(x, axis=-1)),  # the sum of a void pixel is 0
        lambda x, v: (lambda ops: ops.where(ops.any(x > 0, axis=-1), ops.argmax(x, axis=-1), v))(
            __import__("keras").ops
        ),  # keras.ops, a tensor
        lambda x, v: np.where(~np.any(x, axis=-1), v, x.argmax(-1)).astype(np.uint8 if v < 256 else np.int64),
        _class_ids_by_loop,  # one channel at a time, void where none wrote
    ],
)
def test_q2_accepts_other_correct_answers(answer):
    passed, message = ex.q2.verdict(answer)
    assert passed, message


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


# ---------------------------------------------------------------- q4


def _colours_by_loop(rgb, palette, void):
    ids = np.full(rgb.shape[:-1], void)
    for k, colour in enumerate(palette):
        ids[np.all(rgb == colour, axis=-1)] = k
    return ids


def _colours_by_code(rgb, palette, void):
    """Each colour as one number (r * 65536 + g * 256 + b), then a lookup: another correct way."""
    code = lambda c: (c[..., 0].astype(np.int64) << 16) | (c[..., 1].astype(np.int64) << 8) | c[..., 2]  # noqa: E731
    table = {int(c): k for k, c in enumerate(code(np.asarray(palette)))}
    return np.vectorize(lambda c: table.get(int(c), void))(code(rgb))


@pytest.mark.parametrize("answer", [_colours_by_loop, _colours_by_code])
def test_q4_accepts_other_correct_answers(answer):
    passed, message = ex.q4.verdict(answer)
    assert passed, message


def _matched(matches, void):
    return np.where(matches.any(axis=-1), np.argmax(matches, axis=-1), void)


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda r, p, v: _matched(np.any(r[..., None, :] == p, axis=-1), v), "as soon as one channel was equal"),
        (lambda r, p, v: _matched(r[..., None, 0] == p[:, 0], v), "the red channel only"),
        (
            lambda r, p, v: _matched(r.astype(int).sum(-1)[..., None] == p.astype(int).sum(-1), v),
            "the sum of the three channels",
        ),
        (lambda r, p, v: np.argmax(np.all(r[..., None, :] == p, axis=-1), axis=-1), "argmax of all False is 0"),
        (lambda r, p, v: _matched(np.all(r[..., None, :] == p, axis=-1), 255), "use the argument"),
        (lambda r, p, v: np.all(r[..., None, :] == p, axis=-1), "one True/False per pixel and palette colour"),
        (lambda r, p, v: r, "the shape of the colour image"),
        (lambda r, p, v: ex.colours_to_ids(r, p, v).astype(float), "return whole numbers"),
    ],
)
def test_q4_mistakes(answer, phrase):
    passed, message = ex.q4.verdict(answer)
    assert not passed and phrase in message, message


def test_q4_hints_nudge_without_the_code(capsys):
    ex.q4.hint(1)
    ex.q4.hint(2)
    out = capsys.readouterr().out
    assert "np.all" not in out and "axis=-1" not in out


# ---------------------------------------------------------------- p1


def test_p1_a_right_guess_is_confirmed():
    ex.p1.predict(16)
    assert ex.p1.verdict(16).passed


@pytest.mark.parametrize(
    "guess, phrase",
    [(4, "not the bytes"), (32, "32 bits, that is 4 bytes"), (1, "Same information"), (7, "Count both factors")],
)
def test_p1_wrong_guesses_get_their_mistake(guess, phrase):
    ex.p1.predict(guess)
    passed, message = ex.p1.verdict(16)
    assert not passed and phrase in message, message

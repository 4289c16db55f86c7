"""Exercises of notebook 11: the references pass and agree with the package and with NumPy, other
correct answers pass, typical mistakes get their message, a crash or a missing return becomes
feedback."""

import numpy as np
import pytest

from unet_course.exercises import ex11 as ex


def _run(exercise, answer):
    verdict = exercise._run(answer)
    return verdict.passed, verdict.message


# --------------------------------------------------------------------------------------
# q1: the gradient of the global batch from the replicas' shards
# --------------------------------------------------------------------------------------


def test_q1_reference_passes():
    passed, message = _run(ex.q1, ex.allreduce_gradient)
    assert passed, message
    assert "same step" in message


@pytest.mark.parametrize("rows, replicas", [(8, 2), (10, 4), (7, 3), (9, 9), (5, 1)])
def test_q1_reference_is_the_whole_batch_gradient(rows, replicas):
    rng = np.random.default_rng(rows)
    x, y, w = rng.normal(size=(rows, 3)), rng.normal(size=rows), rng.normal(size=3)
    gradient = ex._mean_squared_error_gradient(w)
    np.testing.assert_allclose(ex.allreduce_gradient(gradient, x, y, replicas), gradient(x, y), rtol=1e-12)
    # and by hand: d/dw mean((xw - y)^2) = 2/N x^T (xw - y)
    np.testing.assert_allclose(gradient(x, y), 2 * x.T @ (x @ w - y) / rows, rtol=1e-12)


def test_q1_other_correct_answers_pass():
    def strided(gradient, x, y, replicas):  # shards x[0::R], x[1::R], ... : another split, weighed right
        parts = [np.arange(k, len(x), replicas) for k in range(replicas)]
        return sum(len(p) * np.asarray(gradient(x[p], y[p])) for p in parts) / len(x)

    def with_a_loop(gradient, x, y, replicas):
        total, start = 0.0, 0
        for k in range(replicas):
            size = len(x) // replicas + (1 if k < len(x) % replicas else 0)
            total = total + size * gradient(x[start : start + size], y[start : start + size])
            start += size
        return list(total / len(x))

    for answer in (strided, with_a_loop):
        passed, message = _run(ex.q1, answer)
        assert passed, message


def _shards(x, replicas):
    return np.array_split(np.arange(len(x)), replicas)


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda g, x, y, r: sum(g(x[s], y[s]) for s in _shards(x, r)), "SUM"),
        (lambda g, x, y, r: np.mean([g(x[s], y[s]) for s in _shards(x, r)], axis=0), "plain mean"),
        (
            lambda g, x, y, r: sum(len(s) * g(x[s], y[s]) for s in _shards(x, r)) / r,
            "divided by the number of replicas",
        ),
        (lambda g, x, y, r: g(x, y), "whole batch"),
        (lambda g, x, y, r: [g(x[s], y[s]) for s in _shards(x, r)][0], "replica 0 alone"),
        (lambda g, x, y, r: np.array([g(x[s], y[s]) for s in _shards(x, r)]), "one per replica"),
        (
            lambda g, x, y, r: np.mean(
                [
                    g(x[k * (len(x) // r) : (k + 1) * (len(x) // r)], y[k * (len(x) // r) : (k + 1) * (len(x) // r)])
                    for k in range(r)
                ],
                axis=0,
            ),
            "drop the remainder",
        ),
        (lambda g, x, y, r: g(x[: len(x) // 2], y[: len(x) // 2]), "called gradient 1 time"),
    ],
)
def test_q1_typical_mistakes(answer, phrase):
    passed, message = _run(ex.q1, answer)
    assert not passed
    assert phrase in message, message


def test_q1_sum_message_shows_the_numbers_and_the_keras_reason():
    passed, message = _run(ex.q1, lambda g, x, y, r: sum(g(x[s], y[s]) for s in _shards(x, r)))
    assert "2 times too large" in message and "Keras divides each replica's loss" in message, message


def test_q1_crash_none_and_not_done_are_feedback():
    def empty_shard(gradient, x, y, replicas):
        return gradient(x[:0], y[:0])

    def no_return(gradient, x, y, replicas):
        gradient(x, y)

    def not_done(gradient, x, y, replicas):
        raise NotImplementedError()

    passed, message = _run(ex.q1, empty_shard)
    assert not passed and "ValueError" in message and "at least one row" in message and "Traceback" not in message
    passed, message = _run(ex.q1, no_return)
    assert not passed and "return" in message
    passed, message = _run(ex.q1, not_done)
    assert not passed and "not yet implemented" in message
    passed, message = _run(ex.q1, None)
    assert not passed and "You passed None" in message
    passed, message = _run(ex.q1, lambda g, x, y, r: "gradient")
    assert not passed and "return the gradient" in message


# --------------------------------------------------------------------------------------
# q2: the largest tile that fits a memory budget
# --------------------------------------------------------------------------------------


def test_q2_reference_passes():
    passed, message = _run(ex.q2, ex.largest_tile)
    assert passed, message
    assert "tile_size" in message


def test_q2_reference_agrees_with_the_package_search():
    """unet_course.deploy.largest_tile searches faster (a guess, then bisection): the same answers."""
    import unet_course.analysis.profiling as profiling
    from unet_course.deploy import largest_tile

    for label, bytes_for, budget, divisor, stop in ex._q2_cases():

        class Sized:
            def __init__(self, size):
                self.size = size

        original = profiling.activation_bytes
        profiling.activation_bytes = lambda model, batch=1, value=4, f=bytes_for: f(model.size)
        try:
            fast = largest_tile(Sized, budget, divisor=divisor, stop=stop)
        finally:
            profiling.activation_bytes = original
        assert fast == ex.largest_tile(bytes_for, budget, divisor, stop), label


def test_q2_reference_on_a_real_unet():
    from unet_course.analysis.profiling import activation_bytes
    from unet_course.deploy import largest_tile
    from unet_course.models import build_unet

    def build(size):
        return build_unet((size, size, 1), 2, depth=2, base_filters=4)

    budget = 3 * 2**20
    expected = largest_tile(build, budget, divisor=4, stop=256)
    assert ex.largest_tile(lambda s: activation_bytes(build(s)), budget, divisor=4, stop=256) == expected
    assert activation_bytes(build(expected)) <= budget < activation_bytes(build(expected + 4))


def test_q2_other_correct_answers_pass():
    def bisection(bytes_for, budget, divisor=16, stop=4096):
        low, high = 0, stop // divisor + 1  # low fits (0: nothing), high does not
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if bytes_for(middle * divisor) <= budget else (low, middle)
        return low * divisor if low else None

    def from_the_top(bytes_for, budget, divisor=16, stop=4096):
        for size in range(stop // divisor * divisor, 0, -divisor):
            if bytes_for(size) <= budget:
                return np.int64(size)
        return None

    for answer in (bisection, from_the_top):
        passed, message = _run(ex.q2, answer)
        assert passed, message


def _one_step_too_far(bytes_for, budget, divisor=16, stop=4096):
    size = divisor
    while size <= stop and bytes_for(size) <= budget:
        size += divisor
    return size


def _not_a_multiple(bytes_for, budget, divisor=16, stop=4096):
    best = ex.largest_tile(bytes_for, budget, 1, stop)
    return best


def _strict(bytes_for, budget, divisor=16, stop=4096):
    best = None
    for size in range(divisor, stop + 1, divisor):
        if bytes_for(size) >= budget:
            break
        best = size
    return best


def _extrapolated(bytes_for, budget, divisor=16, stop=4096):
    per_pixel = bytes_for(divisor) / divisor**2
    size = int(np.sqrt(budget / per_pixel)) // divisor * divisor
    return min(size, stop // divisor * divisor) if size >= divisor else None


def _no_stop(bytes_for, budget, divisor=16, stop=4096):
    return ex.largest_tile(bytes_for, budget, divisor, 10 * stop)


def _zero_for_nothing(bytes_for, budget, divisor=16, stop=4096):
    return ex.largest_tile(bytes_for, budget, divisor, stop) or 0


def _divisor_for_nothing(bytes_for, budget, divisor=16, stop=4096):
    return ex.largest_tile(bytes_for, budget, divisor, stop) or divisor


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_one_step_too_far, "one step too far"),
        (_not_a_multiple, "not a multiple of 16"),
        (_strict, "Compare with <=, not <"),
        (_extrapolated, "as if memory were proportional to the pixels"),
        (_no_stop, "beyond stop=1000"),
        (_zero_for_nothing, "Return None then"),
        (_divisor_for_nothing, "not even the smallest tile"),
        (lambda bytes_for, budget, divisor=16, stop=4096: None, "you returned None, but tiles up to"),
        (lambda bytes_for, budget, divisor=16, stop=4096: 256.5, "whole number"),
    ],
)
def test_q2_typical_mistakes(answer, phrase):
    passed, message = _run(ex.q2, answer)
    assert not passed
    assert phrase in message, message


def test_q2_crash_and_wrong_type_are_feedback():
    def crashes(bytes_for, budget, divisor=16, stop=4096):
        return bytes_for("512")

    passed, message = _run(ex.q2, crashes)
    assert not passed and "TypeError" in message and "Traceback" not in message
    passed, message = _run(ex.q2, lambda bytes_for, budget, divisor=16, stop=4096: "512")
    assert not passed and "a number" in message
    passed, message = _run(ex.q2, lambda bytes_for, budget, divisor=16, stop=4096: True)
    assert not passed and "a number" in message
    passed, message = _run(ex.q2, None)
    assert not passed and "You passed None" in message


def test_every_exercise_has_graded_hints_and_a_solution(capsys):
    for exercise in (ex.q1, ex.q2):
        assert len(exercise.hints) >= 2 and exercise.notebook == "11_scaling_and_deployment"
        exercise.solution()
        assert f"def {exercise.target}(" in capsys.readouterr().out

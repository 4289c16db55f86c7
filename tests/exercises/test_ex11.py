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


# --------------------------------------------------------------------------------------
# q3: synchronized batch norm's moments from the shards
# --------------------------------------------------------------------------------------


def test_q3_reference_passes_and_equals_numpy_on_the_whole_batch():
    passed, message = _run(ex.q3, ex.synchronized_moments)
    assert passed, message
    rng = np.random.default_rng(0)
    shards = [rng.normal(k, 1, (n, 3)) for k, n in enumerate((5, 2, 9))]
    mean, variance = ex.synchronized_moments(
        [s.mean(0) for s in shards], [s.var(0) for s in shards], [len(s) for s in shards]
    )
    whole = np.concatenate(shards)
    np.testing.assert_allclose(mean, whole.mean(0))
    np.testing.assert_allclose(variance, whole.var(0))


def test_q3_other_correct_answers_pass():
    def from_sums(means, variances, counts):  # sums and sums of squares, then back
        counts = np.asarray(counts, float)[:, None] if np.ndim(means) > 1 else np.asarray(counts, float)
        n = counts.sum()
        total = (counts * means).sum(0)
        squares = (counts * (np.asarray(variances) + np.asarray(means) ** 2)).sum(0)
        return total / n, squares / n - (total / n) ** 2

    def with_a_loop(means, variances, counts):  # Chan et al.'s pairwise update, shard by shard
        n, mean, m2 = 0, 0.0, 0.0
        for m, v, c in zip(means, variances, counts):
            delta = np.asarray(m) - mean
            total = n + c
            mean = mean + delta * c / total
            m2 = m2 + np.asarray(v) * c + delta**2 * n * c / total
            n = total
        return list(np.atleast_1d(mean)), list(np.atleast_1d(m2 / n))

    for answer in (from_sums, with_a_loop):
        passed, message = _run(ex.q3, answer)
        assert passed, message


def _weighted_mean(means, counts):
    counts = np.asarray(counts, float)[:, None]
    return (counts * means).sum(0) / counts.sum()


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (lambda m, v, c: (_weighted_mean(m, c), _weighted_mean(v, c)), "leaves out how far the shards' means lie"),
        (lambda m, v, c: (np.mean(m, 0), np.mean(v, 0)), "plain mean of the shards' means"),
        (lambda m, v, c: (np.mean(m), np.mean(v)), "one value per channel"),
        (
            lambda m, v, c: (
                _weighted_mean(m, c),
                ex.synchronized_moments(m, v, c)[1] * np.sum(c) / (np.sum(c) - 1),
            ),
            "Bessel's correction",
        ),
        (lambda m, v, c: (_weighted_mean(m, c), np.sqrt(ex.synchronized_moments(m, v, c)[1])), "standard deviation"),
        (lambda m, v, c: ex.synchronized_moments(m, v, c)[0], "return two things"),
    ],
)
def test_q3_mistakes_are_named(answer, phrase):
    passed, message = _run(ex.q3, answer)
    assert not passed
    assert phrase in message, message


# --------------------------------------------------------------------------------------
# q4: rounding to bfloat16
# --------------------------------------------------------------------------------------


def test_q4_reference_passes_and_equals_keras_and_ml_dtypes():
    import keras
    import ml_dtypes

    passed, message = _run(ex.q4, ex.to_bfloat16)
    assert passed, message
    assert "0.999 becomes 1 in bfloat16" in message
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(0, 10, 5000), 1 + np.arange(256) / 2**15]).astype(np.float32)
    by_keras = keras.ops.convert_to_numpy(keras.ops.cast(keras.ops.cast(x, "bfloat16"), "float32"))
    np.testing.assert_array_equal(ex.to_bfloat16(x), by_keras)
    np.testing.assert_array_equal(ex.to_bfloat16(x), x.astype(ml_dtypes.bfloat16).astype(np.float32))


def test_q4_other_correct_answers_pass():
    import keras
    import ml_dtypes

    def with_keras(x):
        return keras.ops.cast(keras.ops.cast(x, "bfloat16"), "float32")

    def with_ml_dtypes(x):
        return (
            [float(v) for v in np.ravel(np.asarray(x).astype(ml_dtypes.bfloat16))]
            if np.ndim(x) == 1
            else (np.asarray(x).astype(ml_dtypes.bfloat16).astype(np.float32))
        )

    for answer in (with_keras, with_ml_dtypes):
        passed, message = _run(ex.q4, answer)
        assert passed, message


def _truncate(x):
    return (np.asarray(x, np.float32).view(np.uint32) & np.uint32(0xFFFF0000)).view(np.float32)


def _half_up(x):
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return (((bits + 0x8000) >> 16) << 16).astype(np.uint32).view(np.float32)


@pytest.mark.parametrize(
    "answer, phrase",
    [
        (_truncate, "truncates toward zero"),
        (lambda x: np.asarray(x).astype(np.float16), "float16 keeps 10 mantissa bits"),
        (_half_up, "round half to even"),
        (lambda x: np.round(x, 2), "expected"),
        (lambda x: ex.to_bfloat16(x).ravel(), "expected"),
    ],
)
def test_q4_mistakes_are_named(answer, phrase):
    passed, message = _run(ex.q4, answer)
    assert not passed
    assert phrase in message, message


# --------------------------------------------------------------------------------------
# p1: predict before you run
# --------------------------------------------------------------------------------------


def test_p1_judges_the_recorded_guess(capsys):
    ex.p1.predict("no difference detectable")
    passed, _ = ex.p1.verdict("no difference detectable")
    assert passed
    ex.p1.predict("float32 better")
    passed, message = ex.p1.verdict("no difference detectable")
    assert not passed and "rounds each activation" in message
    ex.p1.predict("mixed_bfloat16 better")
    passed, message = ex.p1.verdict("float32 better")
    assert not passed and "Read the interval" in message
    ex.p1.predict("bfloat16 wins")
    assert "answer with one of" in capsys.readouterr().out.splitlines()[-1]

"""Exercises of notebook 11 (scaling out and deploying): the gradient of a global batch from the
replicas' shards (what the all-reduce of data parallelism computes), the largest tile that fits a
memory budget, synchronized batch norm's moments from the shards, rounding to bfloat16; and a
prediction: does mixed precision cost accuracy?"""

from __future__ import annotations

import numpy as np

from unet_course.exercises import Mistake, Prediction, call, exercise

NOTEBOOK = "11_scaling_and_deployment"


# --------------------------------------------------------------------------------------
# reference answers
# --------------------------------------------------------------------------------------


def allreduce_gradient(gradient, x, y, replicas):
    """The gradient of the mean loss over the batch ``(x, y)``, computed the data-parallel way.

    The batch is split into ``replicas`` consecutive shards (``np.array_split``: sizes differ by
    at most one); each replica computes ``gradient`` of the mean loss over its shard; the
    all-reduce combines them, each weighted by its shard's share of the batch (with equal
    shards: their plain mean), which equals the gradient over the whole batch.
    """
    shards = np.array_split(np.arange(len(x)), replicas)
    gradients = [np.asarray(gradient(x[rows], y[rows]), dtype=float) for rows in shards]
    sizes = [len(rows) for rows in shards]
    return sum(n * g for n, g in zip(sizes, gradients)) / sum(sizes)


def largest_tile(bytes_for, budget, divisor=16, stop=4096):
    """The largest multiple of ``divisor``, at most ``stop``, whose ``bytes_for(size)`` fits ``budget``.

    ``None`` when not even ``divisor`` fits. Memory grows with the size, so the sizes are tried
    in order until one no longer fits (``unet_course.deploy.largest_tile`` searches faster).
    """
    best = None
    for size in range(divisor, stop + 1, divisor):
        if bytes_for(size) > budget:
            break
        best = size
    return best


# --------------------------------------------------------------------------------------
# q1: the gradient of the global batch from the replicas' shards
# --------------------------------------------------------------------------------------


def _q1_cases():
    """(label, x, y, replicas, w): least squares, x's first column numbers the rows."""
    rng = np.random.default_rng(11)
    cases = []
    for rows, replicas in ((8, 2), (8, 4), (10, 4), (7, 3), (6, 1)):
        x = np.column_stack([np.arange(rows, dtype=float), rng.normal(size=(rows, 2))])
        y = rng.normal(size=rows) * 3 + np.arange(rows)
        w = rng.normal(size=3) * 0.5
        shards = [len(s) for s in np.array_split(np.arange(rows), replicas)]
        label = f"a batch of {rows} over {replicas} replica{'s' if replicas > 1 else ''} (shards of {shards})"
        cases.append((label, x, y, replicas, w))
    return cases


def _mean_squared_error_gradient(w):
    """``gradient(x, y)``: the gradient in ``w`` of mean((x @ w - y) ** 2) over the rows given."""

    def gradient(x, y):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.ndim != 2 or len(x) == 0 or len(x) != len(y):
            raise ValueError(
                f"gradient expects a shard x of shape (rows, 3) and y of shape (rows,), with at least one row; got "
                f"x {x.shape} and y {y.shape}."
            )
        return 2 * x.T @ (x @ w - y) / len(x)

    return gradient


class _Recorder:
    """Wraps ``gradient`` and keeps the rows (their numbers, x's first column) of every call."""

    def __init__(self, gradient):
        self.gradient, self.calls = gradient, []

    def __call__(self, x, y):
        result = self.gradient(x, y)
        self.calls.append((np.asarray(x)[:, 0].astype(int).tolist(), np.asarray(result, dtype=float)))
        return result


def _as_vector(got, size, label):
    try:
        value = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        raise Mistake(
            f"On {label} your function returned {type(got).__name__} {got!r:.60}; return the gradient: an array "
            f"of {size} numbers."
        ) from None
    return value


def _q1_diagnose(got, expected, calls, rows, replicas, label):
    shard_sizes = [len(c[0]) for c in calls]
    used = sorted(r for c in calls for r in c[0])
    if got.shape != expected.shape:
        if got.shape == (len(calls), *expected.shape):
            raise Mistake(
                f"On {label} you returned {got.shape[0]} gradients, one per replica. The all-reduce combines them "
                f"into ONE gradient of shape {expected.shape}, the one every replica then applies."
            )
        raise Mistake(f"On {label} your gradient has shape {got.shape}; expected {expected.shape}, one per weight.")
    if replicas > 1 and any(len(c[0]) == rows for c in calls):
        raise Mistake(
            f"On {label} you called gradient on the whole batch of {rows} rows. A replica only ever sees its own "
            f"shard: split the batch into {replicas} shards (np.array_split) and call gradient once per shard."
        )
    if len(calls) != replicas:
        raise Mistake(
            f"On {label} you called gradient {len(calls)} time(s); with {replicas} replicas it is called once per "
            "replica, on that replica's shard."
        )
    if used != list(range(rows)):
        missing = sorted(set(range(rows)) - set(used))
        raise Mistake(
            f"On {label} your shards cover the rows {used}, not each of the {rows} rows once"
            + (f" (rows {missing} are left out: shards of {rows // replicas} drop the remainder)" if missing else "")
            + ". np.array_split(np.arange(len(x)), replicas) gives shards that cover every row, sizes differing "
            "by at most one."
        )
    gradients = [c[1] for c in calls]
    sizes = np.array(shard_sizes, dtype=float)
    total = sum(gradients)
    if np.allclose(got, total):
        raise Mistake(
            f"On {label} you returned the SUM of the {replicas} replicas' gradients: {replicas} times too large "
            f"(expected {np.round(expected, 4).tolist()}, got {np.round(got, 4).tolist()}). Each replica's gradient "
            "is already a mean over its shard; the global mean weighs them by shard size. (Keras divides each "
            "replica's loss by the number of replicas before the gradients are summed, for this reason.)"
        )
    plain_mean = total / len(gradients)
    if len(set(shard_sizes)) > 1 and np.allclose(got, plain_mean):
        raise Mistake(
            f"On {label} you took the plain mean of the replicas' gradients, but the shards have {shard_sizes} "
            "rows: a replica with fewer rows then counts as much as one with more. Weigh each gradient by its "
            "shard's size: sum(n_i * g_i) / sum(n_i)."
        )
    if np.allclose(got, sum(n * g for n, g in zip(sizes, gradients)) / replicas):
        raise Mistake(
            f"On {label} you weighed each gradient by its shard's size but divided by the number of replicas "
            f"({replicas}); divide by the number of rows ({rows}), the sum of the weights."
        )
    for k, g in enumerate(gradients):
        if np.allclose(got, g):
            raise Mistake(
                f"On {label} you returned the gradient of replica {k} alone; the all-reduce combines the "
                f"gradients of all {replicas} replicas."
            )
    raise Mistake(
        f"On {label} your gradient is {np.round(got, 4).tolist()}; the gradient of the mean loss over the whole "
        f"batch is {np.round(expected, 4).tolist()}. Combine the shards' gradients weighted by their sizes."
    )


@exercise(
    "q1",
    "the gradient of the global batch from the replicas' shards",
    notebook=NOTEBOOK,
    reference=allreduce_gradient,
    hint=(
        "Each replica sees only its shard of the batch and returns the gradient of the MEAN loss over that shard. "
        "How is a mean over all the rows made from the means over groups of rows, when the groups differ in size?",
        "Split the row numbers: shards = np.array_split(np.arange(len(x)), replicas), and call gradient(x[rows], "
        "y[rows]) once per shard. Then weigh each shard's gradient by its rows: sum(len(rows) * g) / len(x). With "
        "equal shards that is the plain mean; with shards of 3, 3, 2 and 2 rows it is not.",
    ),
)
def q1(answer):
    for label, x, y, replicas, w in _q1_cases():
        truth = _mean_squared_error_gradient(w)
        expected = truth(x, y)
        recorder = _Recorder(truth)
        got = call(answer, recorder, x.copy(), y.copy(), replicas, describe=f"on {label}")
        got = _as_vector(got, len(expected), label)
        shards_ok = (replicas == 1 or all(len(c[0]) < len(x) for c in recorder.calls)) and len(
            recorder.calls
        ) == replicas
        if shards_ok and got.shape == expected.shape and np.allclose(got, expected, rtol=1e-9, atol=1e-9):
            continue
        _q1_diagnose(got, expected, recorder.calls, len(x), replicas, label)
    return (
        "correct! The replicas' gradients, weighed by their shards, make exactly the gradient of the whole batch: "
        "N replicas take the same step as one device would on the global batch. That is why Keras can promise "
        "the same training on 1 or 8 GPUs, and why only batch norm (statistics per shard) needs more care."
    )


# --------------------------------------------------------------------------------------
# q2: the largest tile that fits a memory budget
# --------------------------------------------------------------------------------------

MIB = 2**20


def _q2_cases():
    """(label, bytes_for, budget, divisor, stop)."""
    per_pixel = 4 * 1160  # bytes per pixel of a small U-Net's activations, float32

    def quadratic(size):
        return per_pixel * size**2

    def with_weights(size):  # 120 MiB of weights and workspace on top of the activations
        return 120 * MIB + per_pixel * size**2

    def valid_like(size):  # a valid-padding tile: its input is 184 pixels larger than its output
        return 4 * 300 * (size + 184) ** 2

    boundary = quadratic(512)  # a budget the 512 tile fills exactly
    return [
        ("activations of 4,640 bytes per pixel and a 1 GiB budget", quadratic, 2**30, 16, 4096),
        ("the same activations plus 120 MiB of weights, 512 MiB budget", with_weights, 512 * MIB, 16, 4096),
        ("a budget that a 512x512 tile fills to the byte", quadratic, boundary, 16, 4096),
        ("a valid-padding model (input = tile + 184 px), 256 MiB, divisor 8", valid_like, 256 * MIB, 8, 4096),
        ("a budget too small for the smallest tile", with_weights, 100 * MIB, 16, 4096),
        ("a budget larger than any tile up to stop=1000", quadratic, 2**40, 16, 1000),
    ]


def _q2_diagnose(got, expected, bytes_for, budget, divisor, stop, label):
    if expected is None:
        if got is None:
            return
        raise Mistake(
            f"On {label} you returned {got!r}, but not even the smallest tile ({divisor}x{divisor}) fits: it needs "
            f"{bytes_for(divisor) / MIB:,.1f} MiB for a budget of {budget / MIB:,.1f} MiB. Return None then."
        )
    if got is None:
        raise Mistake(
            f"On {label} you returned None, but tiles up to {expected} fit ({bytes_for(expected) / MIB:,.1f} MiB "
            f"of {budget / MIB:,.1f} MiB)."
        )
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer, float, np.floating)):
        raise Mistake(f"On {label} you returned {type(got).__name__} {got!r:.60}; return the tile size, a number.")
    if float(got) != int(got):
        raise Mistake(f"On {label} you returned {got}: a tile size is a whole number of pixels ({expected} here).")
    got = int(got)
    if got % divisor:
        raise Mistake(
            f"On {label} you returned {got}, which is not a multiple of {divisor}: the network needs sizes divisible "
            f"by {divisor} (2 ** depth). Expected {expected}."
        )
    if got > stop:
        raise Mistake(f"On {label} you returned {got}, beyond stop={stop}; sizes go up to stop. Expected {expected}.")
    if got == expected + divisor:
        raise Mistake(
            f"On {label} you returned {got}, one step too far: a {got}x{got} tile needs "
            f"{bytes_for(got) / MIB:,.1f} MiB, more than the {budget / MIB:,.1f} MiB budget. Return the last size "
            f"that fits ({expected}), not the first that does not."
        )
    if got == expected - divisor and bytes_for(expected) == budget:
        raise Mistake(
            f"On {label} you returned {got}, but a {expected}x{expected} tile needs exactly the budget "
            f"({budget:,} bytes): it fits. Compare with <=, not <."
        )
    if got < expected:
        estimate = int(np.sqrt(budget / (bytes_for(divisor) / divisor**2))) // divisor * divisor
        why = (
            " You extrapolated from the smallest tile as if memory were proportional to the pixels; here it is "
            "not (a fixed part, or a margin around the tile): evaluate bytes_for at each candidate size."
            if got == estimate
            else ""
        )
        raise Mistake(
            f"On {label} you returned {got}, but {expected} fits too ({bytes_for(expected) / MIB:,.1f} MiB of "
            f"{budget / MIB:,.1f} MiB).{why}"
        )
    raise Mistake(
        f"On {label} you returned {got}, but a {got}x{got} tile needs {bytes_for(got) / MIB:,.1f} MiB, more than "
        f"the budget of {budget / MIB:,.1f} MiB. Expected {expected}."
    )


@exercise(
    "q2",
    "the largest tile that fits a memory budget",
    notebook=NOTEBOOK,
    reference=largest_tile,
    hint=(
        "Memory only grows with the tile, so try the candidate sizes from the smallest up and keep the last one "
        "that fits. Which sizes are candidates, and what does 'fits' mean exactly when the budget is met to the byte?",
        "The candidates are range(divisor, stop + 1, divisor); a size fits when bytes_for(size) <= budget. Stop at "
        "the first that does not fit; if the very first does not, return None. Do not extrapolate from one size: "
        "memory is not always proportional to the pixels (weights on top, a margin around the tile).",
    ),
)
def q2(answer):
    for label, bytes_for, budget, divisor, stop in _q2_cases():
        expected = largest_tile(bytes_for, budget, divisor, stop)
        got = call(answer, bytes_for, budget, divisor, stop, describe=f"on {label}", allow_none=True)
        if isinstance(got, np.integer):
            got = int(got)
        if got is None and expected is None:
            continue
        if got is not None and not isinstance(got, (bool, np.bool_)) and got == expected:
            continue
        _q2_diagnose(got, expected, bytes_for, budget, divisor, stop, label)
    return (
        "correct! Give predict(model, image, tile_size=T) the size you found and a prediction of any image stays "
        "within the budget. Halving the bytes per value (bfloat16) lets the tile grow by about sqrt(2), not 2: "
        "memory grows with the area."
    )


# --------------------------------------------------------------------------------------
# q3: synchronized batch norm: the global batch's moments from the replicas' shards
# --------------------------------------------------------------------------------------


def synchronized_moments(means, variances, counts):
    """The mean and variance over the whole global batch, from each replica's shard.

    ``means`` and ``variances`` are ``(replicas, channels)`` (or ``(replicas,)``): each shard's
    per-channel mean and (population, ``ddof=0``) variance, as batch norm computes them;
    ``counts`` the values per channel in each shard. Each shard's sum and sum of squares are
    recovered from its count, mean and variance, added up, and turned back into moments: the
    global variance is the shards' mean variance PLUS the spread of their means.
    """
    means = np.asarray(means, dtype=float)
    variances = np.asarray(variances, dtype=float)
    counts = np.asarray(counts, dtype=float).reshape((-1,) + (1,) * (means.ndim - 1))
    total = counts.sum()
    mean = (counts * means).sum(axis=0) / total
    variance = (counts * (variances + (means - mean) ** 2)).sum(axis=0) / total
    return mean, variance


def _q3_cases():
    """(label, shards): each shard a (values, channels) array of one replica's pixels."""
    rng = np.random.default_rng(3)
    return [
        (
            "3 replicas of 6, 2 and 2 values, 3 channels",
            [rng.normal(1, 2, (6, 3)), rng.normal(-1, 1, (2, 3)), rng.normal(3, 0.5, (2, 3))],
        ),
        (
            "2 replicas of 4 values, one channel, shards far apart (means 0 and 10)",
            [rng.normal(0, 1, (4, 1)), rng.normal(10, 1, (4, 1))],
        ),
        ("4 equal shards of 8 values, 2 channels", [rng.normal(k, 1 + k, (8, 2)) for k in range(4)]),
        ("1 replica: the shard is the batch", [rng.normal(0, 1, (5, 2))]),
    ]


def _q3_inputs(shards):
    means = np.stack([s.mean(axis=0) for s in shards])
    variances = np.stack([s.var(axis=0) for s in shards])
    counts = np.array([len(s) for s in shards])
    return means, variances, counts


def _q3_diagnose(got_mean, got_variance, shards, label):
    whole = np.concatenate(shards)
    means, variances, counts = _q3_inputs(shards)
    mean, variance = whole.mean(axis=0), whole.var(axis=0)
    if got_mean.shape != mean.shape or got_variance.shape != variance.shape:
        raise Mistake(
            f"On {label} you returned a mean of shape {got_mean.shape} and a variance of shape {got_variance.shape}; "
            f"expected one value per channel, shape {mean.shape}. Combine over the replicas (axis 0), not over the "
            "channels: each channel has its own statistics."
        )
    if not np.allclose(got_mean, mean):
        if np.allclose(got_mean, means.mean(axis=0)):
            raise Mistake(
                f"On {label} your mean is the plain mean of the shards' means, but the shards hold {counts.tolist()} "
                "values: a small shard then counts as much as a large one. Weigh each shard by its count."
            )
        raise Mistake(
            f"On {label} your mean is {np.round(got_mean, 4).tolist()}; the mean of every value of the global batch "
            f"is {np.round(mean, 4).tolist()}."
        )
    if not np.allclose(variance, 0) and np.allclose(got_variance, np.sqrt(variance)):
        raise Mistake(f"On {label} you returned the standard deviation; batch norm's statistic is the variance.")
    pooled = (counts[:, None] * variances).sum(axis=0) / counts.sum()  # the shards' variances, weighed
    if np.allclose(got_variance, pooled) or np.allclose(got_variance, variances.mean(axis=0)):
        raise Mistake(
            f"On {label} your variance averages the shards' variances ({np.round(got_variance, 3).tolist()}), which "
            f"leaves out how far the shards' means lie from each other: the global batch's variance is "
            f"{np.round(variance, 3).tolist()}. Each value's distance is to the GLOBAL mean, not to its shard's."
        )
    if counts.sum() > 1 and np.allclose(got_variance, whole.var(axis=0, ddof=1)):
        raise Mistake(
            f"On {label} your variance has Bessel's correction (divided by n - 1); batch norm normalizes with the "
            "population variance of the batch (divided by n), and so does every replica's shard variance here."
        )
    raise Mistake(
        f"On {label} your variance is {np.round(got_variance, 4).tolist()}; the variance of every value of the "
        f"global batch is {np.round(variance, 4).tolist()}."
    )


def _q3_pair(got, label):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Mistake(f"On {label} you returned {type(got).__name__} {got!r:.60}; return two things: (mean, variance).")
    try:
        return tuple(np.asarray(v, dtype=float) for v in got)
    except (TypeError, ValueError):
        raise Mistake(f"On {label} your (mean, variance) are not numbers: {got!r:.60}.") from None


@exercise(
    "q3",
    "synchronized batch norm: the global batch's mean and variance from the replicas",
    notebook=NOTEBOOK,
    reference=synchronized_moments,
    hint=(
        "A replica can send only its shard's count, mean and variance. Which sums over all the values of the "
        "global batch make its mean and its variance, and can each shard's share of those sums be rebuilt "
        "from the three numbers it sends?",
        "Turn each shard's count, mean and variance into its sum and its sum of squares (the variance is the mean "
        "of the squares minus the square of the mean), add those up over the shards for each channel, and turn the "
        "totals back into a mean and a variance.",
    ),
)
def q3(answer):
    for label, shards in _q3_cases():
        means, variances, counts = _q3_inputs(shards)
        got = call(answer, means.copy(), variances.copy(), counts.copy(), describe=f"on {label}")
        got_mean, got_variance = _q3_pair(got, label)
        whole = np.concatenate(shards)
        if (
            got_mean.shape == whole.mean(axis=0).shape
            and got_variance.shape == whole.var(axis=0).shape
            and np.allclose(got_mean, whole.mean(axis=0))
            and np.allclose(got_variance, whole.var(axis=0))
        ):
            continue
        _q3_diagnose(got_mean, got_variance, shards, label)
    return (
        "correct! Three numbers per channel and replica are all synchronized batch norm has to exchange, and the "
        "result is exactly the statistics of the global batch: that is why 2 replicas trained as 1 above, step for "
        "step. The variance of the whole is the mean variance of the parts plus the variance of their means: "
        "per-replica batch norm sees only the first term."
    )


# --------------------------------------------------------------------------------------
# q4: rounding to bfloat16
# --------------------------------------------------------------------------------------


def to_bfloat16(x):
    """``x`` (float32) rounded to the nearest bfloat16, returned as float32.

    bfloat16 is float32's upper half: the sign, the same 8 exponent bits (so the same range)
    and 7 of the 23 mantissa bits. Rounding adds half of the dropped part's range to the bits
    (ties to the even neighbour) and clears the lower 16 bits.
    """
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    bits = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    return bits.astype(np.uint32).view(np.float32)


_Q4_VALUES = {
    "a probability of 0.999": [0.999],
    "values just above 1 (1 + 3/256, 1 + 1/256: a tie, 1 + 1/512)": [1 + 3 / 256, 1 + 1 / 256, 1 + 1 / 512],
    "pi, -0.0025 and 1e-6": [np.pi, -2.5e-3, 1e-6],
    "70,000 and 3e38 (beyond float16's range)": [7e4, 3e38],
    "a (2, 2) array": [[0.1, 0.2], [0.3, 0.7]],
}


def _q4_diagnose(got, x, expected, label):
    bits = x.view(np.uint32)
    if got.shape != expected.shape:
        raise Mistake(f"On {label} you returned shape {got.shape}; expected {expected.shape}, one value per input.")
    truncated = (bits & np.uint32(0xFFFF0000)).view(np.float32)
    if np.array_equal(got, truncated):
        raise Mistake(
            f"On {label} you cut off the low 16 bits (got {got.ravel().tolist()}): that truncates toward zero. "
            "bfloat16 rounds to the NEAREST value, like float32 itself: add half of what is cut off first."
        )
    with np.errstate(over="ignore"):
        as_float16 = x.astype(np.float16).astype(np.float32)
    if np.array_equal(got, as_float16, equal_nan=True):
        raise Mistake(
            f"On {label} you returned float16 values ({got.ravel().tolist()}): float16 keeps 10 mantissa bits but "
            "only 5 exponent bits, so 70,000 becomes inf and 1e-6 loses its precision. bfloat16 keeps float32's 8 "
            "exponent bits and 7 mantissa bits."
        )
    half_up = (((bits.astype(np.uint64) + 0x8000) >> 16) << 16).astype(np.uint32).view(np.float32)
    if np.array_equal(got, half_up):
        raise Mistake(
            f"On {label} a tie (a value exactly halfway between two bfloat16 values) went up: you get "
            f"{got.ravel().tolist()}, expected {expected.ravel().tolist()}. Ties go to the neighbour whose last kept "
            "bit is 0 (round half to even), so that ties do not push sums in one direction."
        )
    raise Mistake(f"On {label} you returned {got.ravel().tolist()}; expected {expected.ravel().tolist()}.")


@exercise(
    "q4",
    "rounding float32 to bfloat16",
    notebook=NOTEBOOK,
    reference=to_bfloat16,
    hint=(
        "bfloat16 is the upper half of a float32: which of float32's sign, exponent and mantissa bits does it keep, "
        "and what must happen to the part that is dropped for the result to be the NEAREST bfloat16?",
        "Look at the float32's 32 bits as an unsigned integer (NumPy's .view), add about half of the range of the "
        "bits that will be dropped (exactly half minus one, plus the last kept bit, makes ties go to even), clear "
        "those bits, and view the result as float32 again.",
    ),
)
def q4(answer):
    for label, values in _Q4_VALUES.items():
        x = np.asarray(values, dtype=np.float32)
        expected = to_bfloat16(x)
        got = call(answer, x.copy(), describe=f"on {label}")
        try:
            got = np.asarray(got, dtype=np.float32)
        except (TypeError, ValueError):
            raise Mistake(
                f"On {label} you returned {type(got).__name__} {got!r:.60}; return the rounded numbers."
            ) from None
        if got.shape == expected.shape and np.array_equal(got, expected):
            continue
        _q4_diagnose(got, x, expected, label)
    return (
        f"correct! 0.999 becomes {float(to_bfloat16(np.float32(0.999))):g} in bfloat16: a predicted probability of "
        "99.9% would be stored as certainty, and log(1 - p) in the loss would see 0. That is why the course's "
        "classifier (the softmax and the loss) stays in float32 under mixed precision."
    )


# --------------------------------------------------------------------------------------
# p1: predict before you run: does mixed precision cost accuracy?
# --------------------------------------------------------------------------------------

PRECISION_CHOICES = ("float32 better", "mixed_bfloat16 better", "no difference detectable")


def _p1_explain(guess, actual):
    if actual == "no difference detectable":
        return (
            "bfloat16 rounds each activation to about 3 significant digits, but the weights and their updates stay "
            "in float32 and the classifier computes in float32: the rounding is noise far below what changes a "
            "trained model's decisions, smaller than what the seeds could detect."
        )
    return "Read the interval above: it says how large the cost (or gain) is, and how sure."


p1 = Prediction(
    "p1",
    "held-out membrane Dice, mixed_bfloat16 vs float32, by the course's comparison rule",
    notebook=NOTEBOOK,
    choices=PRECISION_CHOICES,
    explain=_p1_explain,
)

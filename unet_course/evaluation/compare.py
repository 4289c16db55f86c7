"""The course's one comparison rule: a mean difference, its 95% interval and a verdict in words.

Every comparison in the course (two recipes, two upsamplings, pretrained vs random, a loss
against another) goes through :func:`compare`, and the prose repeats its verdict:

- ``"<A> better"`` when the whole 95% interval of the difference favours A;
- ``"<B> better"`` when it favours B;
- otherwise ``"no difference detectable with n seeds; the smallest difference this could
  detect is about d"``: the experiment did not find a difference, and ``d`` says how large
  a difference it could have found, so that "no difference" is never read as "equal".

**Paired or not.** Runs that share a seed (same data order, same initial weights where the
architectures allow) are paired: the rule works on the per-seed differences ``a_i - b_i``,
which removes the seed's own luck from the comparison. Unpaired runs (different numbers of
seeds, or nothing shared) use Welch's interval, which does not assume equal spreads.

**The interval** is Student's t: ``mean ± t(0.975, df) · se``, with ``se`` the standard
error of the mean difference (``ddof=1``). It equals ``scipy.stats.ttest_rel(a, b)`` and
``ttest_ind(a, b, equal_var=False)``'s ``confidence_interval()`` (the tests check it).

**The detectable difference** ``d`` is the true difference that this design would call with
80% probability: ``(t(0.975, df) + t(0.80, df)) · se``. With 2 seeds ``t(0.975, 1)`` is
12.7, so two seeds detect only differences about 16 standard errors large; 5 seeds bring
the factor to 3.7. Adding seeds is usually the cheapest way to let an experiment answer.

>>> result = compare([0.80, 0.82, 0.81], [0.70, 0.71, 0.73], names=("course", "textbook"))
>>> result.verdict
'course better'
>>> print(result)  # doctest: +NORMALIZE_WHITESPACE
course vs textbook (3 seeds, paired): mean 0.810 vs 0.713, difference +0.097,
95% interval [+0.059, +0.135]: course better
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
POWER = 0.80


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare` (``str()`` is the line to print)."""

    names: tuple[str, str]
    n: tuple[int, int]
    mean_a: float
    mean_b: float
    difference: float  # mean of a - b (paired) or difference of the means
    low: float
    high: float
    detectable: float  # the smallest true difference called with 80% probability (nan: not computable)
    paired: bool
    higher_is_better: bool
    unit: str
    verdict: str

    @property
    def decided(self) -> bool:
        """True when the verdict names a better one."""
        return self.verdict.endswith(" better")

    @property
    def better(self) -> str | None:
        """The name of the better one, or ``None`` when no difference was detectable."""
        return self.verdict[: -len(" better")] if self.decided else None

    def __str__(self) -> str:
        a, b = self.names
        count = (
            f"{self.n[0]} {_singular(self.unit, self.n[0])}"
            if self.n[0] == self.n[1]
            else f"{self.n[0]} and {self.n[1]} {self.unit}"
        )
        kind = "paired" if self.paired else "unpaired"
        head = (
            f"{a} vs {b} ({count}, {kind}): mean {self.mean_a:.3f} vs {self.mean_b:.3f}, "
            f"difference {self.difference:+.3f}"
        )
        if math.isnan(self.low):
            return f"{head}: {self.verdict}"
        return f"{head}, 95% interval [{self.low:+.3f}, {self.high:+.3f}]: {self.verdict}"


def _scores(name: str, values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise ValueError(f"{name} is empty: give one score per seed (at least 2 seeds to compare).")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds a value that is not a finite number: {values!r}. Drop or rerun that seed.")
    return array


def compare(
    a,
    b,
    *,
    names: tuple[str, str] = ("A", "B"),
    paired: bool | None = None,
    higher_is_better: bool = True,
    unit: str = "seeds",
) -> Comparison:
    """Compare the scores ``a`` and ``b`` (one per seed) by the course's rule.

    Args:
        a, b: one score per run. Paired runs list their seeds in the same order.
        names: what to call A and B in the verdict.
        paired: pair ``a[i]`` with ``b[i]`` (the default when both have the same length; give
            ``paired=False`` for runs that share nothing).
        higher_is_better: ``False`` for errors and losses (Rand error, pixel error).
        unit: what one score is ("seeds", or "images" when comparing per image).
    """
    from scipy import stats

    a, b = _scores("a", a), _scores("b", b)
    if len(names) != 2 or not all(isinstance(name, str) and name for name in names):
        raise ValueError(f"names must be two non-empty strings, got {names!r}.")
    if paired is None:
        paired = len(a) == len(b)
    if paired and len(a) != len(b):
        raise ValueError(
            f"paired=True needs one score of each per seed; got {len(a)} and {len(b)}. "
            "Give the same seeds to both, or paired=False."
        )
    if paired:
        differences = a - b
        difference = float(differences.mean())
        count = len(differences)
        df = count - 1
        se = float(differences.std(ddof=1) / math.sqrt(count)) if count > 1 else math.nan
    else:
        difference = float(a.mean() - b.mean())
        count = min(len(a), len(b))
        if count > 1:
            va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
            se = float(math.sqrt(va + vb))
            # Welch-Satterthwaite degrees of freedom (equal spreads of 0: the smaller sample's)
            df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if va + vb > 0 else count - 1
        else:
            se, df = math.nan, 0
    a_name, b_name = names
    if count < 2:
        low = high = detectable = math.nan
        verdict = f"no difference detectable with {count} {_singular(unit, count)}: an interval needs at least 2"
    else:
        half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df)) * se
        low, high = difference - half, difference + half
        detectable = float(stats.t.ppf(0.5 + CONFIDENCE / 2, df) + stats.t.ppf(POWER, df)) * se
        if low > 0 or high < 0:
            a_ahead = (low > 0) == higher_is_better
            verdict = f"{a_name if a_ahead else b_name} better"
        else:
            verdict = (
                f"no difference detectable with {count} {unit}; "
                f"the smallest difference this could detect is about {_round_up(detectable)}"
            )
    return Comparison(
        names=(a_name, b_name),
        n=(len(a), len(b)),
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        difference=difference,
        low=low,
        high=high,
        detectable=detectable,
        paired=paired,
        higher_is_better=higher_is_better,
        unit=unit,
        verdict=verdict,
    )


def mean_interval(scores) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``scores`` (one per seed) and its 95% t-interval.

    For reporting one frozen choice's score (a test score over seeds) with the same interval the
    comparisons use; with one score the interval is ``(nan, nan)``.

    >>> mean, low, high = mean_interval([0.30, 0.32, 0.31])
    >>> f"{mean:.3f} [{low:.3f}, {high:.3f}]"
    '0.310 [0.285, 0.335]'
    """
    from scipy import stats

    values = _scores("scores", scores)
    mean = float(values.mean())
    if len(values) < 2:
        return mean, math.nan, math.nan
    half = (
        float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1)) * float(values.std(ddof=1)) / math.sqrt(len(values))
    )
    return mean, mean - half, mean + half


def compare_to(scores: dict, reference: str, **options) -> list[Comparison]:
    """Each entry of ``scores`` (``{name: [one score per seed]}``) compared with ``reference``.

    With k comparisons, each has its own 5% chance of a wrong "better": read a single
    decided verdict among many with that in mind.

    >>> rows = compare_to({"transpose": [0.5, 0.6], "bilinear": [0.4, 0.5]}, "transpose")
    >>> [row.verdict for row in rows]
    ['transpose better']
    """
    if reference not in scores:
        raise ValueError(f"reference={reference!r} is not one of the names {sorted(scores)}.")
    return [
        compare(scores[name], scores[reference], names=(name, reference), **options)
        for name in scores
        if name != reference
    ]


def _singular(unit: str, count: int) -> str:
    return unit[:-1] if count == 1 and unit.endswith("s") else unit


def _round_up(value: float) -> str:
    """Two significant digits, rounded up (a detectable difference is not to be undersold)."""
    if not math.isfinite(value) or value <= 0:
        return "0" if value == 0 else "unknown"
    exponent = math.floor(math.log10(value)) - 1
    step = 10.0**exponent
    rounded = math.ceil(value / step - 1e-9) * step
    return f"{rounded:.{max(0, -exponent)}f}"

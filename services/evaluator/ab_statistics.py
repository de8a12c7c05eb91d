"""Closed-form statistics for the A/B analysis, computed from the totals' histograms.

A score's observations are its bin values repeated by their counts, so ranks, ties, means and
variances come straight from the bins. The formulas are the ones SciPy uses for
`binomtest(...).proportion_ci(method="wilson")`, `chi2_contingency(..., correction=False)` and
`mannwhitneyu(..., method="auto")`, and the tests compare them with SciPy's results; the evaluator
itself neither loads SciPy nor rebuilds samples per request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None
    high: float | None
    n: int


def wilson(successes: int, trials: int) -> Estimate:
    """The Wilson score interval at 95 % (Newcombe 1998, without continuity correction)."""
    if trials <= 0:
        return Estimate(None, None, None, 0)
    p = successes / trials
    denominator = 2 * (trials + Z95**2)
    center = (2 * trials * p + Z95**2) / denominator
    delta = Z95 / denominator * math.sqrt(4 * trials * p * (1 - p) + Z95**2)
    low = 0.0 if successes == 0 else center - delta
    high = 1.0 if successes == trials else center + delta
    return Estimate(p, low, high, trials)


def newcombe(a: Estimate, b: Estimate) -> tuple[float, float]:
    """Newcombe's hybrid score interval for b - a (method 10), from the two Wilson intervals."""
    if (
        a.value is None
        or b.value is None
        or a.low is None
        or a.high is None
        or b.low is None
        or b.high is None
    ):
        raise ValueError("both arms need an estimate")
    diff = b.value - a.value
    low = diff - math.sqrt((b.value - b.low) ** 2 + (a.high - a.value) ** 2)
    high = diff + math.sqrt((b.high - b.value) ** 2 + (a.value - a.low) ** 2)
    return low, high


def two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float | None:
    """Pearson's chi-square test of the 2x2 table (one degree of freedom, so p = erfc(sqrt(chi2 / 2)))."""
    table = ((x1, n1 - x1), (x2, n2 - x2))
    columns = (x1 + x2, n1 + n2 - x1 - x2)
    if 0 in columns:
        return 1.0
    total = n1 + n2
    chi2 = sum(
        (observed - expected) ** 2 / expected
        for row, row_total in zip(table, (n1, n2), strict=True)
        for observed, column_total in zip(row, columns, strict=True)
        if (expected := row_total * column_total / total)
    )
    return math.erfc(math.sqrt(chi2 / 2))


@dataclass(frozen=True)
class ScoreSample:
    """A score's observations as the totals keep them: distinct values with their counts, ascending."""

    counts: tuple[tuple[float, int], ...]

    @classmethod
    def of(cls, histogram: Mapping[str, int], scale: float) -> ScoreSample:
        """Bin label times scale is the value (proxies are binned in tenths, judge scores are 1-5)."""
        return cls(
            tuple(sorted((float(label) * scale, count) for label, count in histogram.items() if count > 0))
        )

    @cached_property
    def size(self) -> int:
        return sum(count for _, count in self.counts)

    @cached_property
    def mean(self) -> float:
        return sum(value * count for value, count in self.counts) / self.size

    @cached_property
    def variance(self) -> float:
        """Sample variance (n - 1 in the denominator); needs two observations."""
        mean = self.mean
        return sum(count * (value - mean) ** 2 for value, count in self.counts) / (self.size - 1)


def mean_estimate(sample: ScoreSample) -> Estimate:
    n = sample.size
    if n == 0:
        return Estimate(None, None, None, 0)
    if n < 2:
        return Estimate(sample.mean, None, None, n)
    half = Z95 * math.sqrt(sample.variance) / math.sqrt(n)
    return Estimate(sample.mean, sample.mean - half, sample.mean + half, n)


def rank_test_p(a: ScoreSample, b: ScoreSample) -> float:
    """Two-sided Mann-Whitney U test, as SciPy's `mannwhitneyu` with its defaults.

    Tied observations get their average rank. With both samples larger than 8, or any tie, the
    p-value is the normal approximation with tie and continuity correction; otherwise it is exact.
    Without ties every observation has its own bin, so the exact case never has more observations
    than there are bins.
    """
    n1, n2 = a.size, b.size
    mine, theirs = dict(a.counts), dict(b.counts)
    values = sorted(mine.keys() | theirs.keys())
    if len(values) < 2:
        return 1.0
    rank_sum = 0.0
    below = 0
    tie_term = 0
    for value in values:
        count = mine.get(value, 0)
        tied = count + theirs.get(value, 0)
        rank_sum += count * (below + (tied + 1) / 2)
        tie_term += tied**3 - tied
        below += tied
    u1 = rank_sum - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    if (n1 > 8 and n2 > 8) or tie_term:
        n = n1 + n2
        spread = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
        z = (u - n1 * n2 / 2 - 0.5) / spread
        p = math.erfc(z / math.sqrt(2))
    else:
        frequencies = _u_frequencies(min(n1, n2), max(n1, n2))
        p = 2 * sum(frequencies[int(u) :]) / sum(frequencies)
    return min(max(p, 0.0), 1.0)


def _u_frequencies(m: int, n: int) -> list[int]:
    """How many of the C(m + n, m) orderings of two samples give U = 0, 1, ... m * n (no ties).

    The coefficients of the Gaussian binomial [m + n, m]: built up one observation at a time with
    f(m, n) = f(m - 1, n) shifted by n + f(m, n - 1).
    """
    rows = [[1] for _ in range(n + 1)]
    for i in range(1, m + 1):
        current = [[1]]
        for j in range(1, n + 1):
            merged = [0] * (i * j + 1)
            for u, ways in enumerate(rows[j]):
                merged[u + j] += ways
            for u, ways in enumerate(current[j - 1]):
                merged[u] += ways
            current.append(merged)
        rows = current
    return rows[n]

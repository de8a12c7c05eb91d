"""A/B analysis from the aggregate totals: per-arm numbers with confidence intervals, a significance test
per metric, a minimum sample size before any verdict, and a guardrail that recommends stopping an arm
that is significantly worse than the baseline.

- Rates (thumbs-up rate, handoff rate): Wilson score intervals per arm, Newcombe's hybrid score interval
  for the difference, and the two-proportion test (the chi-square test of the 2x2 table without
  continuity correction, which is the two-sided two-proportion z-test).
- Scores (relevance and groundedness proxies, judge scores): Mann-Whitney U on the score distributions,
  with a normal interval for each arm's mean.
- Several metrics are tested per arm, so each test uses a Bonferroni-adjusted level.

Everything is computed in closed form from the totals' histograms (a score's observations are its bin
values repeated by their counts, so ranks, ties, means and variances come straight from the bins):
the formulas are the ones SciPy uses for `binomtest(...).proportion_ci(method="wilson")`,
`chi2_contingency(..., correction=False)` and `mannwhitneyu(..., method="auto")` (the tests compare
them), but the evaluator does not load SciPy (about 60 MB resident) nor rebuild samples per request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from services.evaluator.ledger import Tally


class Direction(StrEnum):
    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


@dataclass(frozen=True)
class RateMetric:
    name: str
    label: str
    successes: str
    trials: tuple[str, ...]
    direction: Direction


@dataclass(frozen=True)
class ScoreMetric:
    name: str
    label: str
    histogram: str
    scale: float
    """Bin label -> value: proxies are binned in tenths, judge scores are 1-5."""


RATE_METRICS = (
    RateMetric("thumbs_up_rate", "Thumbs-up rate", "thumbs_up", ("ratings",), Direction.HIGHER_IS_BETTER),
    RateMetric("handoff_rate", "Handoff rate", "handoff_turns", ("turns",), Direction.LOWER_IS_BETTER),
)
SCORE_METRICS = (
    ScoreMetric("relevance", "Relevance (proxy)", "relevance", 0.1),
    ScoreMetric("groundedness", "Groundedness (proxy)", "groundedness", 0.1),
    ScoreMetric("judge_groundedness", "Judge: groundedness", "judge.groundedness", 1.0),
    ScoreMetric("judge_relevance", "Judge: relevance", "judge.relevance", 1.0),
    ScoreMetric("judge_coherence", "Judge: coherence", "judge.coherence", 1.0),
)
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class Comparison:
    metric: str
    label: str
    test: str
    baseline: Estimate
    arm: Estimate
    difference: float | None
    difference_low: float | None
    difference_high: float | None
    p_value: float | None
    significant: bool
    worse: bool
    enough_data: bool


class VerdictKind(StrEnum):
    COLLECTING = "collecting"
    NO_DIFFERENCE = "no_difference"
    BETTER = "better"
    WORSE = "worse"


@dataclass
class ArmReport:
    variant: str
    turns: int
    is_baseline: bool
    rates: dict[str, Estimate] = field(default_factory=dict)
    scores: dict[str, Estimate] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    verdict: VerdictKind = VerdictKind.COLLECTING
    recommendation: str = ""


@dataclass
class ExperimentReport:
    baseline: str | None
    min_samples: int
    alpha: float
    adjusted_alpha: float
    arms: list[ArmReport]

    @property
    def stop(self) -> list[str]:
        return [a.variant for a in self.arms if a.verdict is VerdictKind.WORSE]


def _count(tally: Tally, names: tuple[str, ...] | str) -> int:
    keys = (names,) if isinstance(names, str) else names
    return int(sum(tally.counts.get(k, 0.0) for k in keys))


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


def choose_baseline(arms: Mapping[str, Tally], preferred: str | None) -> str | None:
    if preferred and preferred in arms:
        return preferred
    if not arms:
        return None
    return max(sorted(arms), key=lambda v: _count(arms[v], "turns"))


def analyse(
    arms: Mapping[str, Tally], *, min_samples: int, alpha: float, baseline: str | None = None
) -> ExperimentReport:
    """Compare every arm with the baseline arm; see the module docstring for the tests used."""
    base = choose_baseline(arms, baseline)
    tested = len(RATE_METRICS) + len(SCORE_METRICS)
    adjusted = alpha / tested
    reports: list[ArmReport] = []
    for variant in sorted(arms, key=lambda v: (v != base, v)):
        tally = arms[variant]
        report = ArmReport(variant=variant, turns=_count(tally, "turns"), is_baseline=variant == base)
        for metric in RATE_METRICS:
            report.rates[metric.name] = wilson(_count(tally, metric.successes), _count(tally, metric.trials))
        for score in SCORE_METRICS:
            report.scores[score.name] = mean_estimate(
                ScoreSample.of(tally.hist.get(score.histogram, {}), score.scale)
            )
        reports.append(report)
    base_report = next((r for r in reports if r.is_baseline), None)
    for report in reports:
        if report.is_baseline or base_report is None:
            report.verdict = VerdictKind.NO_DIFFERENCE if report.is_baseline else report.verdict
            report.recommendation = "baseline" if report.is_baseline else report.recommendation
            continue
        report.comparisons = _compare(
            arms[base_report.variant], arms[report.variant], base_report, report, min_samples, adjusted
        )
        report.verdict, report.recommendation = _verdict(report.comparisons, min_samples)
    return ExperimentReport(
        baseline=base, min_samples=min_samples, alpha=alpha, adjusted_alpha=adjusted, arms=reports
    )


def _compare(
    base_tally: Tally, arm_tally: Tally, base: ArmReport, arm: ArmReport, min_samples: int, alpha: float
) -> list[Comparison]:
    out: list[Comparison] = []
    for metric in RATE_METRICS:
        a, b = base.rates[metric.name], arm.rates[metric.name]
        enough = a.n >= min_samples and b.n >= min_samples
        diff = low = high = p = None
        if a.value is not None and b.value is not None:
            diff = b.value - a.value
            low, high = newcombe(a, b)
            p = two_proportion_p(
                _count(base_tally, metric.successes), a.n, _count(arm_tally, metric.successes), b.n
            )
        significant = enough and p is not None and p < alpha
        worse = (
            significant
            and diff is not None
            and (diff < 0 if metric.direction is Direction.HIGHER_IS_BETTER else diff > 0)
        )
        out.append(
            Comparison(
                metric.name,
                metric.label,
                "two-proportion",
                a,
                b,
                diff,
                low,
                high,
                p,
                significant,
                worse,
                enough,
            )
        )
    for score in SCORE_METRICS:
        xa = ScoreSample.of(base_tally.hist.get(score.histogram, {}), score.scale)
        xb = ScoreSample.of(arm_tally.hist.get(score.histogram, {}), score.scale)
        a, b = base.scores[score.name], arm.scores[score.name]
        if xa.size == 0 and xb.size == 0:
            continue
        enough = xa.size >= min_samples and xb.size >= min_samples
        diff = (b.value - a.value) if a.value is not None and b.value is not None else None
        p = rank_test_p(xa, xb) if xa.size and xb.size else None
        significant = enough and p is not None and p < alpha
        worse = significant and diff is not None and diff < 0
        low = high = None
        if diff is not None and xa.size > 1 and xb.size > 1:
            se = math.sqrt(xa.variance / xa.size + xb.variance / xb.size)
            low, high = diff - Z95 * se, diff + Z95 * se
        out.append(
            Comparison(
                score.name,
                score.label,
                "Mann-Whitney U",
                a,
                b,
                diff,
                low,
                high,
                p,
                significant,
                worse,
                enough,
            )
        )
    return out


def _verdict(comparisons: list[Comparison], min_samples: int) -> tuple[VerdictKind, str]:
    worse = [c.label for c in comparisons if c.worse]
    if worse:
        return VerdictKind.WORSE, f"Stop this variant: significantly worse on {', '.join(worse)}."
    if not any(c.enough_data for c in comparisons):
        return VerdictKind.COLLECTING, f"Collecting data: each arm needs at least {min_samples} observations."
    better = [c.label for c in comparisons if c.significant]
    if better:
        return VerdictKind.BETTER, f"Significantly better on {', '.join(better)}."
    return VerdictKind.NO_DIFFERENCE, "No significant difference yet; keep running or stop as equivalent."

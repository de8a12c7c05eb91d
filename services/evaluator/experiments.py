"""A/B analysis from the aggregate totals: per-arm numbers with confidence intervals, a significance test
per metric, a minimum sample size before any verdict, and a guardrail that recommends stopping an arm
that is significantly worse than the baseline.

- Rates (thumbs-up rate, handoff rate): Wilson score intervals per arm, Newcombe's hybrid score interval
  for the difference, and the two-proportion test (the chi-square test of the 2x2 table without
  continuity correction, which is the two-sided two-proportion z-test).
- Scores (relevance and groundedness proxies, judge scores): Mann-Whitney U on the score distributions,
  with a normal interval for each arm's mean.
- Several metrics are tested per arm, so each test uses a Bonferroni-adjusted level.

Everything is computed in closed form from the totals' histograms (`ab_statistics`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from helpdesk.aggregates import Tally
from services.evaluator.ab_statistics import (
    Z95,
    Estimate,
    ScoreSample,
    mean_estimate,
    newcombe,
    rank_test_p,
    two_proportion_p,
    wilson,
)


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
    return [
        *_compare_rates(base_tally, arm_tally, base, arm, min_samples, alpha),
        *_compare_scores(base_tally, arm_tally, base, arm, min_samples, alpha),
    ]


def _compare_rates(
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
    return out


def _compare_scores(
    base_tally: Tally, arm_tally: Tally, base: ArmReport, arm: ArmReport, min_samples: int, alpha: float
) -> list[Comparison]:
    out: list[Comparison] = []
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

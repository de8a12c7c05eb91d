"""A/B statistics: intervals, significance tests, minimum samples and the stop guardrail."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from helpdesk.aggregates import Tally
from services.evaluator.ab_statistics import (
    ScoreSample,
    mean_estimate,
    newcombe,
    rank_test_p,
    two_proportion_p,
    wilson,
)
from services.evaluator.experiments import VerdictKind, analyse


def arm(turns: int, up: int, down: int, handoffs: int, relevance: dict[str, int] | None = None) -> Tally:
    tally = Tally()
    tally.add("turns", turns)
    tally.add("ratings", up + down)
    tally.add("thumbs_up", up)
    tally.add("thumbs_down", down)
    tally.add("handoff_turns", handoffs)
    for label, count in (relevance or {}).items():
        tally.observe("relevance", label, count)
    return tally


def test_wilson_interval_matches_the_textbook_value() -> None:
    estimate = wilson(81, 263)
    assert estimate.value == pytest.approx(0.308, abs=1e-3)
    assert estimate.low == pytest.approx(0.2553, abs=1e-3)
    assert estimate.high == pytest.approx(0.3662, abs=1e-3)


def test_newcombe_interval_contains_the_difference() -> None:
    low, high = newcombe(wilson(56, 70), wilson(48, 80))
    assert low < (48 / 80 - 56 / 70) < high
    assert low == pytest.approx(-0.3339, abs=2e-3)
    assert high == pytest.approx(-0.0515, abs=2e-3)


def test_too_few_observations_give_no_verdict() -> None:
    report = analyse({"a": arm(20, 10, 2, 1), "b": arm(18, 1, 9, 8)}, min_samples=100, alpha=0.05)
    b = next(r for r in report.arms if r.variant == "b")
    assert b.verdict is VerdictKind.COLLECTING
    assert report.stop == []


def test_a_significantly_worse_arm_is_recommended_to_stop() -> None:
    report = analyse(
        {"a": arm(1000, 420, 80, 50), "b": arm(990, 300, 200, 120)}, min_samples=100, alpha=0.05, baseline="a"
    )
    b = next(r for r in report.arms if r.variant == "b")
    assert b.verdict is VerdictKind.WORSE
    assert report.stop == ["b"]
    thumbs = next(c for c in b.comparisons if c.metric == "thumbs_up_rate")
    assert thumbs.p_value is not None
    assert thumbs.p_value < 1e-6
    assert thumbs.difference == pytest.approx(0.6 - 0.84)
    handoff = next(c for c in b.comparisons if c.metric == "handoff_rate")
    assert handoff.worse


def test_equal_arms_show_no_difference() -> None:
    report = analyse(
        {
            "a": arm(500, 200, 50, 30, {"8": 300, "10": 200}),
            "b": arm(500, 199, 51, 31, {"8": 301, "10": 199}),
        },
        min_samples=100,
        alpha=0.05,
    )
    b = next(r for r in report.arms if not r.is_baseline)
    assert b.verdict is VerdictKind.NO_DIFFERENCE
    relevance = next(c for c in b.comparisons if c.metric == "relevance")
    assert relevance.test == "Mann-Whitney U"
    assert relevance.p_value is not None
    assert relevance.p_value > 0.5


def test_a_lower_relevance_distribution_is_found_by_the_rank_test() -> None:
    report = analyse(
        {"a": arm(400, 0, 0, 0, {"9": 200, "10": 200}), "b": arm(400, 0, 0, 0, {"5": 200, "7": 200})},
        min_samples=100,
        alpha=0.05,
        baseline="a",
    )
    b = next(r for r in report.arms if r.variant == "b")
    relevance = next(c for c in b.comparisons if c.metric == "relevance")
    assert relevance.worse
    assert b.verdict is VerdictKind.WORSE


def test_the_baseline_is_the_arm_with_most_turns_unless_named() -> None:
    arms = {"a": arm(10, 0, 0, 0), "b": arm(30, 0, 0, 0)}
    assert analyse(arms, min_samples=2, alpha=0.05).baseline == "b"
    assert analyse(arms, min_samples=2, alpha=0.05, baseline="a").baseline == "a"


def _observations(histogram: dict[str, int], scale: float) -> list[float]:
    return [float(label) * scale for label, count in histogram.items() for _ in range(count)]


def _random_histogram(rng: random.Random, bins: int, total: int) -> dict[str, int]:
    histogram: dict[str, int] = {}
    for _ in range(total):
        label = str(rng.randrange(bins))
        histogram[label] = histogram.get(label, 0) + 1
    return histogram


@pytest.mark.parametrize("seed", range(60))
def test_the_closed_forms_give_scipys_numbers(seed: int) -> None:
    """Same results as the SciPy functions the analysis was first written with, on random inputs:
    Wilson intervals, the 2x2 chi-square test, Mann-Whitney U (exact and asymptotic), means."""
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(seed)
    trials = rng.choice([1, 2, 7, 40, 1000])
    successes = rng.choice([0, trials, rng.randint(0, trials)])
    mine = wilson(successes, trials)
    theirs = stats.binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    assert (mine.low, mine.high) == pytest.approx((theirs.low, theirs.high), rel=1e-12, abs=1e-15)

    n1, n2 = rng.randint(1, 500), rng.randint(1, 500)
    x1, x2 = rng.randint(0, n1), rng.randint(0, n2)
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    if x1 + x2 not in (0, n1 + n2):
        expected = stats.chi2_contingency(table, correction=False).pvalue
        assert two_proportion_p(x1, n1, x2, n2) == pytest.approx(expected, rel=1e-9, abs=1e-300)

    # Few observations over many bins have no ties (the exact test); many have ties (the normal one).
    bins, scale = rng.choice([(11, 0.1), (5, 1.0)])
    sizes = (
        (rng.randint(1, 6), rng.randint(1, 6))
        if seed % 3 == 0
        else (rng.randint(1, 300), rng.randint(2, 300))
    )
    ha, hb = _random_histogram(rng, bins, sizes[0]), _random_histogram(rng, bins, sizes[1])
    xa, xb = _observations(ha, scale), _observations(hb, scale)
    sa, sb = ScoreSample.of(ha, scale), ScoreSample.of(hb, scale)
    if len(set(xa) | set(xb)) > 1:
        expected = stats.mannwhitneyu(xa, xb, alternative="two-sided").pvalue
        assert rank_test_p(sa, sb) == pytest.approx(expected, rel=1e-9, abs=1e-300)
    estimate = mean_estimate(sb)
    assert estimate.value == pytest.approx(statistics.fmean(xb), rel=1e-12)
    if len(xb) > 1:
        half = 1.959963984540054 * statistics.stdev(xb) / math.sqrt(len(xb))
        assert estimate.low == pytest.approx(statistics.fmean(xb) - half, rel=1e-9)


def test_the_exact_rank_test_counts_every_ordering() -> None:
    """Three against three without ties: U = 9 is the most extreme of the 20 orderings (p = 2/20)."""
    a = ScoreSample.of({"8": 1, "9": 1, "10": 1}, 0.1)
    b = ScoreSample.of({"1": 1, "2": 1, "3": 1}, 0.1)
    assert rank_test_p(a, b) == pytest.approx(0.1)
    assert rank_test_p(a, a) == 1.0

"""A/B statistics: intervals, significance tests, minimum samples and the stop guardrail."""

from __future__ import annotations

import pytest

from services.evaluator.experiments import VerdictKind, analyse, newcombe, wilson
from services.evaluator.ledger import Tally


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

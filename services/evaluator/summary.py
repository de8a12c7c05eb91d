"""Operators' numbers from the totals: rates, means, latency percentiles, cost, per variant and per hour."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from helpdesk.aggregates import Tally, split_bucket
from services.evaluator.scores.turn_scores import END_TO_END, LATENCY_BOUNDS_MS


def days_back(days: int, now: datetime | None = None) -> list[str]:
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    return [(today - timedelta(days=n)).isoformat() for n in range(max(days, 1))]


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _mean(tally: Tally, name: str) -> float | None:
    return _ratio(tally.counts.get(f"{name}.sum", 0.0), tally.counts.get(f"{name}.n", 0.0))


def percentile(histogram: Mapping[str, int], q: float) -> float | None:
    """The upper bound of the latency bin holding the q-quantile (ms); None without observations."""
    total = sum(histogram.values())
    if not total:
        return None
    order = [str(b) for b in LATENCY_BOUNDS_MS] + ["inf"]
    seen = 0
    for label in order:
        seen += histogram.get(label, 0)
        if seen >= q * total:
            return float(LATENCY_BOUNDS_MS[-1]) if label == "inf" else float(label)
    return None


def overview(tally: Tally) -> dict[str, Any]:
    c = tally.counts
    turns = c.get("turns", 0.0)
    conversations = c.get("conversations", 0.0)
    stages = sorted({name.split(".")[1] for name in c if name.startswith("latency.") and name.endswith(".n")})
    latency = {
        stage: {
            "mean_ms": _mean(tally, f"latency.{stage}"),
            "p50_ms": percentile(tally.hist.get(f"latency.{stage}", {}), 0.5),
            "p95_ms": percentile(tally.hist.get(f"latency.{stage}", {}), 0.95),
        }
        for stage in stages
    }
    modes = {name.removeprefix("mode."): int(v) for name, v in c.items() if name.startswith("mode.")}
    return {
        "turns": int(turns),
        "modes": modes,
        "ratings": int(c.get("ratings", 0)),
        "thumbs_up": int(c.get("thumbs_up", 0)),
        "thumbs_down": int(c.get("thumbs_down", 0)),
        "thumbs_up_rate": _ratio(c.get("thumbs_up", 0.0), c.get("ratings", 0.0)),
        "handoff_rate": _ratio(c.get("handoff_turns", 0.0), turns),
        "relevance": _mean(tally, "relevance"),
        "groundedness": _mean(tally, "groundedness"),
        "citation_validity": _mean(tally, "citation_validity"),
        "judge": {
            criterion: _mean(tally, f"judge.{criterion}")
            for criterion in ("groundedness", "relevance", "coherence")
        },
        "judged": int(c.get("judged", 0)),
        "latency": latency,
        "prompt_tokens": int(c.get("prompt_tokens", 0)),
        "completion_tokens": int(c.get("completion_tokens", 0)),
        "cost_usd": round(c.get("cost_usd", 0.0) + c.get("judge.cost_usd", 0.0), 6),
        "answer_cost_usd": round(c.get("cost_usd", 0.0), 6),
        "judge_cost_usd": round(c.get("judge.cost_usd", 0.0), 6),
        "cache_hit_rate": _ratio(c.get("cached", 0.0), turns),
        "sessions": {
            "conversations": int(conversations),
            "resolution_rate": (
                1 - c.get("unresolved_conversations", 0.0) / conversations if conversations else None
            ),
            "handoff_rate": _ratio(c.get("handoff_conversations", 0.0), conversations),
            "reasked_rate": _ratio(c.get("reasked_turns", 0.0), turns),
            "reasked_turns": int(c.get("reasked_turns", 0)),
        },
    }


def by_variant(totals: Mapping[str, Tally]) -> dict[str, Tally]:
    out: dict[str, Tally] = {}
    for bucket, tally in totals.items():
        out.setdefault(split_bucket(bucket)[1], Tally()).merge(tally)
    return out


def overall(totals: Mapping[str, Tally]) -> Tally:
    out = Tally()
    for tally in totals.values():
        out.merge(tally)
    return out


def series(totals: Mapping[str, Tally], *, daily: bool = False) -> list[dict[str, Any]]:
    """One point per (hour, variant), or per (day, variant): the numbers the dashboard charts over time.

    `hour` is `2026-11-22T04` for hourly points and `2026-11-22` for daily ones."""
    grouped: dict[tuple[str, str], Tally] = {}
    for bucket, tally in totals.items():
        hour, variant = split_bucket(bucket)
        grouped.setdefault((hour[:10] if daily else hour, variant), Tally()).merge(tally)
    points = []
    for hour, variant in sorted(grouped):
        tally = grouped[(hour, variant)]
        numbers = overview(tally)
        end_to_end = numbers["latency"].get(END_TO_END, {})
        points.append(
            {
                "hour": hour,
                "variant": variant,
                "turns": numbers["turns"],
                "thumbs_up_rate": numbers["thumbs_up_rate"],
                "handoff_rate": numbers["handoff_rate"],
                "relevance": numbers["relevance"],
                "groundedness": numbers["groundedness"],
                "latency_p50_ms": end_to_end.get("p50_ms"),
                "latency_p95_ms": end_to_end.get("p95_ms"),
                "cost_usd": numbers["cost_usd"],
            }
        )
    return points

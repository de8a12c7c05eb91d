"""The read models operators see, in the operator API and on the dashboard: quality numbers over a
period, the A/B verdict and the latest evaluated turns, all read from the aggregate totals."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from helpdesk.aggregates import AggregateLedger
from services.evaluator.experiments import analyse
from services.evaluator.summary import by_variant, days_back, overall, overview, series

MAX_DAYS = 90
DAILY_POINTS_AFTER_DAYS = 7
"""Periods longer than a week chart one point per day instead of one per hour."""


class QualityReport:
    def __init__(
        self, ledger: AggregateLedger, *, min_samples: int, alpha: float, baseline: str | None
    ) -> None:
        self._ledger = ledger
        self._min_samples = min_samples
        self._alpha = alpha
        self._baseline = baseline

    async def summary(self, days: int) -> dict[str, Any]:
        """Quality, latency, cost and session numbers over the last `days` (at most `MAX_DAYS`), overall,
        per variant and over time."""
        totals = await self._ledger.totals(days_back(min(days, MAX_DAYS)))
        daily = days > DAILY_POINTS_AFTER_DAYS
        return {
            "days": days,
            "overall": overview(overall(totals)),
            "variants": {name: overview(tally) for name, tally in sorted(by_variant(totals).items())},
            "granularity": "day" if daily else "hour",
            "series": series(totals, daily=daily),
        }

    async def experiment(self, days: int) -> dict[str, Any]:
        """Every variant against the baseline: intervals, tests and a verdict (see `experiments`)."""
        totals = await self._ledger.totals(days_back(min(days, MAX_DAYS)))
        report = analyse(
            by_variant(totals), min_samples=self._min_samples, alpha=self._alpha, baseline=self._baseline
        )
        body = asdict(report)
        body["stop"] = report.stop
        return body

    async def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest evaluated turns of today and yesterday, newest first."""
        turns = await self._ledger.recent(days_back(2))
        turns.sort(key=lambda t: str(t.get("at", "")), reverse=True)
        return turns[:limit]

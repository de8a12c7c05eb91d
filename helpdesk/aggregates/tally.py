"""What a fact adds to the totals: plain sums and histograms, which merge by addition."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class Tally:
    """An additive contribution to the totals of one bucket.

    Rates, means, percentiles and rank tests are computed from these sums and histograms on read, so
    any number of contributions, shards and replicas combine by adding them up."""

    counts: dict[str, float] = field(default_factory=dict)
    hist: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, name: str, value: float = 1.0) -> None:
        self.counts[name] = self.counts.get(name, 0.0) + value

    def observe(self, name: str, bin_label: str, count: int = 1) -> None:
        bins = self.hist.setdefault(name, {})
        bins[bin_label] = bins.get(bin_label, 0) + count

    def merge(self, other: Tally) -> None:
        for name, value in other.counts.items():
            self.counts[name] = self.counts.get(name, 0.0) + value
        for name, bins in other.hist.items():
            mine = self.hist.setdefault(name, {})
            for label, count in bins.items():
                mine[label] = mine.get(label, 0) + count

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts, "hist": self.hist}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tally:
        return cls(
            counts={k: float(v) for k, v in data.get("counts", {}).items()},
            hist={k: {b: int(c) for b, c in v.items()} for k, v in data.get("hist", {}).items()},
        )


def bucket_key(hour: str, group: str) -> str:
    """The bucket of one hour and one group (an A/B variant, say): `2026-11-22T04|a`."""
    return f"{hour}|{group}"


def split_bucket(key: str) -> tuple[str, str]:
    hour, _, group = key.partition("|")
    return hour, group


def day_of(bucket: str) -> str:
    """`2026-11-22`: the day whose shards hold this bucket."""
    return split_bucket(bucket)[0][:10]


def hour_of(moment: datetime) -> str:
    """`2026-11-22T04`: the hour bucket (UTC) a fact belongs to; naive times are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")

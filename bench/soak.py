"""Soak of the whole helpdesk: `make soak` (after `make run`).

Holds one open-loop rate (60 % of capacity unless told) for a fixed time (30 minutes unless told) and
stops by itself; then lets the backlog drain and checks what a long run would show that `make bench`'s
20-second measurements cannot:

- every service's and sidecar's RSS grows by less than 10 % between the first sample under load and
  the last (RSS before any load, at the start and end, the largest seen);
- Redis memory is held by things that have a bound. Streams are trimmed by age (`streamTTL`), records
  carry a TTL; both grow linearly until their bound. The live streams (30 s) reach theirs within the
  soak and must stay there; the durable streams (3 h) and the records (hours to 90 days) cannot, so
  their bound at this rate is computed from the measured bytes per entry and per turn. Every key class
  without a TTL must not grow with turns, and what the key classes do not explain (Redis' own
  overhead) must stay small;
- after the drain no consumer group of a running replica holds pending entries;
- no turn is lost (answered 202 and never answered) or duplicated (two outcomes, or stored twice);
- each process's Prometheus series do not grow with turns (no per-turn or per-user labels).

Machinery shared with `bench.load`: its open-loop sender (one window per sample interval, started back
to back so that the schedule never waits for answers), the stack target (send, lost turns, processes),
the CPU and RSS readers, and the capacity search. Results: a report, a PASS/FAIL line per criterion,
and a last line of JSON.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from bench.load import STACK_STATE, Send, measure, open_loop, questions, search
from bench.load_targets import StackTarget, cpu_seconds, rss_mb
from bench.soak_checks import CAPPED, Verdicts, judge
from bench.soak_probes import (
    Census,
    GroupPending,
    Scrape,
    census,
    duplicated_turns,
    jsonable,
    judged_groups,
    listed_entries,
    metrics_endpoints,
    pending_entries,
    redis_client,
    scrape,
    stream_lengths,
)

CAPACITY_SHARE = 0.6
DRAIN_SECONDS = 180.0
"""Longest wait for the consumer groups to acknowledge everything after the last chat: three times the
`processingTimeout` (60 s) after which another consumer would claim an unacknowledged delivery."""


@dataclass
class Sample:
    at: float
    """Seconds since the soak's first chat."""
    sent: int
    rss_mb: dict[str, float]
    cpu_seconds: dict[str, float]
    used_memory_mb: float
    streams_mb: float
    stream_entries: dict[str, int]
    stream_added: dict[str, int] = field(default_factory=dict)
    """Entries ever added to each stream (Redis' `entries-added`), which trimming does not lower."""


@dataclass
class Window:
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    late: list[str] = field(default_factory=list)
    """Turns answered 202 (not within the gateway's wait): polled afterwards, lost if never answered."""
    sent: int = 0


@dataclass
class SoakRun:
    rate: float
    capacity: float | None
    seconds: float
    refusals: Refusals
    started_ms: int = 0
    before: Sample | None = None
    samples: list[Sample] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    lost: int = 0
    duplicated: int = 0
    drained_in_seconds: float | None = None
    census_before: Census | None = None
    census_after: Census | None = None
    pending_before: list[GroupPending] = field(default_factory=list)
    pending_after: list[GroupPending] = field(default_factory=list)
    scrape_start: Scrape = field(default_factory=lambda: Scrape({}, 0.0))
    scrape_end: Scrape = field(default_factory=lambda: Scrape({}, 0.0))
    capped_entries: dict[str, int] = field(default_factory=dict)
    """Entries listed now in each capped key class (`soak_checks.CAPPED`)."""

    @property
    def sent(self) -> int:
        return sum(w.sent for w in self.windows)

    @property
    def accepted(self) -> int:
        """Chats the gateway took (200 or 202): the turns whose records and events the soak counts."""
        return self.sent - sum(w.failed for w in self.windows)


async def take_sample(target: StackTarget, client: Any, at: float, sent: int) -> Sample:
    processes = target.processes()
    streams = await stream_lengths(client)
    info = await client.info("memory")
    return Sample(
        at=round(at, 1),
        sent=sent,
        rss_mb={name: rss_mb(pid) for name, pid in processes.items()},
        cpu_seconds={name: cpu_seconds(pid) for name, pid in processes.items()},
        used_memory_mb=round(int(info["used_memory"]) / 2**20, 2),
        streams_mb=round(sum(size for _, size, _ in streams.values()) / 2**20, 2),
        stream_entries={name: length for name, (length, _, _) in streams.items()},
        stream_added={name: added for name, (_, _, added) in streams.items()},
    )


class Refusals:
    """What the chats that were not accepted got: a status other than 200 or 202, or an exception."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.kinds: Counter[str] = Counter()

    async def send(self, text: str) -> tuple[int, str | None]:
        try:
            status, turn_id = await self._send(text)
        except Exception as exc:
            self.kinds[type(exc).__name__] += 1
            raise
        if status not in (200, 202):
            self.kinds[str(status)] += 1
        return status, turn_id


async def one_window(send: Send, rate: float, seconds: float, texts: list[str]) -> Window:
    latencies, failed, late, sent, _ = await open_loop(send, rate, seconds, texts)
    return Window(latencies, failed, late, sent)


async def hold(run: SoakRun, target: StackTarget, client: Any, texts: list[str], interval: float) -> None:
    """The open loop, one window per interval started on the clock, with a sample at every boundary;
    the first window warms the stack up (its end is the soak's "start")."""
    loop = asyncio.get_running_loop()
    count = max(2, round(run.seconds / interval))
    t0 = loop.time()
    run.started_ms = int(time.time() * 1000)
    tasks: list[asyncio.Task[Window]] = []
    for k in range(count + 1):
        await asyncio.sleep(max(0.0, t0 + k * interval - loop.time()))
        if k:
            sent = round(min(k, count) * interval * run.rate)
            run.samples.append(await take_sample(target, client, loop.time() - t0, sent))
            print(json.dumps({"sample": asdict(run.samples[-1]) | {"cpu_seconds": None}}), file=sys.stderr)
        if k == 1:
            run.scrape_start = await scrape(target.session, metrics_endpoints(target))
        if k < count:
            shift = (k * 7) % len(texts)
            window = one_window(run.refusals.send, run.rate, interval, texts[shift:] + texts[:shift])
            tasks.append(asyncio.create_task(window))
    run.windows = list(await asyncio.gather(*tasks))
    run.scrape_end = await scrape(target.session, metrics_endpoints(target))


async def drain(
    client: Any, before: list[GroupPending], deadline: float
) -> tuple[float | None, list[GroupPending]]:
    """Wait until no judged consumer group (`judged_groups`) holds a pending entry; the seconds it took."""
    started = time.monotonic()
    while True:
        groups = await pending_entries(client)
        if all(g.pending == 0 and not g.undelivered for g in judged_groups(before, groups)):
            return round(time.monotonic() - started, 1), groups
        if time.monotonic() - started > deadline:
            return None, groups
        await asyncio.sleep(2.0)


async def find_capacity(
    target: StackTarget, texts: list[str], seconds: float, low: float, high: float
) -> float:
    """`make bench`'s search, with shorter probes: the highest rate with p99 <= 250 ms and no errors."""
    found = await search(target, "dapr", seconds, texts, low, high)
    print(json.dumps({"capacity": found.achieved_rps}), file=sys.stderr, flush=True)
    return found.achieved_rps


async def soak(
    state: Path,
    rate: float | None,
    capacity: float | None,
    minutes: float,
    interval: float,
    search_seconds: float,
) -> SoakRun:
    texts = questions()
    random.Random(11).shuffle(texts)
    target = StackTarget(state)
    client = redis_client(target)
    try:
        await measure(target, "dapr", 10, 10, texts)  # warm-up, as `make bench` does
        if rate is None:
            if capacity is None:
                groups = await pending_entries(client)
                capacity = await find_capacity(target, texts, search_seconds, 20.0, 400.0)
                await drain(client, groups, DRAIN_SECONDS)
            rate = round(capacity * CAPACITY_SHARE, 1)
        run = SoakRun(rate=rate, capacity=capacity, seconds=minutes * 60, refusals=Refusals(target.send))
        print(json.dumps({"soak": {"rate": rate, "capacity": capacity, "minutes": minutes}}), file=sys.stderr)
        run.census_before = await census(client)
        run.pending_before = await pending_entries(client)
        run.before = await take_sample(target, client, 0.0, 0)
        await hold(run, target, client, texts, interval)
        run.lost = await target.lost([t for w in run.windows for t in w.late])
        run.drained_in_seconds, run.pending_after = await drain(client, run.pending_before, DRAIN_SECONDS)
        run.census_after = await census(client)
        for name in CAPPED:
            run.capped_entries[name] = await listed_entries(client, name)
        logs = Path(target.state["logs"])
        run.duplicated = len(await duplicated_turns(client, run.started_ms, logs))
        return run
    finally:
        await client.aclose()
        await target.close()


# ---- report -------------------------------------------------------------------------------------------


def percentile(latencies: list[float], q: float) -> float | None:
    return float(np.percentile(latencies, q)) if latencies else None


def latency_line(name: str, windows: list[Window]) -> str:
    values = np.array([x for w in windows for x in w.latencies]) if windows else np.array([])
    if not values.size:
        return f"{name}: no answers"
    p50, p99 = np.percentile(values, 50), np.percentile(values, 99)
    return f"{name}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {values.max():.1f} ms ({values.size} answers)"


def refusal_kinds(run: SoakRun) -> str:
    return f" {dict(run.refusals.kinds)}" if run.refusals.kinds else ""


def report(run: SoakRun, verdicts: Verdicts) -> str:
    rows = [
        f"soak: {run.rate:g} chats/s for {run.seconds / 60:g} min"
        + (f" ({run.rate / run.capacity:.0%} of a capacity of {run.capacity:g}/s)" if run.capacity else ""),
        f"sent {run.sent}, answered within the wait {sum(len(w.latencies) for w in run.windows)}, "
        f"answered late (202) {sum(len(w.late) for w in run.windows)}, refused or failed "
        f"{sum(w.failed for w in run.windows)}{refusal_kinds(run)}, "
        f"lost {run.lost}, duplicated {run.duplicated}",
        latency_line("latency, whole soak", run.windows),
        latency_line("latency, first window", run.windows[:1]),
        latency_line("latency, last window", run.windows[-1:]),
        "",
        *verdicts.details,
        "",
        *[f"{'PASS' if ok else 'FAIL'}  {name}: {why}" for name, (ok, why) in verdicts.criteria.items()],
    ]
    return "\n".join(rows)


def summary(run: SoakRun, verdicts: Verdicts) -> dict[str, Any]:
    result: dict[str, Any] = jsonable(
        {
            "rate": run.rate,
            "capacity": run.capacity,
            "minutes": run.seconds / 60,
            "sent": run.sent,
            "lost": run.lost,
            "duplicated": run.duplicated,
            "drained_in_seconds": run.drained_in_seconds,
            "p50_ms": percentile([x for w in run.windows for x in w.latencies], 50),
            **verdicts.figures,
            "criteria": {name: ok for name, (ok, _) in verdicts.criteria.items()},
            "passed": all(ok for ok, _ in verdicts.criteria.values()),
        }
    )
    return result


def main(
    rate: Annotated[
        float | None, typer.Option(help="Chats per second to hold (default: 60 % of capacity).")
    ] = None,
    capacity: Annotated[
        float | None, typer.Option(help="Capacity in chats/s (e.g. make bench's search); else measured here.")
    ] = None,
    minutes: Annotated[float, typer.Option(help="How long to hold the rate.")] = 30.0,
    sample_seconds: Annotated[
        float, typer.Option(help="Seconds between samples (and per open-loop window).")
    ] = 30.0,
    search_seconds: Annotated[float, typer.Option(help="Seconds per probe of the capacity search.")] = 10.0,
    state: Annotated[Path, typer.Option(help="The running stack's description.")] = STACK_STATE,
    json_out: Annotated[Path | None, typer.Option(help="Also write the JSON summary here.")] = None,
) -> None:
    """Soak the running stack (`make soak`, after `make run`); exit 1 when a criterion fails."""
    run = asyncio.run(soak(state, rate, capacity, minutes, sample_seconds, search_seconds))
    verdicts = judge(run)
    print(report(run, verdicts))
    result = summary(run, verdicts)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))
    raise SystemExit(0 if result["passed"] else 1)


if __name__ == "__main__":
    typer.run(main)

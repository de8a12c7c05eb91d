"""Load benchmark of the whole helpdesk: `make bench` (after `make run`).

Open loop at fixed rates, then a closed-loop search for the highest rate that keeps p99 <= 250 ms with
no errors, against the locally running stack ("dapr" mode); and the same handlers chained in one
process on in-memory ports ("inprocess" mode), so that what Dapr adds per hop can be read off.

Why a small asyncio generator instead of locust: on this 2-core machine the generator shares the CPU
with four services, four sidecars and Redis, and an open-loop generator must not wait for answers
before sending the next request (coordinated omission). Each request is a task started at its
scheduled time on one event loop with aiohttp; latency is measured from the scheduled time, so a
late start shows up as latency instead of hiding. Locust's gevent workers cost several times the CPU
per request here and schedule closed-loop users by default.

One JSON line per measurement (mode, offered_rps, achieved_rps, p50_ms, p95_ms, p99_ms, max_ms,
errors, lost, rss_mb), then a table for people.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from bench.load_targets import InProcessTarget, StackTarget, cpu_seconds, rss_mb

ROOT = Path(__file__).resolve().parent.parent
QUERIES = ROOT / "bench" / "data" / "kb-eval.jsonl"
P99_BUDGET_MS = 250.0

Send = Callable[[str], Awaitable[tuple[int, str | None]]]


class Mode(StrEnum):
    """What a measurement runs against."""

    DAPR = "dapr"
    """The stack `make run` started: every hop through a sidecar and Redis."""
    INPROCESS = "inprocess"
    """The same handlers chained in this process on in-memory ports."""


def questions() -> list[str]:
    texts = [json.loads(line)["query"] for line in QUERIES.read_text().splitlines() if line.strip()]
    return texts or ["how do I reset my password?"]


@dataclass
class Measurement:
    mode: str
    offered_rps: float | None
    achieved_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    lost: int
    sent: int
    answered: int
    seconds: float
    rss_mb: dict[str, float] = field(default_factory=dict)
    cpu_ms_per_chat: dict[str, float] = field(default_factory=dict)
    """CPU time each process spent during the measurement per chat sent and not refused: where
    throughput goes."""


def summarise(
    mode: str,
    offered: float | None,
    latencies: list[float],
    errors: int,
    lost: int,
    sent: int,
    seconds: float,
) -> Measurement:
    values = np.array(latencies) if latencies else np.array([float("nan")])
    return Measurement(
        mode=mode,
        offered_rps=offered,
        achieved_rps=round(len(latencies) / seconds, 1) if seconds else 0.0,
        p50_ms=round(float(np.percentile(values, 50)), 2),
        p95_ms=round(float(np.percentile(values, 95)), 2),
        p99_ms=round(float(np.percentile(values, 99)), 2),
        max_ms=round(float(np.max(values)), 2),
        errors=errors,
        lost=lost,
        sent=sent,
        answered=len(latencies),
        seconds=round(seconds, 2),
    )


async def open_loop(
    send: Send, rate: float, duration: float, texts: list[str]
) -> tuple[list[float], int, list[str], int, float]:
    """Send `rate` requests per second for `duration` seconds on a fixed schedule."""
    latencies: list[float] = []
    pending: list[str] = []
    errors = 0
    total = int(rate * duration)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    tasks = []

    async def one(index: int) -> None:
        nonlocal errors
        scheduled = start + index / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            status, turn_id = await send(texts[index % len(texts)])
        except Exception:
            errors += 1
            return
        if status == 200:
            latencies.append((loop.time() - scheduled) * 1000)
        elif status == 202 and turn_id:
            pending.append(turn_id)
        else:
            errors += 1

    for index in range(total):
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    return latencies, errors, pending, total, loop.time() - start


# ---- driver ---------------------------------------------------------------------------------------


async def measure(target: Any, mode: str, rate: float, duration: float, texts: list[str]) -> Measurement:
    processes = target.processes()
    cpu_before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    latencies, errors, pending, sent, seconds = await open_loop(target.send, rate, duration, texts)
    cpu_after = {name: cpu_seconds(pid) for name, pid in processes.items()}
    lost = await target.lost(pending)
    result = summarise(mode, rate, latencies, errors + len(pending) - lost, lost, sent, seconds)
    result.rss_mb = {name: rss_mb(pid) for name, pid in processes.items()}
    chats = max(1, sent - errors)
    result.cpu_ms_per_chat = {
        name: round((cpu_after[name] - cpu_before[name]) * 1000 / chats, 2) for name in processes
    }
    return result


async def search(
    target: Any, mode: str, duration: float, texts: list[str], low: float, high: float
) -> Measurement:
    """The highest rate whose p99 stays within budget with no errors.

    Rates climb by a quarter from `low` until one fails (or `high` is reached), then three bisection
    steps narrow the gap. Climbing instead of starting in the middle keeps each probe near capacity:
    a probe far above it leaves a backlog in the streams that would spoil the next one."""
    best: Measurement | None = None
    last: Measurement | None = None
    failed: float | None = None
    rate = low
    steps = 0
    while failed is None or steps < 3:
        if failed is not None:
            ok_rate = best.offered_rps if best and best.offered_rps else low / 1.25
            rate = round((ok_rate + failed) / 2, 1)
            steps += 1
        last = await measure(target, mode, rate, duration, texts)
        ok = last.errors == 0 and last.lost == 0 and last.p99_ms <= P99_BUDGET_MS
        print(
            json.dumps({"probe": rate, "ok": ok, "p99_ms": last.p99_ms, "errors": last.errors}),
            file=sys.stderr,
            flush=True,
        )
        if ok:
            best = last
        else:
            failed = rate if failed is None else min(failed, rate)
        if failed is None:
            if rate >= high:
                break
            rate = min(high, round(rate * 1.25, 1))
        await asyncio.sleep(2.0)
    final = best or last
    assert final is not None
    final.offered_rps = None
    return final


HOPS = 3
"""Pub/sub hops on a turn's path: gateway -> nlp -> dialogue -> gateway."""


def overhead(results: list[Measurement]) -> list[str]:
    """What Dapr adds per hop at each rate both modes measured: (dapr - inprocess) / hops. The
    difference also holds the services' state calls through the sidecar on the turn's path."""
    inprocess = {r.offered_rps: r for r in results if r.mode == Mode.INPROCESS and r.offered_rps}
    rows = []
    for r in results:
        base = inprocess.get(r.offered_rps) if r.mode == Mode.DAPR else None
        if base is None or r.errors or base.errors:
            continue
        rows.append(
            f"dapr overhead at {r.offered_rps:g}/s: p50 +{(r.p50_ms - base.p50_ms) / HOPS:.1f} ms per hop "
            f"(x{r.p50_ms / base.p50_ms:.1f} end to end), "
            f"p99 +{(r.p99_ms - base.p99_ms) / HOPS:.1f} ms per hop (x{r.p99_ms / base.p99_ms:.1f})"
        )
    return ["", *rows] if rows else []


def table(results: list[Measurement]) -> str:
    rows = ["mode        offered  achieved   p50 ms   p95 ms   p99 ms   max ms  errors  lost"]
    for r in results:
        offered = "search" if r.offered_rps is None else f"{r.offered_rps:g}"
        rows.append(
            f"{r.mode:<11} {offered:>7} {r.achieved_rps:>9.1f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} "
            f"{r.p99_ms:>8.1f} {r.max_ms:>8.1f} {r.errors:>7} {r.lost:>5}"
        )
    rows.extend(overhead(results))
    rows.append("")
    rows.append("CPU ms per chat (by process) and RSS MB, per measurement")
    for r in results:
        offered = "search" if r.offered_rps is None else f"{r.offered_rps:g}"
        cpu = ", ".join(f"{name} {ms:g}" for name, ms in r.cpu_ms_per_chat.items())
        total = sum(ms for name, ms in r.cpu_ms_per_chat.items() if name != "load-generator")
        rows.append(f"{r.mode} {offered}: total {total:.1f} (without the load generator): {cpu}")
        rows.append("    rss: " + ", ".join(f"{name} {mb:g}" for name, mb in r.rss_mb.items()))
    return "\n".join(rows)


async def main_async(
    modes: list[Mode],
    rates: list[float],
    duration: float,
    search_rates: tuple[float, float] | None,
    state: Path,
) -> int:
    """Each mode in turn: the open-loop rates, then (with `search_rates`, low and high) the search."""
    texts = questions()
    random.Random(7).shuffle(texts)
    results: list[Measurement] = []
    out = sys.stdout
    logs = ROOT / ".run" / "logs" / "bench-inprocess.log"
    for mode in modes:
        with contextlib.ExitStack() as scope:
            target: Any
            if mode is Mode.DAPR:
                target = StackTarget(state)
            else:
                # The in-process services log to stdout like the real ones; keep stdout for results.
                logs.parent.mkdir(parents=True, exist_ok=True)
                scope.enter_context(contextlib.redirect_stdout(scope.enter_context(logs.open("w"))))
                target = InProcessTarget()
                await target.start()
            try:
                await measure(target, mode, 10, 10, texts)  # warm-up: models loaded, connections open
                for rate in rates:
                    result = await measure(target, mode, rate, duration, texts)
                    print(json.dumps(asdict(result)), file=out, flush=True)
                    results.append(result)
                    await asyncio.sleep(2.0)
                if search_rates is not None:
                    low, high = search_rates
                    result = await search(target, mode, duration, texts, low, high)
                    print(json.dumps(asdict(result)), file=out, flush=True)
                    results.append(result)
            finally:
                await target.close()
    print(table(results), file=out)
    return 0


STACK_STATE = ROOT / ".run" / "stack.json"


def main(
    modes: Annotated[str, typer.Option(help="Comma-separated: dapr, inprocess.")] = "dapr,inprocess",
    rates: Annotated[str, typer.Option(help="Open-loop rates, chats per second.")] = "10,20,30,50",
    duration: Annotated[float, typer.Option(help="Seconds per measurement.")] = 20.0,
    search: Annotated[bool, typer.Option(help="Search for the highest rate within budget.")] = True,
    search_low: float = 20.0,
    search_high: float = 600.0,
    state: Annotated[Path, typer.Option(help="The running stack's description.")] = STACK_STATE,
) -> None:
    """Load benchmark of the whole helpdesk (`make bench`, after `make run`)."""
    try:
        chosen = [Mode(m) for m in modes.split(",") if m]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--modes") from None
    offered = [float(r) for r in rates.split(",") if r]
    searched = (search_low, search_high) if search else None
    raise SystemExit(asyncio.run(main_async(chosen, offered, duration, searched, state)))


if __name__ == "__main__":
    typer.run(main)
